"""A burst of requests to the development server (make demo) leaves no database connections behind.

The development server answers each request in a thread of its own; with persistent connections each
thread kept its connection open, a burst left dozens idle and PostgreSQL then refused everyone.
"""

import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import connection

from tests.child_process import portal_environment

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[1]
BURST = 40


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def connections_to_this_database() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_a_burst_of_requests_to_the_development_server_leaves_no_connection_open():
    port = free_port()
    # CONN_MAX_AGE as production sets it: the development server must not take it up.
    env = portal_environment(CONN_MAX_AGE="60", DEBUG="1")
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload", "--skip-checks"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                get(f"{base}/health/")
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("the development server did not start")
                time.sleep(0.2)
        with ThreadPoolExecutor(max_workers=BURST) as pool:
            statuses = list(pool.map(get, [f"{base}/accounts/login/"] * BURST + [f"{base}/health/"] * BURST))
        assert set(statuses) == {200}, statuses
        deadline = time.monotonic() + 10
        while (left := connections_to_this_database()) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert left == 0, f"{left} connections were left open by the development server"
    finally:
        server.terminate()
        server.wait(timeout=30)
