"""Measure the periodic runs (the monthly tier review and the expiry run) at 20,000 and at 100,000 partners.

    .venv/bin/python bench/periodic.py [--sizes 20000 100000] [--small] [--transfers 50] [--batch 1000] [--celery]

For each size the benchmark builds, in a database of its own (``<database>_periodic_bench`` on the same
server, made and migrated on the first run, emptied before each size), that many active partners with about
`--transfers` ledger entries each over the last 30 months: orders and early-payment points (some partners
earn ten times what others do, so tiers differ), redemptions and clawbacks in between (so some partners have
spent their oldest points and others have not), a standing for each at the tier of last month's review (a
third above the base tier, some of them below it already, a few with a grant), and the four programme tiers.
The set-up is bulk SQL straight into the ledger's tables, with the accounts' running totals summed from the
transfers; ``check_ledger`` must pass on it. None of it is measured.

Then it runs, over all partners in batches of `--batch` (as ``portal.tiers.tasks.daily_run`` fans them out),
the monthly tier review (``review_tiers(monthly=True)``) and then the expiry run (``run_expiry``), calling the
services directly, one batch after the other in this process, and prints partners per second for each run and
size, the ratio of the rate at the largest size to the rate at the smallest (target: at least 0.8, i.e. cost
linear in partners) and the statements per batch: those Django's cursors run, as
``CaptureQueriesContext`` counts them on the first batch, and every statement sent to PostgreSQL (also
through the batch cursors of ``portal.bulk``, which bypass Django's query log), for every batch (the same
whatever the batch holds). With `--celery` each size is built again and the same work goes through the
Celery fan-out (``daily_run`` with eager tasks). The notices the runs queue are not delivered meanwhile:
delivery is the outbox's own task.
"""

import argparse
import os
import time
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

from _setup import check_ledger, django_setup, use_own_database

HISTORY_DAYS = 915  # about 30 months
TIERS = [  # name, threshold, multiplier
    ("Member", 0, "1.00"),
    ("Silver", 3_000, "1.10"),
    ("Gold", 8_000, "1.25"),
    ("Platinum", 20_000, "1.50"),
]


def build(partners: int, transfers: int) -> None:
    """Empty the benchmark's database and build `partners` partners with about `transfers` entries each."""
    from django.db import connection, transaction

    from portal.tiers.models import Tier, TierSettings

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE ledger_transfer, ledger_account, tiers_tierchange, tiers_tiergrant, tiers_partnertier,"
            " notices_notice, accounts_partner RESTART IDENTITY CASCADE"
        )
        for name, threshold, multiplier in TIERS:
            Tier.objects.update_or_create(
                name=name, defaults={"threshold": threshold, "multiplier": Decimal(multiplier), "colour": "#888888"}
            )
        TierSettings.load().save()  # the defaults: expiry after 24 months, a grace of 2 reviews
        # The trigger that enforces the foreign keys is left out while the rows go in: they are made consistent.
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            "INSERT INTO accounts_partner (name, external_id, registration_number, kind, region, language, status,"
            " created_at) SELECT 'Benchmark partner ' || n, 'bench-periodic-' || n, 'bench-periodic-' || n,"
            " 'reseller', 'Bench', 'en', 'active', now() FROM generate_series(1, %s) AS n",
            [partners],
        )
        cursor.execute(
            "INSERT INTO ledger_account (kind, shard, partner_id, debits_posted, credits_posted, debits_pending,"
            " credits_pending) SELECT k, s, NULL, 0, 0, 0, 0"
            " FROM unnest(ARRAY['issued', 'redeemed', 'expired', 'adjustments']) AS k, generate_series(0, 15) AS s"
            " UNION ALL SELECT 'partner', 0, id, 0, 0, 0, 0 FROM accounts_partner"
        )
        cursor.execute(_TRANSFERS_SQL, {"days": HISTORY_DAYS, "per": transfers})
        cursor.execute(_TOTALS_SQL)
        cursor.execute(_STANDINGS_SQL)
        cursor.execute(_GRANTS_SQL)
    with connection.cursor() as cursor:
        for table in ("accounts_partner", "ledger_account", "ledger_transfer", "tiers_partnertier", "tiers_tiergrant"):
            cursor.execute(f"VACUUM ANALYZE {table}")  # as autovacuum would have left a table that old


