"""Django set-up shared by the benchmarks (they are scripts, not tests)."""

import os
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def django_setup():
    """Django as production runs it: DEBUG off (no query log), the process settled as the web and Celery
    workers settle theirs (portal.process)."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    import django

    django.setup()
    from portal.process import settle

    settle()


def use_own_database(suffix: str) -> str:
    """Switch Django's connection to a benchmark's own database, ``<database>_<suffix>`` on the same server
    (made and migrated as a test database is, kept between runs); return its name."""
    from django.db import connection

    name = f"{connection.settings_dict['NAME']}_{suffix}"
    connection.settings_dict.setdefault("TEST", {})["NAME"] = name
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=True, serialize=False)
    return name


def check_ledger() -> str:
    """``check_ledger``'s verdict on the benchmark's set-up; stops the benchmark when an invariant fails."""
    from io import StringIO

    from django.core.management import CommandError, call_command

    out, err = StringIO(), StringIO()
    try:
        call_command("check_ledger", stdout=out, stderr=err)
    except CommandError as error:
        raise SystemExit(f"check_ledger: FAILED after the set-up: {error}\n{err.getvalue()[:2000]}") from error
    return out.getvalue().strip()


def bench_partners(count: int, prefix: str = "bench-P") -> list:
    """Partners that belong to the benchmarks only, made once and reused."""
    from accounts.models import Partner

    existing = Partner.objects.filter(external_id__startswith=f"{prefix}-").order_by("external_id")
    if existing.count() < count:
        Partner.objects.bulk_create(
            [
                Partner(
                    name=f"Benchmark partner {n}",
                    external_id=f"{prefix}-{n:05d}",
                    registration_number=f"{prefix}-{n:05d}",
                    kind=Partner.Kind.RESELLER,
                    region="Bench",
                    status=Partner.Status.ACTIVE,
                )
                for n in range(count)
            ],
            ignore_conflicts=True,
        )
    return list(existing[:count])


def copy_rate(rows: list[tuple], columns: list[str], like: str = "ledger_transfer") -> float:
    """Rows per second that PostgreSQL's COPY takes into a table shaped like `like`, in one transaction."""
    import time

    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE bench_copy (LIKE {like} INCLUDING ALL)")
        started = time.perf_counter()
        with cursor.cursor.copy(f"COPY bench_copy ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_copy")
    return len(rows) / elapsed


def database_url(settings_dict: dict) -> str:
    """A DATABASE_URL for the workers that names the benchmark's database (on a socket, as the embedded one)."""
    from urllib.parse import quote

    user = quote(settings_dict.get("USER") or "", safe="")
    if settings_dict.get("PASSWORD"):
        user += ":" + quote(settings_dict["PASSWORD"], safe="")
    host, port, name = settings_dict.get("HOST") or "", settings_dict.get("PORT") or "", settings_dict["NAME"]
    if host.startswith("/"):
        return f"postgres://{user}@:{port}/{host}/{quote(name)}"
    return f"postgres://{user}@{host}:{port}/{quote(name)}"
