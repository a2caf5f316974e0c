"""Measure the ledger against PostgreSQL's own COPY.

    .venv/bin/python bench/ledger.py [--n 100000] [--batch 1000] [--workers 8] [--seconds 20]

Three figures, each in transfers per second, on the database in settings
(the dev database, or DATABASE_URL):

1. batched: N order-point transfers through ``post_transfers``, `--batch` at a
   time, spread over the benchmark's partners;
2. one at a time: `--workers` processes each posting single transfers
   (``post_transfers([one])``, three earnings to one redemption) over 100 hot
   partner accounts, until min(N, 20,000) are posted or `--seconds` pass;
3. COPY: the same number of rows as (1), shaped like ledger_transfer, into a
   plain table with its columns and defaults (no indexes, no constraints, no
   triggers), with psycopg 3's ``cursor.copy()``: the ceiling for bulk writes.

Each rate is printed with its ratio to COPY (target for batched posting: at
least 0.25). The data is the benchmark's own: partners whose ERP id starts with
``bench-ledger-`` and transfer keys that start with ``bench-<run>-``, so the
demo's partners are never touched. It ends with check_ledger's verdict on the
whole ledger.
"""

import argparse
import json
import multiprocessing
import os
import time
import uuid
from datetime import UTC, datetime
from io import StringIO

from _setup import django_setup

PARTNER_PREFIX = "bench-ledger-"
HOT_ACCOUNTS = 100
CONCURRENT_CAP = 20_000


def bench_partner_ids(count: int) -> list[int]:
    """The benchmark's own partners, made on the first run and reused after."""
    from accounts.models import Partner

    Partner.objects.bulk_create(
        [
            Partner(
                name=f"Benchmark partner {n}",
                external_id=f"{PARTNER_PREFIX}{n:05d}",
                registration_number=f"{PARTNER_PREFIX}{n:05d}",
                kind=Partner.Kind.RESELLER,
                region="Benchmark",
                status=Partner.Status.SUSPENDED,
            )
            for n in range(count)
        ],
        ignore_conflicts=True,
    )
    found = Partner.objects.filter(external_id__startswith=PARTNER_PREFIX).order_by("external_id")
    return list(found.values_list("id", flat=True)[:count])


def order_points(partner_id: int, key: str, n: int):
    from portal.ledger import services
    from portal.ledger.models import Code

    return services.earning(
        partner_id,
        key=key,
        amount=10 + n % 490,
        code=Code.ORDER,
        reason=f"Benchmark order {n}",
        details={"line": n % 7, "rule": "base"},
        actor_label="bench",
        ref_type="bench_order",
        ref_id=str(n),
    )


def post_batched(requests, batch: int) -> float:
    from portal.ledger.services import post_transfers

    started = time.perf_counter()
    for first in range(0, len(requests), batch):
        results = post_transfers(requests[first : first + batch])
        failed = [r for r in results if r.status != "created"]
        if failed:
            raise SystemExit(f"batched posting refused {len(failed)} transfers, first: {failed[0]}")
    return len(requests) / (time.perf_counter() - started)


def copy_rate(count: int, run: str, *, like: str) -> float:
    """Rows per second COPY takes into a plain (logged) table made `LIKE ledger_transfer <like>`, commit included."""
    from django.db import connection

    from portal.ledger.models import Account, AccountKind

    debit = Account.objects.filter(kind=AccountKind.ISSUED).values_list("id", flat=True)[0]
    credit = Account.objects.filter(partner__external_id__startswith=PARTNER_PREFIX).values_list("id", flat=True)[0]
    now = datetime.now(UTC)
    rows = [
        (n, f"copy-{run}-{n}", debit, credit, 10 + n % 490, "posted", "order", f"Benchmark order {n}",
         json.dumps({"line": n % 7, "rule": "base"}), "bench", "bench_order", str(n), now)
        for n in range(1, count + 1)
    ]  # fmt: skip
    columns = "id, key, debit_account_id, credit_account_id, amount, phase, code, reason, details, actor_label, ref_type, ref_id, effective_at"  # noqa: E501
    table = f"bench_copy_{run}"
    connection.ensure_connection()
    raw = connection.connection  # psycopg 3, autocommit as Django leaves it
    with raw.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {table} (LIKE ledger_transfer {like})")
    try:
        started = time.perf_counter()
        with raw.transaction(), raw.cursor() as cursor:
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return count / (time.perf_counter() - started)
    finally:
        with raw.cursor() as cursor:
            cursor.execute(f"DROP TABLE {table}")


