"""Measure redemptions through the service the portal uses (rewards_catalog.services.redeem).

    .venv/bin/python bench/redeem.py [--clients 16] [--hot 20000] [--companies 1000] [--per-company 20]

Two phases, each with `--clients` processes (each calls django.setup() and has its own connection),
released together:

1. hot: every client redeems for the same company (one hot points account), as 16 of the company's
   purchasers would, until the company's points run out; from one stocked goods item (so the item's
   row is as hot as the account), or with --hot-items N from N items;
2. spread: the clients redeem for `--companies` companies, each client for its own share of them,
   from its own item, until every company's points run out.

Before each phase every company gets, through the ledger's ``earning()``, exactly the points its
redemptions may spend; the phase ends when each client meets "not enough points". Printed per phase:
redemptions per second, the overspend (what was held or spent beyond what the companies had: must be
0), negative balances, and check_ledger's verdict.

The redemptions' e-mails go through the outbox as in production (each commit makes sure a run over it
is queued; here onto an in-process broker that no worker reads), not rendered: sending them is a worker's
job, elsewhere. So that no later run sends them, the benchmark marks its own notices sent when it ends.
The data is the benchmark's own: partners whose ERP id starts with ``bench-redeem-``.
"""

import argparse
import multiprocessing
import os
import time

import _setup

PREFIX = "bench-redeem-"
COST_POINTS = 10
ADDRESS = "Benchmark street 1, Tel Aviv"


def django_setup():
    # Notices go to Celery as in production; no worker runs here, so they are queued, never rendered.
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"
    _setup.django_setup()


# --- Data -----------------------------------------------------------------------------------------------


def companies(count: int, *, members_each: int, tag: str) -> list[list[int]]:
    """`count` benchmark partners with `members_each` purchasers each; their membership ids, per company."""
    from accounts.models import Membership, Partner, User

    partners = [
        Partner(
            name=f"Benchmark {tag} {n}",
            external_id=f"{PREFIX}{tag}-{n:05d}",
            registration_number=f"{PREFIX}{tag}-{n:05d}",
            kind=Partner.Kind.RESELLER,
            region="Benchmark",
            status=Partner.Status.ACTIVE,
        )
        for n in range(count)
    ]
    Partner.objects.bulk_create(partners, ignore_conflicts=True)
    found = list(Partner.objects.filter(external_id__startswith=f"{PREFIX}{tag}-").order_by("external_id")[:count])
    emails = [f"{p.external_id}-{m}@bench.example" for p in found for m in range(members_each)]
    User.objects.bulk_create([User(email=email, password="!") for email in emails], ignore_conflicts=True)
    users = dict(User.objects.filter(email__in=emails).values_list("email", "id"))
    Membership.objects.bulk_create(
        [
            Membership(user_id=users[f"{p.external_id}-{m}@bench.example"], partner=p, role=Membership.Role.PURCHASER)
            for p in found
            for m in range(members_each)
        ],
        ignore_conflicts=True,
    )
    memberships = Membership.objects.filter(partner__in=found).order_by("partner__external_id", "user__email")
    by_partner: dict[int, list[int]] = {}
    for membership_id, partner_id in memberships.values_list("id", "partner_id"):
        by_partner.setdefault(partner_id, []).append(membership_id)
    return [by_partner[p.id] for p in found]


def bench_item(name: str):
    from rewards_catalog.models import Item

    item, _ = Item.objects.get_or_create(
        title=f"Benchmark item {name}",
        defaults={"kind": Item.Kind.GOODS, "cost_points": COST_POINTS, "stock": 10**9, "is_active": False},
    )
    # Hidden from the portal's catalog (is_active False), so redeeming it needs it shown for the run.
    Item.objects.filter(pk=item.pk).update(is_active=True, stock=10**9, cost_points=COST_POINTS)
    return item.pk


def hide_items(item_ids):
    from rewards_catalog.models import Item

    Item.objects.filter(pk__in=item_ids).update(is_active=False)


def fund(partner_ids: list[int], redemptions_each: int, run: str) -> dict[int, int]:
    """Bring every company to exactly `redemptions_each` redemptions' worth of available points
    (an adjustment up, or down for what an earlier run or a probe left)."""
    from portal.ledger import services as ledger
    from portal.ledger.models import Account, Code

    accounts = Account.objects.filter(partner_id__in=partner_ids)
    available = {a.partner_id: a.available for a in accounts}
    target = redemptions_each * COST_POINTS
    requests = []
    for pid in partner_ids:
        gap = target - available.get(pid, 0)
        meta = {"key": f"bench-redeem-{run}-fund-{pid}", "code": Code.ADJUSTMENT, "actor_label": "bench/redeem.py"}
        if gap > 0:
            requests.append(ledger.earning(pid, amount=gap, reason="Benchmark points", **meta))
        elif gap < 0:
            requests.append(ledger.spending(pid, amount=-gap, reason="Benchmark points left over", **meta))
    for first in range(0, len(requests), 1000):
        failed = [r for r in ledger.post_transfers(requests[first : first + 1000]) if not r.ok]
        if failed:
            raise SystemExit(f"could not fund the benchmark companies: {failed[0].error}")
    return {pid: target for pid in partner_ids}


