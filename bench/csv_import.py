"""Time the CMS's CSV import of a large orders file: reading it, its dry run, its import.

    .venv/bin/python bench/csv_import.py [--rows 100000] [--lines 3] [--partners 1000]

Writes an orders CSV of `--rows` line rows (`--lines` rows per order) for the benchmark's own
partners (ERP ids ``bench-P-…``), stores it through the storage API as an upload would, then runs
the two steps the Celery tasks run: ``check_import`` (the dry run, every batch rolled back) and
``run_import`` (every batch committed with the job's progress). Prints the seconds and rows per
second of each, and the process's peak memory. Then uploads the same file again and times the
dry run that finds every row a duplicate.
"""

import argparse
import io
import json
import resource
import time
import uuid
from datetime import UTC, datetime, timedelta

from _setup import bench_partners, django_setup


def orders_csv(rows: int, lines: int, partners: list, run: str) -> bytes:
    out = io.StringIO()
    out.write("order_id,partner_id,placed_at,currency,line_no,sku,category,quantity,net_amount\n")
    placed = datetime.now(UTC) - timedelta(days=1)
    categories = ["Networking", "Storage", "Servers", "Licences"]
    for row in range(rows):
        n, line_no = divmod(row, lines)
        amount = f"{50 + (n * 37 + line_no * 11) % 2000}.{n % 100:02d}"
        out.write(
            f"bench-{run}-{n},{partners[n % len(partners)].external_id},"
            f"{(placed + timedelta(seconds=n)).isoformat()},USD,{line_no + 1},SKU-{(n + line_no) % 500},"
            f"{categories[(n + line_no) % 4]},{1 + (n + line_no) % 7},{amount}\n"
        )
    return out.getvalue().encode()


def timed(step):
    started = time.perf_counter()
    result = step()
    return result, time.perf_counter() - started


def imported(job, user):
    """Confirm the import and wait for it: run in-process (no REDIS_URL), or by a worker."""
    from portal.earning import csv_import
    from portal.earning.models import ImportJob

    csv_import.confirm_import(job, acting_user=user)
    while (job := ImportJob.objects.get(pk=job.pk)).status == ImportJob.Status.IMPORTING:
        time.sleep(0.2)
    return job


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--lines", type=int, default=3)
    parser.add_argument("--partners", type=int, default=1_000)
    args = parser.parse_args()

    django_setup()
    from django.core.files.uploadedfile import SimpleUploadedFile

    from accounts.models import User
    from portal.earning import csv_import
    from portal.earning.models import ImportJob

    user, _ = User.objects.get_or_create(email="bench-csv@bench.example", defaults={"is_superuser": True})
    partners = bench_partners(args.partners)
    run = uuid.uuid4().hex[:8]
    content = orders_csv(args.rows, args.lines, partners, run)

    def upload(name):
        job = ImportJob(kind="orders", file_name=name, file_sha256="bench", uploaded_by=user)
        job.file.save(name, SimpleUploadedFile(name, content), save=False)
        job.save()
        return job

    job = upload(f"bench-{run}.csv")
    (rows_total, _batches), read_s = timed(lambda: csv_import._read(job))
    job, check_s = timed(lambda: csv_import.check_import(job))
    assert job.status == ImportJob.Status.CHECKED, (job.status, job.message, job.errors[:3])
    job, import_s = timed(lambda: imported(job, user))
    assert job.status == ImportJob.Status.DONE and job.rows_created == args.rows, (job.status, job.message)

    again = upload(f"bench-{run}-again.csv")
    again, again_s = timed(lambda: csv_import.check_import(again))
    assert again.rows_duplicate == args.rows, again.rows_duplicate

    for each in (job, again):
        each.file.delete(save=False)
        each.delete()
    print(
        json.dumps(
            {
                "rows": rows_total,
                "orders": -(-args.rows // args.lines),
                "file_mb": round(len(content) / 1e6, 1),
                "read_s": round(read_s, 2),
                "dry_run_s": round(check_s, 1),
                "dry_run_rows_per_s": round(args.rows / check_s),
                "import_s": round(import_s, 1),
                "import_rows_per_s": round(args.rows / import_s),
                "dry_run_all_duplicates_s": round(again_s, 1),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