def worker(index: int, run: str, hot: list[int], quota: int, seconds: float, start, queue) -> None:
    """Post single transfers until this worker's quota is done or the time box closes."""
    django_setup()
    from django.db import connection

    from portal.ledger import services
    from portal.ledger.models import Code

    connection.ensure_connection()
    start.wait()
    started = time.perf_counter()
    deadline = started + seconds
    created = refused = 0
    n = 0
    while n < quota and time.perf_counter() < deadline:
        partner_id = hot[(index * 7919 + n * 31) % len(hot)]
        key = f"bench-{run}-w{index}-{n}"
        if n % 4 == 3:
            request = services.spending(partner_id, key=key, amount=5, code=Code.REDEMPTION, reason="Benchmark")
        else:
            request = order_points(partner_id, key, n)
        (result,) = services.post_transfers([request])
        created += result.status == "created"
        refused += result.status == "failed"
        n += 1
    queue.put((created, refused, time.perf_counter() - started))
    connection.close()


def post_concurrently(run: str, hot: list[int], total: int, workers: int, seconds: float):
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(workers + 1)
    queue = context.Queue()
    quota = -(-total // workers)
    processes = [
        context.Process(target=worker, args=(i, run, hot, quota, seconds, start, queue)) for i in range(workers)
    ]
    for process in processes:
        process.start()
    start.wait()
    started = time.perf_counter()
    outcomes = [queue.get() for _ in processes]
    elapsed = time.perf_counter() - started
    for process in processes:
        process.join()
    created = sum(o[0] for o in outcomes)
    refused = sum(o[1] for o in outcomes)
    return created, refused, elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="transfers to post in batches (and to COPY)")
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0, help="time box for the one-at-a-time phase")
    parser.add_argument("--partners", type=int, default=1_000)
    args = parser.parse_args()

    django_setup()
    from django.core.management import CommandError, call_command
    from django.db import connection

    partner_ids = bench_partner_ids(max(args.partners, HOT_ACCOUNTS))
    run = uuid.uuid4().hex[:8]
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        server = cursor.fetchone()[0].split(" on ")[0]
    print(f"run {run}: {server}, {os.cpu_count()} CPUs, {len(partner_ids)} benchmark partners")

    requests = [order_points(partner_ids[n % len(partner_ids)], f"bench-{run}-b-{n}", n) for n in range(args.n)]
    batched = post_batched(requests, args.batch)
    print(f"batched:        {args.n:,} transfers in batches of {args.batch:,}: {batched:,.0f} transfers/s")

    target = min(args.n, CONCURRENT_CAP)
    created, refused, elapsed = post_concurrently(run, partner_ids[:HOT_ACCOUNTS], target, args.workers, args.seconds)
    concurrent = created / elapsed
    boxed = "time box closed first" if created + refused < target else "all posted within the time box"
    print(
        f"one at a time:  {args.workers} processes over {HOT_ACCOUNTS} hot accounts, up to {target:,} transfers"
        f" or {args.seconds:.0f} s ({boxed}): {created:,} created, {refused:,} refused in {elapsed:.1f} s:"
        f" {concurrent:,.0f} transfers/s"
    )

    copied = copy_rate(args.n, run, like="INCLUDING DEFAULTS")
    print(f"COPY:           {args.n:,} rows into a plain table with ledger_transfer's columns: {copied:,.0f} rows/s")
    indexed = copy_rate(args.n, run, like="INCLUDING ALL")
    print(
        f"COPY, indexed:  the same into a table that also has ledger_transfer's indexes and checks"
        f" (not its foreign keys or trigger): {indexed:,.0f} rows/s"
    )
    print(f"batched / COPY:        {batched / copied:.3f} (target >= 0.25); to indexed COPY: {batched / indexed:.3f}")
    print(f"one at a time / COPY:  {concurrent / copied:.4f}; to indexed COPY: {concurrent / indexed:.4f}")

    out, err = StringIO(), StringIO()
    try:
        call_command("check_ledger", stdout=out, stderr=err)
    except CommandError as error:
        print(f"check_ledger: FAILED: {error}\n{err.getvalue()}")
        raise SystemExit(1) from error
    print(f"check_ledger: {out.getvalue().strip()}")


if __name__ == "__main__":
    main()
