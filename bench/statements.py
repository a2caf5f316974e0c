"""Measure the monthly statements: the shipped run (batches on real Celery workers, one process per core)
against the naive way (per partner: its own queries and one fresh WeasyPrint render, in one process).

    .venv/bin/python bench/statements.py [--partners 1000] [--naive-sample 100] [--rebuild] [--profile]
                                         [--timeout 1200]

The set-up, not measured, is in a database of its own (``<database>_statements_bench`` on the same server,
made and migrated on the first run, kept between runs and built again when `--partners` or last month
changed, or with `--rebuild`): that many active partners, half English and half Hebrew, that joined five
months before last month (the month the 1st's run reports), with those months' orders and early payments
behind them and a varied last month: orders whose points wait inside the return window (released in the
month, one in three partners' first one returned inside it, the rest still pending at the month's end or
released after it), early payments, a quiz, a redemption held and then posted (for a quarter, one more still
held at the end), a return after the window clawed back, an adjustment in or out, now and then a referral
or a campaign bonus. Two partners in five have a quiet month (an order, a redemption, an adjustment: one
page), two a usual one (11 to 17 entries: the entries run onto a second page), one a busy one (30 to 50
entries: two or three pages). Everything is posted through the ledger's own ``post_transfers``, in
batches, with the details the sources store (so each entry reads in the partner's language);
``check_ledger`` must pass on it.

Shipped: real Celery workers (``celery -A portal worker --pool=prefork --concurrency=<cores>`` on the
default queue, over Redis at ``REDIS_URL``, by default ``redis://127.0.0.1:6379/12``) and
``services.start_run(month)``, timed from the call until the run's ``finished_at`` is set: the batches'
figures gathered together, the PDFs rendered with the cached stylesheet and fonts, stored through the
storage API (``STATEMENTS_ROOT``, by default ``var/bench-statements``) and their rows inserted. The
month's statements of an earlier run are deleted first. A worker's peak memory is its pool processes'
high-water mark of resident memory (``VmHWM``).

Naive: in this one process, for each partner of a sample (`--naive-sample`, half in each language), its
figures by its own queries (``gather([partner])``) and ``HTML(...).write_pdf()`` with the stylesheet and
the font configuration made afresh each time; the PDF is not stored (which flatters the naive way).

Printed: statements per second each way (the naive way per language), their ratio (target: at least 3),
the peak memory of a worker, the projected time for 10,000 partners at the shipped rate (target: under 15
minutes), and where a statement's time goes (figures, template, stylesheet, layout and PDF, measured in
this process over the sample). `--profile` runs cProfile over a few renders here and prints the top of it,
grouped by what WeasyPrint was doing.
"""

import argparse
import cProfile
import io
import logging
import os
import pstats
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from _setup import ROOT, check_ledger, database_url, django_setup, use_own_database

HISTORY_MONTHS = 5  # months of history before the month the statements report
HEAVY_EVERY = 5  # one partner in this many has a busy month (30 entries or more), two in this many a quiet one
TEN_THOUSAND = 10_000
TARGET_RATIO = 3.0
TARGET_MINUTES = 15.0
TIERS = [  # name, name in Hebrew, threshold, multiplier
    ("Member", "חבר", 0, "1.00"),
    ("Silver", "כסף", 3_000, "1.10"),
    ("Gold", "זהב", 8_000, "1.25"),
    ("Platinum", "פלטינה", 20_000, "1.50"),
]
ITEMS = [("Wireless headset", "אוזניות אלחוטיות"), ("Gift card 100", "כרטיס מתנה 100"), ("Backpack", "תרמיל")]
QUIZZES = ["Firewall basics", "Selling managed Wi-Fi", "SD-WAN in ten minutes", "Licensing explained"]
CATEGORIES = ["Networking", "Security", "Storage", "Licences"]


# --- The set-up ------------------------------------------------------------------------------------------


def prefix_of(month: date) -> str:
    return f"bench-statements-{month:%Y-%m}-"


def build_if_needed(partners: int, month: date, *, rebuild: bool) -> str:
    """The partners and their history, unless the database holds them already for this month and size."""
    from accounts.models import Partner

    prefix = prefix_of(month)
    if (
        not rebuild
        and Partner.objects.count() == partners == Partner.objects.filter(external_id__startswith=prefix).count()
    ):
        return f"reused the {partners:,} partners and their history built before"
    started = time.perf_counter()
    transfers = build(partners, month)
    return f"built {partners:,} partners and {transfers:,} transfers in {time.perf_counter() - started:.0f} s"


