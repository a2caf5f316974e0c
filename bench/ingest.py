"""Ingest N orders through the same service the ERP API uses, then COPY the same number of ledger rows.

    .venv/bin/python bench/ingest.py [--orders 100000] [--lines 3] [--batch 1000]

Prints orders per second and ledger entries per second for the service, the
rate PostgreSQL's COPY takes ledger-shaped rows at, and their ratio (target:
at least 0.25).
"""

import argparse
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

from _setup import bench_partners, copy_rate, django_setup


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--lines", type=int, default=3)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--partners", type=int, default=1_000)
    args = parser.parse_args()

    django_setup()
    from django.core.management import call_command

    from portal.earning import services
    from portal.ledger.models import Transfer

    partners = bench_partners(args.partners)
    run = uuid.uuid4().hex[:8]
    placed = datetime.now(UTC) - timedelta(days=1)
    categories = ["Networking", "Storage", "Servers", "Licences"]

    def order(n):
        return {
            "external_id": f"bench-{run}-{n}",
            "partner": partners[n % len(partners)].external_id,
            "placed_at": (placed + timedelta(seconds=n)).isoformat(),
            "currency": "USD",
            "lines": [
                {
                    "line_no": line_no,
                    "sku": f"SKU-{(n + line_no) % 500}",
                    "category": categories[(n + line_no) % len(categories)],
                    "quantity": 1 + (n + line_no) % 7,
                    "net_amount": f"{50 + (n * 37 + line_no * 11) % 2000}.{n % 100:02d}",
                }
                for line_no in range(1, args.lines + 1)
            ],
        }

    entries_before = Transfer.objects.count()
    started = time.perf_counter()
    created = 0
    for first in range(0, args.orders, args.batch):
        batch = [order(n) for n in range(first, min(first + args.batch, args.orders))]
        created += sum(r.status == "created" for r in services.record("orders", batch, source="bench"))
    elapsed = time.perf_counter() - started
    entries = Transfer.objects.count() - entries_before
    orders_per_s = created / elapsed
    entries_per_s = entries / elapsed

    columns = ["key", "debit_account_id", "credit_account_id", "amount", "phase", "code", "reason", "details",
               "actor_label", "ref_type", "ref_id", "effective_at"]  # fmt: skip
    sample = Transfer.objects.filter(key__startswith=f"order:bench-{run}-").first()
    rows = [
        (f"copy:{run}:{n}", sample.debit_account_id, sample.credit_account_id, 100 + n % 900, "pending", "order",
         f"Order bench-{n}", json.dumps({"breakdown": "100 base"}), "bench", "order", f"bench-{n}", placed)
        for n in range(entries)
    ]  # fmt: skip
    copy_per_s = copy_rate(rows, columns)

    print(f"orders ingested:        {created:,} ({args.lines} lines each) in {elapsed:.1f} s")
    print(f"orders per second:      {orders_per_s:,.0f}")
    print(f"ledger entries per s:   {entries_per_s:,.0f}")
    print(f"COPY ledger rows per s: {copy_per_s:,.0f}")
    print(f"ratio to COPY:          {entries_per_s / copy_per_s:.2f} (target >= 0.25)")
    call_command("check_ledger")


if __name__ == "__main__":
    main()
