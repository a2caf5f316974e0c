"""Production settings pass Django's deployment checklist, with warnings counted as failures."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# What production sets; the services are never contacted by the checks, so they need not exist.
PRODUCTION = {
    "DEBUG": "0",
    "ALLOWED_HOSTS": "portal.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://portal.example.com",
    "DATABASE_URL": "postgres://portal@db.invalid:5432/portal",
    "REDIS_URL": "redis://redis.invalid:6379/0",
    "EMAIL_URL": "smtp+tls://portal@mail.invalid:587",
}
# Knobs a developer may have loosened in their shell; production leaves them to the settings.
LOOSENED = ["SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_HSTS_SECONDS"]


def manage(*args, **env):
    environment = {k: v for k, v in os.environ.items() if k not in LOOSENED and k != "SECRET_KEY"}
    environment |= {"DJANGO_SETTINGS_MODULE": "portal.settings", **env}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


def test_production_settings_pass_check_deploy_without_a_warning():
    run = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION, SECRET_KEY=secrets.token_urlsafe(64))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "no issues" in run.stdout


@pytest.mark.parametrize("secret_key", ["", "too-short-to-sign-anything"])
def test_a_missing_or_weak_secret_key_stops_production_from_starting(secret_key):
    # Set, even when empty, so that no .env file fills it in.
    run = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION, SECRET_KEY=secret_key)
    assert run.returncode != 0
    assert "SECRET_KEY must be set to at least 50 random characters" in run.stdout + run.stderr