# Each partner: an activity (how much it earns, 0.2 to 4.2) and a thrift (what share of it it spends); its
# entries spread evenly over the history: mostly orders, early-payment points, a redemption every ninth, a
# clawback every seventeenth.
_TRANSFERS_SQL = """
WITH partners AS (
    SELECT a.id AS account_id, a.partner_id, 0.2 + 4 * random() ^ 2 AS activity, random() AS thrift
    FROM ledger_account a WHERE a.kind = 'partner'
), programme AS (
    SELECT kind, shard, id FROM ledger_account WHERE kind <> 'partner'
), slots AS (
    SELECT p.*, k,
           CASE WHEN k %% 9 = 8 THEN 'redemption' WHEN k %% 17 = 5 THEN 'clawback'
                WHEN k %% 9 = 4 THEN 'early_payment' ELSE 'order' END AS code,
           now() - make_interval(days => %(days)s)
               + make_interval(secs => (k + random()) * %(days)s * 86400.0 / %(per)s) AS at
    FROM partners p, generate_series(0, %(per)s - 1) AS k
)
INSERT INTO ledger_transfer (key, debit_account_id, credit_account_id, amount, phase, code, reason, details,
                             actor_label, ref_type, ref_id, effective_at)
SELECT 'bench-periodic:' || s.partner_id || ':' || s.k,
       CASE WHEN s.code IN ('order', 'early_payment') THEN issued.id ELSE s.account_id END,
       CASE WHEN s.code IN ('order', 'early_payment') THEN s.account_id
            WHEN s.code = 'redemption' THEN redeemed.id ELSE issued.id END,
       greatest(1, round(s.activity * CASE s.code
           WHEN 'order' THEN 50 + 450 * random()
           WHEN 'early_payment' THEN 10 + 60 * random()
           WHEN 'redemption' THEN 1965 * 0.4 * s.thrift
           ELSE 20 + 200 * random() END))::bigint,
       'posted', s.code, 'Benchmark ' || s.code, '{}'::jsonb, 'bench', '', '', s.at
FROM slots s
JOIN programme issued ON issued.kind = 'issued' AND issued.shard = s.partner_id %% 16
JOIN programme redeemed ON redeemed.kind = 'redeemed' AND redeemed.shard = s.partner_id %% 16
ORDER BY s.at  -- in the order they happened: a partner's entries lie on many pages, as in a real ledger
"""

_TOTALS_SQL = """
UPDATE ledger_account a SET debits_posted = m.debits, credits_posted = m.credits
FROM (
    SELECT id, sum(debit)::bigint AS debits, sum(credit)::bigint AS credits FROM (
        SELECT debit_account_id AS id, amount AS debit, 0 AS credit FROM ledger_transfer
        UNION ALL SELECT credit_account_id, 0, amount FROM ledger_transfer
    ) moved GROUP BY id
) m
WHERE a.id = m.id
"""

# Last month's review left each partner at a tier: a third above the base, some of them below it already.
_STANDINGS_SQL = """
WITH tiers AS (SELECT id, row_number() OVER (ORDER BY threshold) AS n FROM tiers_tier),
drawn AS (SELECT id AS partner_id, CASE WHEN random() < 0.33 THEN 2 + floor(random() * 3) ELSE 1 END AS n,
                 floor(random() * 3)::int AS below
          FROM accounts_partner)
INSERT INTO tiers_partnertier (partner_id, tier_id, earned_tier_id, qualifying_points, reviews_below, since,
                               reviewed_on)
SELECT d.partner_id, t.id, t.id, 0, CASE WHEN d.n > 1 THEN d.below ELSE 0 END,
       current_date - 400, date_trunc('month', current_date)::date - 1
FROM drawn d JOIN tiers t ON t.n = d.n
"""

# One partner in a hundred holds a status match to Gold, running now.
_GRANTS_SQL = """
INSERT INTO tiers_tiergrant (partner_id, tier_id, starts_on, ends_on, reason, created_at)
SELECT p.id, (SELECT id FROM tiers_tier WHERE name = 'Gold'), current_date - 30, current_date + 60,
       'Benchmark status match', now()
FROM accounts_partner p WHERE p.id % 100 = 7
"""


@contextmanager
def statements_sent(counter: list[int]):
    """Count every statement sent to PostgreSQL, through Django's cursors and the batch cursors alike."""
    import psycopg

    execute = psycopg.Cursor.execute

    def counted(self, *args, **kwargs):
        counter[0] += 1
        return execute(self, *args, **kwargs)

    psycopg.Cursor.execute = counted
    try:
        yield counter
    finally:
        psycopg.Cursor.execute = execute


@contextmanager
def delivery_held_back():
    """The outbox's "a delivery run is queued" flag, held: the runs' notices wait for the outbox's own task."""
    from django.core.cache import cache

    from portal.notices.tasks import QUEUED

    cache.set(QUEUED, True, timeout=None)
    try:
        yield
    finally:
        cache.delete(QUEUED)