def mark_notices_sent() -> None:
    """The benchmark's notices are never sent (no worker reads its queue): mark them sent, or the outbox's
    sweep would e-mail the benchmark's made-up people later."""
    from django.db.models.functions import Now

    from rewards_catalog.models import RedemptionEvent

    RedemptionEvent.objects.filter(
        redemption__partner__external_id__startswith=PREFIX, notified_at__isnull=True
    ).update(notified_at=Now())


def spent_and_held(partner_ids: list[int]) -> dict[int, tuple[int, int]]:
    from portal.ledger.models import Account

    accounts = Account.objects.filter(partner_id__in=partner_ids)
    return {a.partner_id: (a.debits_posted + a.debits_pending, a.available) for a in accounts}


# --- The clients -------------------------------------------------------------------------------------------


def client(index: int, work: list[tuple[int, int]], start, results) -> None:
    """Redeem one unit for each (membership, item) in turn until each meets "not enough points"."""
    django_setup()
    from django.db import connection

    from accounts.models import Membership
    from rewards_catalog import services
    from rewards_catalog.errors import NotEnoughPoints
    from rewards_catalog.models import Item

    memberships = Membership.objects.select_related("partner", "user").in_bulk([m for m, _ in work])
    items = Item.objects.select_related("audience").in_bulk([i for _, i in work])
    pending = [(memberships[m], items[i]) for m, i in work]
    connection.ensure_connection()
    done = refused = 0
    start.wait()
    started = time.perf_counter()
    while pending:
        still = []
        for member, item in pending:
            try:
                services.redeem(item, member=member, quantity=1, shipping_address=ADDRESS)
                done += 1
                still.append((member, item))
            except NotEnoughPoints:
                refused += 1
        pending = still
    results.put((index, done, refused, started, time.perf_counter()))


def canceller(index: int, work: list[tuple[int, int]], start, results) -> None:
    """Cancel each (redemption, membership): the points and the stock go back."""
    django_setup()
    from django.db import connection

    from accounts.models import Membership
    from rewards_catalog import services
    from rewards_catalog.models import Redemption

    memberships = Membership.objects.select_related("partner", "user").in_bulk({m for _, m in work})
    redemptions = Redemption.objects.select_related("item").in_bulk([r for r, _ in work])
    connection.ensure_connection()
    start.wait()
    started = time.perf_counter()
    done = 0
    for redemption_id, membership_id in work:
        if redemption_id in redemptions:  # gone only if someone emptied the database meanwhile
            services.cancel(redemptions[redemption_id], member=memberships[membership_id], reason="Benchmark")
            done += 1
    results.put((index, done, 0, started, time.perf_counter()))


def run_phase(name: str, work_per_client: list[list[tuple[int, int]]], target=client) -> tuple[int, int, float]:
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    results = context.Queue()
    processes = [
        context.Process(target=target, args=(i, work, start, results)) for i, work in enumerate(work_per_client)
    ]
    for process in processes:
        process.start()
    time.sleep(4 + 0.25 * len(processes))  # each has set Django up and connected before the start
    start.set()
    outcomes = [results.get(timeout=3600) for _ in processes]
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise SystemExit(f"{name}: a client failed (exit code {process.exitcode})")
    done = sum(o[1] for o in outcomes)
    refused = sum(o[2] for o in outcomes)
    elapsed = max(o[4] for o in outcomes) - min(o[3] for o in outcomes)
    return done, refused, elapsed


def cancel_all(clients: int) -> tuple[int, float]:
    """Cancel every benchmark redemption still awaiting approval, spread over `clients` processes, as their
    companies' people would; the count and the seconds it took."""
    from accounts.models import Membership
    from rewards_catalog.models import Redemption

    waiting = Redemption.objects.filter(
        partner__external_id__startswith=PREFIX, status=Redemption.Status.AWAITING_APPROVAL
    ).values_list("pk", "partner_id", "member_id")
    member_of = dict(Membership.objects.filter(partner__external_id__startswith=PREFIX).values_list("user_id", "pk"))
    work: list[list[tuple[int, int]]] = [[] for _ in range(clients)]
    for n, (pk, _partner_id, member_id) in enumerate(waiting):
        work[n % clients].append((pk, member_of[member_id]))
    work = [w for w in work if w]
    if not work:
        return 0, 0.0
    done, _, elapsed = run_phase("cancel", work, target=canceller)
    return done, elapsed