def build(partners: int, month_first: date) -> int:
    from django.db import connection, transaction

    from accounts.models import Partner
    from portal.statements.figures import StatementMonth
    from portal.tiers.models import PartnerTier, Tier, TierSettings
    from portal.tiers.queries import start_of
    from portal.tiers.rules import add_months

    month = StatementMonth.of(month_first)
    joined = start_of(add_months(month.first_day, -HISTORY_MONTHS)) - timedelta(days=10)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE statements_statementversion, statements_statement, statements_statementbatch,"
            " statements_statementrun, ledger_transfer, ledger_account, tiers_tierchange, tiers_tiergrant,"
            " tiers_partnertier, notices_notice, accounts_partner RESTART IDENTITY CASCADE"
        )
        tiers = []
        for name, name_he, threshold, multiplier in TIERS:
            tier, _ = Tier.objects.update_or_create(
                name=name,
                defaults={"name_he": name_he, "threshold": threshold, "multiplier": Decimal(multiplier)},
            )
            tiers.append(tier)
        TierSettings.load().save()
        prefix = prefix_of(month.first_day)
        Partner.objects.bulk_create(
            Partner(
                name=f"מסחר בדיקה {n} בע״מ" if n % 2 else f"Benchmark Trading {n} Ltd",
                external_id=f"{prefix}{n:05d}",
                registration_number=f"{prefix}{n:05d}",
                kind=Partner.Kind.RESELLER,
                region="Bench",
                language="he" if n % 2 else "en",
                status=Partner.Status.ACTIVE,
            )
            for n in range(partners)
        )
        Partner.objects.update(created_at=joined)  # auto_now_add: set after the insert
        ids = list(Partner.objects.order_by("external_id").values_list("pk", flat=True))
        PartnerTier.objects.bulk_create(
            PartnerTier(partner_id=pk, tier=tiers[n % 3], earned_tier=tiers[n % 3], since=joined.date())
            for n, pk in enumerate(ids)
        )
        # What credits the partners, then what debits them, then the resolutions; in the same transaction as
        # the partners, so a set-up cut short leaves nothing that a later run would take for a whole one.
        phases: list[list] = [[], [], []]
        for n, pk in enumerate(ids):
            for phase, requests in zip(phases, history(pk, n, month), strict=True):
                phase.extend(requests)
        post_all(phases)
    with connection.cursor() as cursor:
        for table in ("accounts_partner", "ledger_account", "ledger_transfer", "tiers_partnertier"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    return sum(len(phase) for phase in phases)


def post_all(phases: list[list], batch: int = 2_000) -> None:
    from portal.ledger import services as ledger

    for requests in phases:
        for start in range(0, len(requests), batch):
            failed = [r for r in ledger.post_transfers(requests[start : start + batch]) if not r.ok]
            if failed:
                raise SystemExit(f"the set-up's transfers were refused: {failed[:3]} ({len(failed)} in all)")


def history(pk: int, n: int, month) -> tuple[list, list, list]:
    """One partner's transfers: the months before (orders, early payments) and a varied statement month."""
    from django.conf import settings
    from django.utils import timezone

    from content.wording import QuizAbout
    from portal.earning.rules import Rule
    from portal.earning.wording import (
        AdjustmentAbout,
        EarlyPaymentAbout,
        OrderAbout,
        OrderReleasedAbout,
        ReturnAbout,
    )
    from portal.ledger import services as ledger
    from portal.ledger.models import Code
    from portal.tiers.rules import add_months
    from rewards_catalog.wording import RedemptionAbout

    tz = ZoneInfo(settings.PROGRAMME_TIME_ZONE)  # the programme's calendar
    rng = random.Random(n)
    credits, debits, resolutions = [], [], []
    now = timezone.now()
    count = [0]

    def key() -> str:
        count[0] += 1
        return f"bench-statements:{pk}:{count[0]}"

    def moment(first: date, day: int) -> datetime:
        last = (add_months(first, 1) - timedelta(days=1)).day
        return datetime(first.year, first.month, min(day, last), rng.randint(8, 17), rng.randint(0, 59), tzinfo=tz)

    def order(first: date, day: int, *, pending: bool) -> tuple[str, str, int]:
        number, base = f"SO-{pk}-{count[0] + 1}", rng.randint(80, 600)
        category, bonus = rng.choice(CATEGORIES), rng.randint(10, 150)
        parts = [
            {"rule": Rule.BASE, "points": base},
            {"rule": Rule.CATEGORY, "name": category, "factor": "1.25", "points": bonus},
        ]
        if n % 3:
            name, name_he = TIERS[n % 3][:2]
            parts.append({"rule": Rule.TIER, "name": name, "name_he": name_he, "factor": "1.10", "points": 20})
        amount = sum(p["points"] for p in parts)
        k = key()
        credits.append(
            ledger.earning(pk, key=k, amount=amount, code=Code.ORDER, reason=f"Order {number}", pending=pending,
                           effective_at=moment(first, day), ref_type="order", ref_id=number, actor_label="bench",
                           details={"about": OrderAbout(order=number).as_details(), "parts": parts})
        )  # fmt: skip
        return k, number, amount

    def early_payment(first: date, day: int) -> int:
        invoice, days, amount = f"INV-{pk}-{count[0] + 1}", rng.randint(5, 25), rng.randint(20, 120)
        about = EarlyPaymentAbout(invoice=invoice, days=days).as_details()
        credits.append(
            ledger.earning(pk, key=key(), amount=amount, code=Code.EARLY_PAYMENT,
                           reason=f"Invoice {invoice} paid {days} days early", effective_at=moment(first, day),
                           details={"about": about, "parts": [{"rule": Rule.EARLY_PAYMENT, "count": days,
                                                                "points": amount}]})
        )  # fmt: skip
        return amount

    # The months before: the opening balance and the chart's bars.
    earned_before, orders_before = 0, []
    for back in range(HISTORY_MONTHS, 0, -1):
        first = add_months(month.first_day, -back)
        for _ in range(rng.randint(2, 4)):
            _, number, amount = order(first, rng.randint(1, 28), pending=False)
            earned_before += amount
            orders_before.append((number, amount))
        if rng.random() < 0.5:
            earned_before += early_payment(first, rng.randint(1, 28))

    # The month itself.
    first, last_day = month.first_day, (month.next_first_day - timedelta(days=1)).day
    heavy, quiet = n % HEAVY_EVERY == 0, n % HEAVY_EVERY in (1, 2)
    for j in range(rng.randint(14, 20) if heavy else 1 if quiet else rng.randint(3, 6)):
        day = rng.randint(1, last_day)
        k, number, amount = order(first, day, pending=True)
        if j == 0 and n % 3 == 0:  # returned inside the window: its pending points voided
            about = ReturnAbout(order=number, return_id=f"RMA-{pk}-{j}").as_details()
            resolutions.append(
                ledger.resolution(f"{k}:void", pending_key=k, code=Code.ORDER, reason=f"Return of order {number}",
                                  void=True, effective_at=moment(first, day + 3), details={"about": about})
            )  # fmt: skip
            continue
        released = moment(first, day) + timedelta(days=14)
        if released < month.end or (released < now and rng.random() < 0.5):  # else still pending now
            about = OrderReleasedAbout(order=number).as_details()
            resolutions.append(
                ledger.resolution(f"{k}:post", pending_key=k, code=Code.ORDER, effective_at=released,
                                  reason=f"Order {number}: return window over", details={"about": about})
            )  # fmt: skip
    for _ in range(rng.randint(4, 6) if heavy else 0 if quiet else rng.randint(1, 2)):
        early_payment(first, rng.randint(1, last_day))
    for _ in range(rng.randint(2, 3) if heavy else 0 if quiet else 1):
        title = rng.choice(QUIZZES)
        credits.append(
            ledger.earning(pk, key=key(), amount=rng.choice([25, 50, 75]), code=Code.CONTENT,
                           reason=f"Quiz passed: {title}", effective_at=moment(first, rng.randint(1, last_day)),
                           details={"about": QuizAbout(title=title, person="Dana Levi").as_details(), "score": 90})
        )  # fmt: skip
    if n % 7 == 3:
        credits.append(
            ledger.earning(pk, key=key(), amount=400, code=Code.REFERRAL, reason="Referral: Orbit Systems",
                           effective_at=moment(first, rng.randint(1, last_day)))
        )  # fmt: skip
    if n % 6 == 2:
        credits.append(
            ledger.earning(pk, key=key(), amount=rng.randint(50, 200), code=Code.CAMPAIGN,
                           reason="Campaign bonus: autumn security push",
                           effective_at=moment(first, rng.randint(1, last_day)))
        )  # fmt: skip

    spendable = int(earned_before * 0.3)  # what the holds may take, well inside the available balance
    for held_open in (False, True) if n % 4 == 1 else (False,):
        item, item_he = rng.choice(ITEMS)
        amount, day = rng.randint(100, max(101, spendable // 2)), rng.randint(20, 25) if held_open else 5
        about = RedemptionAbout(redemption=pk * 10 + held_open, quantity=1, item=item, item_he=item_he)
        k = key()
        debits.append(
            ledger.spending(pk, key=k, amount=amount, code=Code.REDEMPTION, reason=f"Redemption: {item}",
                            hold=True, effective_at=moment(first, day), details={"about": about.as_details()})
        )  # fmt: skip
        if not held_open:
            resolutions.append(
                ledger.resolution(f"{k}:post", pending_key=k, code=Code.REDEMPTION, reason=f"Redemption: {item}",
                                  effective_at=moment(first, day + 2), details={"about": about.as_details()})
            )  # fmt: skip
    if not quiet:  # an earlier order's return, after its window: its points clawed back
        number, amount = rng.choice(orders_before)
        about = ReturnAbout(order=number, return_id=f"RMA-{pk}-late").as_details()
        debits.append(
            ledger.spending(pk, key=key(), amount=max(1, amount // 3), code=Code.CLAWBACK,
                            reason=f"Return of order {number}", effective_at=moment(first, rng.randint(1, last_day)),
                            details={"about": about, "parts": [{"rule": Rule.RETURNED_GOODS,
                                                                "points": -max(1, amount // 3)}]})
        )  # fmt: skip
    note = "Correction of a missed invoice" if n % 2 else "Duplicate points taken back"
    adjust = ledger.earning if n % 2 else ledger.spending
    (credits if n % 2 else debits).append(
        adjust(pk, key=key(), amount=rng.randint(10, 100), code=Code.ADJUSTMENT, reason=f"Adjustment: {note}",
               effective_at=moment(first, rng.randint(1, last_day)), actor_label="Account manager",
               details={"about": AdjustmentAbout(note=note).as_details()})
    )  # fmt: skip
    return credits, debits, resolutions


def clear_statements(month: date, folder: Path) -> None:
    """The month's statements of an earlier run, their runs and their files: gone."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE statements_statementversion, statements_statement, statements_statementbatch,"
            " statements_statementrun, notices_notice CASCADE"
        )
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)


# --- The shipped way: real workers ------------------------------------------------------------------------


def start_workers(log) -> tuple[subprocess.Popen, str]:
    from django.db import connection

    from portal.celery import app

    node = f"bench-statements-{os.getpid()}@localhost"
    celery = ROOT / ".venv" / "bin" / "celery"
    command = [str(celery)] if celery.exists() else [sys.executable, "-m", "celery"]
    env = {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict),
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "DJANGO_SETTINGS_MODULE": "portal.settings",
    }
    worker = subprocess.Popen(
        [*command, "-A", "portal", "worker", f"--concurrency={os.cpu_count()}", "--pool=prefork",
         "-Q", app.conf.task_default_queue, "-n", node, "--loglevel=WARNING",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 90
    while not any(node in reply for reply in app.control.ping(timeout=0.5)):
        if worker.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the Celery worker did not start:\n{tail(log)}")
    return worker, node


def stop_workers(worker: subprocess.Popen) -> None:
    """A warm shutdown (SIGTERM), then SIGKILL to the worker's own process group for whatever is left."""
    if worker.poll() is None:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(worker.pid, signal.SIGKILL)  # the group started with the worker (start_new_session)
    except ProcessLookupError:
        pass
    worker.wait(timeout=10)


def tail(log, lines: int = 40) -> str:
    log.flush()
    with open(log.name, encoding="utf-8", errors="replace") as f:
        return "".join(f.readlines()[-lines:])


def peak_memory(worker: subprocess.Popen) -> dict[int, int]:
    """Each of the worker's processes (its pool's, and itself): the high-water mark of resident memory, bytes."""
    try:
        import psutil

        pids = [worker.pid] + [p.pid for p in psutil.Process(worker.pid).children(recursive=True)]
    except ImportError:
        pids = [worker.pid] + [
            int(pid)
            for pid in os.listdir("/proc")
            if pid.isdigit() and _status(int(pid)).get("PPid") == str(worker.pid)
        ]
    peaks = {}
    for pid in pids:
        hwm = _status(pid).get("VmHWM", "")
        if hwm.endswith("kB"):
            peaks[pid] = int(hwm.split()[0]) * 1024
    return peaks


def _status(pid: int) -> dict[str, str]:
    try:
        with open(f"/proc/{pid}/status") as f:
            return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
    except OSError:
        return {}


def run_shipped(month: date, partners: int, timeout: float) -> dict:
    """start_run on real workers; seconds from the call to the run's finish, the workers' peak memory."""
    import redis
    from django.conf import settings

    from portal.celery import app
    from portal.statements import services
    from portal.statements.models import Statement, StatementBatch, StatementRun

    waiting = redis.Redis.from_url(settings.CELERY_BROKER_URL).llen(app.conf.task_default_queue)
    if waiting:
        print(f"  note: {waiting} messages were waiting on the queue before the run (a run cut short before?)")
    with tempfile.NamedTemporaryFile("w+", prefix="bench-statements-worker-", suffix=".log", delete=False) as log:
        worker, node = start_workers(log)
        try:
            started = time.perf_counter()
            run = services.start_run(month)
            report = started
            while not StatementRun.objects.filter(pk=run.pk, finished_at__isnull=False).exists():
                now = time.perf_counter()
                if worker.poll() is not None:
                    raise SystemExit(f"the Celery worker stopped during the run:\n{tail(log)}")
                if now - started > timeout:
                    raise SystemExit(f"the run did not finish within {timeout:.0f} s:\n{tail(log)}")
                if now - report > 15:
                    report = now
                    done = StatementBatch.objects.filter(run=run, done_at__isnull=False).count()
                    print(f"  ... {now - started:.0f} s: {done} of {run.batches.count()} batches done", flush=True)
                time.sleep(0.25)
            seconds = time.perf_counter() - started
            peaks = peak_memory(worker)
        finally:
            stop_workers(worker)
        errors = tail(log, 10) if "Traceback" in tail(log, 200) else ""
    made = Statement.objects.filter(month=month).count()
    if made != partners:
        raise SystemExit(f"the run made {made} statements for {partners} partners:\n{errors}")
    os.unlink(log.name)
    pool = {pid: peak for pid, peak in peaks.items() if pid != worker.pid}
    return {
        "seconds": seconds,
        "rate": partners / seconds,
        "batches": run.batches.count(),
        "pool_peak": max(pool.values(), default=0),
        "main_peak": peaks.get(worker.pid, 0),
        "pool": len(pool),
        "node": node,
    }


# --- The naive way, and where the time goes ---------------------------------------------------------------


def sample_of(month: date, size: int) -> list[int]:
    """Partner ids, half in each language, the busy months in their share."""
    from accounts.models import Partner

    ids = list(Partner.objects.filter(external_id__startswith=prefix_of(month)).order_by("external_id"))
    by_language = {"en": [p.pk for p in ids if p.language == "en"], "he": [p.pk for p in ids if p.language == "he"]}
    half = size // 2
    return by_language["en"][:half] + by_language["he"][: size - half]


def run_naive(month: date, ids: list[int]) -> dict:
    """Per partner, in this process: its figures by its own queries, one fresh render; time by phase."""
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    from accounts.models import Partner
    from portal.statements import render
    from portal.statements.figures import StatementMonth, gather
    from portal.statements.models import StatementBranding

    statement_month = StatementMonth.of(month)

    def one(pk: int, times: dict, pages: dict) -> None:
        t0 = time.perf_counter()
        partner = Partner.objects.get(pk=pk)
        figures = gather([partner], statement_month)[pk]
        t1 = time.perf_counter()
        html = render.statement_html(figures, branding=StatementBranding.load())
        t2 = time.perf_counter()
        fonts = FontConfiguration()
        css = CSS(filename=str(render.STYLESHEET), font_config=fonts, url_fetcher=render.ProjectFilesOnly())
        t3 = time.perf_counter()
        # HTML(...).write_pdf() is render() then write_pdf(): taken apart to count the pages.
        document = HTML(string=html, base_url=f"{render.ORIGIN}/", url_fetcher=render.ProjectFilesOnly()).render(
            stylesheets=[css], font_config=fonts
        )
        t4 = time.perf_counter()
        document.write_pdf()
        t5 = time.perf_counter()
        pages[len(document.pages)] += 1
        for name, seconds in (("figures", t1 - t0), ("template", t2 - t1), ("stylesheet", t3 - t2),
                              ("layout", t4 - t3), ("pdf", t5 - t4), ("all", t5 - t0)):  # fmt: skip
            times[name] += seconds

    one(ids[0], defaultdict(float), defaultdict(int))  # the process's first render (font caches): not counted
    languages = dict(Partner.objects.filter(pk__in=ids).values_list("pk", "language"))
    times = {"en": defaultdict(float), "he": defaultdict(float)}
    counts, pages = defaultdict(int), defaultdict(int)
    for pk in ids:
        one(pk, times[languages[pk]], pages)
        counts[languages[pk]] += 1
    return {"times": times, "counts": counts, "pages": pages}


def run_shipped_here(month: date, ids: list[int]) -> dict:
    """The shipped way's work for the same sample in this one process, without storing: figures gathered by
    chunks (as a batch does), the template, the render with the cached stylesheet and fonts."""
    from accounts.models import Partner
    from portal.statements import render, services
    from portal.statements.figures import StatementMonth, gather
    from portal.statements.models import StatementBranding

    statement_month = StatementMonth.of(month)
    branding = StatementBranding.load()
    partners = list(Partner.objects.filter(pk__in=ids).order_by("pk"))
    render.statement_pdf(gather(partners[:1], statement_month)[partners[0].pk], branding=branding)  # warm
    times = {"en": defaultdict(float), "he": defaultdict(float)}
    t0 = time.perf_counter()
    batch_gather = gather(partners, statement_month)
    whole_batch = time.perf_counter() - t0
    for start in range(0, len(partners), services.CHUNK):
        chunk = partners[start : start + services.CHUNK]
        t0 = time.perf_counter()
        figures = gather(chunk, statement_month)
        share = (time.perf_counter() - t0) / len(chunk)
        for partner in chunk:
            t = times[partner.language]
            t["figures"] += share
            t1 = time.perf_counter()
            html = render.statement_html(figures[partner.pk], branding=branding)
            t2 = time.perf_counter()
            render.html_to_pdf(html)
            t3 = time.perf_counter()
            t["template"] += t2 - t1
            t["layout+pdf"] += t3 - t2
            t["all"] += share + t3 - t1
    del batch_gather
    return {"times": times, "whole_batch": whole_batch, "batch": len(partners)}


AREAS = [  # what WeasyPrint (or the rest) was doing, by the file a function lives in
    ("layout", ("/weasyprint/layout/",)),
    ("text and fonts (Pango, HarfBuzz, cffi)", ("/weasyprint/text/", "/cffi/", "/pycparser/", "_cffi_backend")),
    ("style (CSS parse and cascade)", ("/weasyprint/css/", "/tinycss2/", "/cssselect2/")),
    (
        "boxes and HTML parse",
        ("/weasyprint/formatting_structure/", "/weasyprint/html.py", "html5lib", "/xml/etree/", "webencodings"),
    ),  # fmt: skip
    (
        "drawing and PDF",
        (
            "/weasyprint/draw/",
            "/weasyprint/pdf/",
            "/pydyf/",
            "zlib",
            "/weasyprint/stacking",
            "/weasyprint/document.py",
            "/weasyprint/matrix.py",
            "/fontTools/",
        ),
    ),  # fmt: skip
    ("template and figures (Django, portal)", ("/django/", "/portal/", "/accounts/", "/psycopg/")),
]


CUMULATIVE = [  # (what, the file it is in, the function)
    ("the template (statement_html)", "statements/render.py", "statement_html"),
    ("HTML parse (HTML())", "weasyprint/__init__.py", "__init__"),
    ("style, boxes and layout (Document._render)", "weasyprint/document.py", "_render"),
    ("  of it the layout (layout_document)", "weasyprint/layout/__init__.py", "layout_document"),
    ("the PDF (Document.write_pdf)", "weasyprint/document.py", "write_pdf"),
]


def profile(month: date, ids: list[int], renders: int) -> None:
    """cProfile over a few renders the shipped way (cached stylesheet and fonts), in this process."""
    from accounts.models import Partner
    from portal.statements import render
    from portal.statements.figures import StatementMonth, gather

    chosen = ids[:: max(1, len(ids) // renders)][:renders]
    figures = gather(list(Partner.objects.filter(pk__in=chosen)), StatementMonth.of(month))
    render.statement_pdf(next(iter(figures.values())))  # warm
    profiler = cProfile.Profile()
    profiler.enable()
    for f in figures.values():
        render.statement_pdf(f)
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = sum(row[2] for row in stats.stats.values())  # own time of every function
    areas: dict[str, float] = defaultdict(float)
    for (filename, _line, name), row in stats.stats.items():
        where = f"{filename} {name}"
        area = next((a for a, marks in AREAS if any(m in where for m in marks)), "the rest")
        areas[area] += row[2]
    languages = sorted(f.partner.language for f in figures.values())
    print(f"profile of {len(figures)} renders the shipped way ({', '.join(languages)}), {total:.2f} s of own time"
          f" under cProfile, by what was running:")  # fmt: skip
    for area, seconds in sorted(areas.items(), key=lambda kv: -kv[1]):
        print(f"  {area:<40} {seconds:6.2f} s {100 * seconds / total:5.1f} %")
    for label, path, match in CUMULATIVE:
        cumulative = sum(row[3] for (fn, _l, name), row in stats.stats.items() if name == match and fn.endswith(path))
        print(f"  including what it calls: {label:<46} {cumulative:6.2f} s {100 * cumulative / total:5.1f} %")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("tottime").print_stats(20)
    top = out.getvalue()
    print(top[top.find("   ncalls") :].rstrip())


# --- The report -------------------------------------------------------------------------------------------


def ms(times: dict, count: int, name: str) -> str:
    return f"{1000 * times[name] / max(count, 1):.0f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partners", type=int, default=1_000, help="partners (half English, half Hebrew)")
    parser.add_argument("--naive-sample", type=int, default=100, help="partners rendered the naive way")
    parser.add_argument("--rebuild", action="store_true", help="build the partners and their history again")
    parser.add_argument("--profile", action="store_true", help="cProfile over a few renders, its top printed")
    parser.add_argument("--profile-renders", type=int, default=8, help="renders under --profile")
    parser.add_argument("--timeout", type=float, default=1_200, help="seconds the shipped run may take")
    args = parser.parse_args()

    # The run's tasks go to real workers over Redis (a database of the benchmark's own); files to a folder of its own.
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/12")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"
    os.environ.setdefault("STATEMENTS_ROOT", str(ROOT / "var" / "bench-statements"))
    django_setup()
    warnings = Warnings()
    weasyprint_log = logging.getLogger("weasyprint")
    weasyprint_log.handlers, weasyprint_log.propagate = [warnings], False
    from django.conf import settings
    from django.db import connection

    from portal.statements import services

    database = use_own_database("statements_bench")
    month = services.last_month()
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        server = cursor.fetchone()[0].split(" on ")[0]
    print(f"{server}, {os.cpu_count()} CPUs, database {database}, Redis {settings.REDIS_URL}; statements of"
          f" {month:%B %Y} for {args.partners:,} partners (half en, half he); {load()}")  # fmt: skip
    print(f"set-up: {build_if_needed(args.partners, month, rebuild=args.rebuild)}; {check_ledger()}")
    from portal.ledger.models import Transfer
    from portal.statements.figures import StatementMonth

    span = StatementMonth.of(month)
    in_month = Transfer.objects.filter(effective_at__gte=span.start, effective_at__lt=span.end).count()
    print(f"  {Transfer.objects.count():,} transfers, {in_month:,} of them in {month:%B %Y}"
          f" ({in_month / args.partners:.1f} a partner; one partner in {HEAVY_EVERY} has 30 or more)")  # fmt: skip

    clear_statements(month, Path(settings.STATEMENTS_ROOT))
    shipped = run_shipped(month, args.partners, args.timeout)
    print(
        f"shipped: start_run, {shipped['batches']} batches of {services.BATCH} on one worker of {shipped['pool']}"
        f" prefork processes over Redis: {args.partners:,} statements in {shipped['seconds']:.1f} s; {load()}"
    )
    if shipped["batches"] < shipped["pool"]:
        print(f"  note: fewer batches than worker processes: some of the {shipped['pool']} had nothing to do")

    ids = sample_of(month, args.naive_sample)
    naive = run_naive(month, ids)
    counts, times = naive["counts"], naive["times"]
    count = sum(counts.values())
    rates = {language: counts[language] / times[language]["all"] for language in ("en", "he")}
    rates["overall"] = count / sum(t["all"] for t in times.values())
    print(
        f"naive: in one process, per partner gather([partner]) and HTML(...).write_pdf() with a stylesheet and a"
        f" font configuration of its own, over {counts['en']} en and {counts['he']} he partners"
        f" (statements of {pages_text(naive['pages'])});"
        f" {load()}"
    )
    here = run_shipped_here(month, ids)
    mine = here["times"]
    one_process = count / sum(t["all"] for t in mine.values())

    print(f"where a statement's time goes, in this process over the same {count} partners (ms a statement):")
    for language in ("en", "he"):
        t, s, n = times[language], mine[language], counts[language]
        print(
            f"  {language} naive:   figures {ms(t, n, 'figures')} (gather of one partner), template"
            f" {ms(t, n, 'template')}, stylesheet and fonts {ms(t, n, 'stylesheet')}, HTML parse and layout"
            f" {ms(t, n, 'layout')}, PDF {ms(t, n, 'pdf')}: {ms(t, n, 'all')}"
        )
        print(
            f"  {language} shipped: figures {ms(s, n, 'figures')} (gathered {services.CHUNK} at a time), template"
            f" {ms(s, n, 'template')}, HTML parse, layout and PDF {ms(s, n, 'layout+pdf')} (cached stylesheet and"
            f" fonts): {ms(s, n, 'all')}"
        )
    print(
        f"  a gather alone: {here['batch']} partners in one gather, {1000 * here['whole_batch']:.0f} ms"
        f" ({1000 * here['whole_batch'] / here['batch']:.1f} ms a partner)"
    )
    print(
        f"  the shipped way's work in one process: {one_process:.2f} statements/s, {one_process / rates['overall']:.2f}"
        f" times the naive way; the run on {shipped['pool']} worker processes made {shipped['rate'] / one_process:.2f}"
        f" times that (storing, PostgreSQL and the broker on the same {os.cpu_count()} cores)"
    )

    if args.profile:
        profile(month, ids, args.profile_renders)
    print(warnings.summary())
    ratio = shipped["rate"] / rates["overall"]
    projected = TEN_THOUSAND / shipped["rate"]
    print("figures:")
    print(f"  shipped:   {shipped['rate']:.2f} statements/s ({args.partners:,} partners)")
    print(f"  naive:     {rates['overall']:.2f} statements/s overall, en {rates['en']:.2f}, he {rates['he']:.2f}"
          f" ({count} partners)")  # fmt: skip
    print(f"  ratio:     {ratio:.2f} (target >= {TARGET_RATIO:.0f}: {'met' if ratio >= TARGET_RATIO else 'MISSED'})")
    print(
        f"  peak memory of a worker process: {shipped['pool_peak'] / 2**20:.0f} MiB (VmHWM, the largest of its"
        f" {shipped['pool']} pool processes; the worker's main process {shipped['main_peak'] / 2**20:.0f} MiB)"
    )
    print(
        f"  projected for {TEN_THOUSAND:,} partners at the shipped rate: {projected / 60:.1f} min"
        f" (target < {TARGET_MINUTES:.0f} min: {'met' if projected < TARGET_MINUTES * 60 else 'MISSED'})"
    )


class Warnings(logging.Handler):
    """WeasyPrint's warnings in this process, counted rather than printed (one per render would bury the
    figures)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.seen: Counter[str] = Counter()

    def emit(self, record):
        self.seen[record.getMessage()] += 1

    def summary(self) -> str:
        if not self.seen:
            return "WeasyPrint warned of nothing in this process"
        top = "; ".join(f"{message!r} {n}x" for message, n in self.seen.most_common(4))
        return (
            f"WeasyPrint warned {sum(self.seen.values()):,} times in this process, {len(self.seen)} different"
            f" warnings: {top}"
        )


def pages_text(pages: dict[int, int]) -> str:
    return ", ".join(f"{k} page{'s' if k > 1 else ''}: {v}" for k, v in sorted(pages.items()))


def load() -> str:
    """The machine's load: the figures mean less when something else was running."""
    return "load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


if __name__ == "__main__":
    main()