def run_batches(name: str, service, batches: list[list[int]]) -> dict:
    """Call `service` on each batch; the rate, and the statements the batches cost."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    per_batch = []
    with delivery_held_back():
        started = time.perf_counter()
        for n, ids in enumerate(batches):
            counter = [0]
            with statements_sent(counter):
                if n == 0:
                    with CaptureQueriesContext(connection) as captured:
                        service(ids)
                    django_queries = len(captured.captured_queries)
                else:
                    service(ids)
            per_batch.append(counter[0])
        elapsed = time.perf_counter() - started
    partners = sum(len(b) for b in batches)
    return {
        "name": name,
        "partners": partners,
        "seconds": elapsed,
        "rate": partners / elapsed,
        "django_queries": django_queries,
        "statements": (min(per_batch), max(per_batch)),
    }


def run_through_celery(today) -> float:
    """The daily run as beat starts it, its batch tasks run eagerly in this process; seconds it took."""
    from portal.celery import app
    from portal.tiers.tasks import daily_run

    app.conf.task_always_eager = True
    with delivery_held_back():
        started = time.perf_counter()
        daily_run.delay(today.isoformat())
        return time.perf_counter() - started


def measure(size: int, args, today) -> tuple[dict, dict]:
    from django.db.models import Count, Sum

    from portal.ledger.models import Code, Transfer
    from portal.tiers import services
    from portal.tiers.models import PartnerTier, TierChange
    from portal.tiers.tasks import batches_of_partners

    started = time.perf_counter()
    build(size, args.transfers)
    transfers = Transfer.objects.count()
    verdict = check_ledger()
    print(f"{size:,} partners: set up {transfers:,} transfers in {time.perf_counter() - started:.0f} s; {verdict}")

    batches = batches_of_partners(args.batch)
    review = run_batches(
        "tier review", lambda ids: services.review_tiers(ids, today=today, monthly=True), batches
    )  # fmt: skip
    expiry = run_batches("expiry run", lambda ids: services.run_expiry(ids, today=today), batches)
    tiers = dict(PartnerTier.objects.values_list("tier__name").annotate(n=Count("id")).order_by("tier__threshold"))
    moved = TierChange.objects.filter(changed_on=today).count()
    expired = Transfer.objects.filter(code=Code.EXPIRY).aggregate(n=Count("id"), points=Sum("amount"))
    for result in (review, expiry):
        low, high = result["statements"]
        print(
            f"  {result['name']:<12} {result['partners']:,} partners in {len(batches)} batches of {args.batch:,}:"
            f" {result['seconds']:.1f} s, {result['rate']:,.0f} partners/s; statements per batch:"
            f" {result['django_queries']} through Django's cursors (CaptureQueriesContext on the first batch,"
            f" BEGIN and COMMIT included), {low}"
            + (f" to {high}" if high != low else "")
            + " sent in all (every batch, the batch cursors' included, BEGIN and COMMIT not)"
        )
    print(
        f"  afterwards: tiers {', '.join(f'{k} {v:,}' for k, v in tiers.items())}; {moved:,} tier changes;"
        f" {expired['n']:,} expiry transfers, {expired['points'] or 0:,} points expired; {verdict}"
    )
    if args.celery:
        build(size, args.transfers)
        seconds = run_through_celery(today)
        print(
            f"  through Celery (daily_run, eager tasks; review and expiry of each batch): {seconds:.1f} s,"
            f" {size / seconds:,.0f} partners/s for both runs together"
        )
    return review, expiry


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000], help="partners, in order")
    parser.add_argument("--small", action="store_true", help="a quick run: 2,000 and 10,000 partners")
    parser.add_argument("--transfers", type=int, default=50, help="ledger entries per partner")
    parser.add_argument("--batch", type=int, default=1_000, help="partners per batch (as the daily run's tasks)")
    parser.add_argument("--celery", action="store_true", help="also through the Celery fan-out, eager tasks")
    args = parser.parse_args()
    sizes = [2_000, 10_000] if args.small else args.sizes

    django_setup()
    from django.db import connection

    from portal.tiers.queries import programme_today

    database = use_own_database("periodic_bench")
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        server = cursor.fetchone()[0].split(" on ")[0]
    today = programme_today()
    print(f"{server}, {os.cpu_count()} CPUs, database {database}; today {today}, history from"
          f" {today - timedelta(days=HISTORY_DAYS)}, about {args.transfers} transfers a partner")  # fmt: skip

    results = {size: measure(size, args, today) for size in sizes}
    first, last = sizes[0], sizes[-1]
    if first != last:
        for n, name in enumerate(("tier review", "expiry run")):
            ratio = results[last][n]["rate"] / results[first][n]["rate"]
            print(
                f"{name}: rate at {last:,} / rate at {first:,} = {results[last][n]['rate']:,.0f} /"
                f" {results[first][n]['rate']:,.0f} = {ratio:.2f} (target >= 0.8)"
            )


if __name__ == "__main__":
    main()
