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
