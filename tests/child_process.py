"""The portal run as a child process (a Celery worker, manage.py) against the test's own database."""

import os
from urllib.parse import quote, urlencode

from django.db import connection


def database_url(settings_dict: dict) -> str:
    """A DATABASE_URL that django-environ reads back into `settings_dict`'s database.

    The embedded PostgreSQL listens on a Unix socket whose directory is HOST; django-environ
    takes such a directory from the URL's path (``postgres://user@:port//socket/dir/name``).
    """
    user = quote(settings_dict.get("USER") or "", safe="")
    if settings_dict.get("PASSWORD"):
        user += ":" + quote(settings_dict["PASSWORD"], safe="")
    host, port, name = settings_dict.get("HOST") or "", settings_dict.get("PORT") or "", settings_dict["NAME"]
    if host.startswith("/"):
        url = f"postgres://{user}@:{port}/{host}/{quote(name)}"
    else:
        url = f"postgres://{user}@{host}:{port}/{quote(name)}"
    options = {k: v for k, v in (settings_dict.get("OPTIONS") or {}).items() if isinstance(v, str | int)}
    return f"{url}?{urlencode(options)}" if options else url


def portal_environment(**overrides: str) -> dict[str, str]:
    """This process's environment, pointed at the test database (the one the test is using now)."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings"}
    env["DATABASE_URL"] = database_url(connection.settings_dict)
    env.update(overrides)
    return env