def verdict() -> str:
    from io import StringIO

    from django.core.management import CommandError, call_command

    out, err = StringIO(), StringIO()
    try:
        call_command("check_ledger", stdout=out, stderr=err)
    except CommandError as error:
        return f"FAILED: {error} {err.getvalue().strip()}"
    return out.getvalue().strip()


def report(name, partner_ids, had, before, done, refused, elapsed, clients) -> bool:
    after = spent_and_held(partner_ids)
    moved = sum(after[p][0] - before.get(p, (0, 0))[0] for p in partner_ids)
    overspend = sum(max(0, (after[p][0] - before.get(p, (0, 0))[0]) - had[p]) for p in partner_ids)
    negative = sum(1 for p in partner_ids if after[p][1] < 0)
    exact = moved == done * COST_POINTS
    check = verdict()
    print(
        f"{name}: {clients} clients, {len(partner_ids):,} companies: {done:,} redemptions in {elapsed:.2f} s"
        f" = {done / elapsed:,.0f} redemptions/s ({refused:,} refused for lack of points at the end)"
    )
    print(
        f"  points held or spent {moved:,} (= {done:,} x {COST_POINTS}: {'yes' if exact else 'NO'}),"
        f" companies had {sum(had.values()):,}; overspend {overspend:,}; negative balances {negative}"
    )
    print(f"  check_ledger: {check}")
    return overspend == 0 and negative == 0 and exact and check.startswith("The ledger balances")


def report_cancels(done: int, elapsed: float) -> bool:
    """The benchmark's redemptions cancelled again (so it leaves no queue behind): every point back."""
    check = verdict()
    rate = f" = {done / elapsed:,.0f} cancellations/s" if elapsed else ""
    print(f"  then cancelled: {done:,} in {elapsed:.2f} s{rate}; check_ledger: {check}")
    return check.startswith("The ledger balances")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--hot", type=int, default=20_000, help="redemptions the hot company can afford")
    parser.add_argument(
        "--hot-items", type=int, default=1, help="items the hot company's clients share (1: all on one item row too)"
    )
    parser.add_argument("--companies", type=int, default=1_000)
    parser.add_argument("--per-company", type=int, default=20, help="redemptions each spread company can afford")
    args = parser.parse_args()
    django_setup()
    from django.db import connection

    run = str(int(time.time()))
    print(f"run {run}: PostgreSQL {connection.cursor().connection.info.server_version}, {os.cpu_count()} CPUs,"
          f" load average {os.getloadavg()[0]:.1f} at the start")  # fmt: skip
    ok = True
    mark_notices_sent()  # an earlier run that stopped half-way left its own
    left, _ = cancel_all(args.clients)
    if left:
        print(f"cancelled {left:,} redemptions an earlier run had left awaiting approval")

    # 1. One hot company: every client is one of its purchasers, all on one item.
    (hot_members,) = companies(1, members_each=args.clients, tag="hot")
    hot_items = [bench_item("hot" if n == 0 else f"hot-{n}") for n in range(args.hot_items)]
    partner_id = _partner_of(hot_members[0])
    had = fund([partner_id], args.hot, run)
    before = spent_and_held([partner_id])
    done, refused, elapsed = run_phase("hot", [[(m, hot_items[n % args.hot_items])] for n, m in enumerate(hot_members)])
    name = "hot account" + (f" ({args.hot_items} items)" if args.hot_items > 1 else ", one item")
    ok &= report(name, [partner_id], had, before, done, refused, elapsed, args.clients)
    ok &= report_cancels(*cancel_all(args.clients))

    # 2. Spread: each client redeems for its own share of the companies, from its own item.
    spread = companies(args.companies, members_each=1, tag="spread")
    items = [bench_item(f"spread-{n}") for n in range(args.clients)]
    partner_ids = [_partner_of(members[0]) for members in spread]
    had = fund(partner_ids, args.per_company, run)
    before = spent_and_held(partner_ids)
    work = [[(members[0], items[i]) for members in spread[i :: args.clients]] for i in range(args.clients)]
    done, refused, elapsed = run_phase("spread", work)
    ok &= report("spread", partner_ids, had, before, done, refused, elapsed, args.clients)
    ok &= report_cancels(*cancel_all(args.clients))

    hide_items([*hot_items, *items])
    mark_notices_sent()
    raise SystemExit(0 if ok else 1)


def _partner_of(membership_id: int) -> int:
    from accounts.models import Membership

    return Membership.objects.values_list("partner_id", flat=True).get(pk=membership_id)


if __name__ == "__main__":
    main()
