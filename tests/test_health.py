"""/health/ as a load balancer or an uptime monitor sees it."""

from unittest import mock

import pytest
from django.db import connections

pytestmark = pytest.mark.django_db

DATABASE = "Database(alias='default')"
CACHE = "Cache(alias='default')"
DEAD_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def test_healthy_when_the_database_and_cache_answer(client):
    response = client.get("/health/?format=json")
    assert response.status_code == 200
    report = response.json()
    assert report[DATABASE] == "OK" and report[CACHE] == "OK"
    assert set(report.values()) == {"OK"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.parametrize(
    ("path", "accept", "content_type"),
    [
        ("/health/?format=json", "*/*", "application/json"),
        ("/health/", "application/json", "application/json"),
        ("/health/?format=text", "*/*", "text/plain"),
        ("/health/", "text/plain", "text/plain"),
        ("/health/", "text/html", "text/html"),
    ],
)
def test_the_report_comes_in_the_format_asked_for(client, path, accept, content_type):
    response = client.get(path, headers={"Accept": accept})
    assert response.status_code == 200
    assert response["Content-Type"].startswith(content_type)
    if content_type == "text/plain":
        assert f"{DATABASE}: OK" in response.text
    assert "Accept" in response["Vary"]


def test_an_unreachable_database_gives_503_naming_it(client):
    # The check opens a connection of its own (in a worker thread), from these settings.
    with mock.patch.dict(connections.settings["default"], {"HOST": "127.0.0.1", "PORT": "1"}):
        response = client.get("/health/?format=json")
    assert response.status_code == 503
    report = response.json()
    assert report[DATABASE].startswith("Unavailable")
    assert report[CACHE] == "OK"


def test_an_unreachable_database_is_named_in_the_text_report_too(client):
    with mock.patch.dict(connections.settings["default"], {"HOST": "127.0.0.1", "PORT": "1"}):
        response = client.get("/health/", headers={"Accept": "text/plain"})
    assert response.status_code == 503
    assert f"{DATABASE}: Unavailable" in response.text


def test_an_unreachable_redis_gives_503_naming_it(client, settings):
    settings.REDIS_URL = DEAD_REDIS_URL
    response = client.get("/health/?format=json")
    assert response.status_code == 503
    report = response.json()
    (redis,) = [name for name in report if name.startswith("Redis(")]
    assert "port=1" in redis
    assert report[redis].startswith("Unavailable: Unable to connect to Redis")
    assert report[DATABASE] == "OK"
