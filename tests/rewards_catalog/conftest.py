import pytest

from portal.celery import app as celery_app


@pytest.fixture(autouse=True)
def notices_sent_in_process(monkeypatch):
    """The notices' task runs in the test's own process (also in CI, where Celery otherwise queues to Redis)."""
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
