"""Measure learning's earning path (content.services.take_quiz) under the races the portal meets.

    .venv/bin/python bench/content.py [--clients 8] [--companies 100] [--people 5] [--quizzes 20]

In a database of its own (``<database>_content_bench``, made and migrated on the first run), a Learn section
with `--quizzes` quizzes of 50 points each and `--companies` active companies of `--people` people. The
programme's monthly cap is set below what the people could earn together (a company's people pass every
quiz: `people x quizzes x 50` points; the cap is about a third of that, and not a multiple of 50), so every
company crosses its cap, with one completion that gets only what was left.

Two phases, each with `--clients` processes (each calls django.setup() and has its own connection),
released together:

1. two tabs: every person's pass of every quiz is sent twice, by two different clients, at about the same
   moment (each client walks the same work in the same order, offset by one client), as a person who
   double-clicks or submits from two tabs; the clients of one company meet on its month row;
2. the Learn page: each client signs one person in per company and reads ``/learn/`` for each, through
   Django's own request handling (middleware, sign-in, the view, the template), as many times.

Printed per phase: submissions per second (and what they were: passes that completed, duplicates refused),
the completions' latency (p50, p95), then the checks: one completion per person and quiz; each company's
learning points this month equal to the cap exactly (the completion that crossed it got what was left, those
after it nothing); the ledger's content points equal the completions' points; ``check_ledger``'s verdict. For
the Learn page: requests per second, p50 and p95, and the queries one page costs. The data is the
benchmark's own and a rerun starts it afresh (its month's completions are deleted with the database's
benchmark rows: the database is the benchmark's alone).
"""

import argparse
import multiprocessing
import os
import time

from _setup import bench_partners, check_ledger, database_url, django_setup, use_own_database

PREFIX = "bench-content-"
POINTS = 50
QUESTIONS = [
    {
        "type": "question",
        "id": f"q{n}",
        "value": {
            "question": f"Question {n}?",
            "choices": [
                {"type": "item", "id": f"q{n}a", "value": {"text": "Right", "correct": True}},
                {"type": "item", "id": f"q{n}b", "value": {"text": "Also right", "correct": True}},
                {"type": "item", "id": f"q{n}c", "value": {"text": "Wrong", "correct": False}},
            ],
            "explanation": "<p>Because.</p>",
        },
    }
    for n in range(4)
]
RIGHT = {f"q{n}": [f"q{n}a", f"q{n}b"] for n in range(4)}


# --- Data --------------------------------------------------------------------------------------------------


def fresh_start() -> None:
    """An earlier run's records go: the benchmark's database holds nothing else. The ledger's transfers are
    append-only (a trigger), so the database is emptied by TRUNCATE, as a test database is."""
    from django.core.management import call_command
    from django.db import connection

    if not connection.settings_dict["NAME"].endswith("_content_bench"):  # never the development database
        raise SystemExit(f"not the benchmark's database: {connection.settings_dict['NAME']}")
    call_command("flush", interactive=False, verbosity=0)


def programme(quizzes: int, companies: int, people: int) -> tuple[list[int], list[list[int]], int]:
    """The Learn section's quizzes (their page ids), the companies' memberships, and the monthly cap."""
    from wagtail.models import Locale, Page

    from accounts.models import Membership, User
    from content import services
    from content.models import ContentSettings, QuizPage

    Locale.objects.get_or_create(language_code="en")
    if Page.get_first_root_node() is None:
        Page.add_root(instance=Page(title="Root", slug="root"))
    section = services.open_learn_section().english
    quiz_ids = [
        section.add_child(instance=QuizPage(title=f"Quiz {n}", slug=f"quiz-{n}", points=POINTS, questions=QUESTIONS)).pk
        for n in range(quizzes)
    ]
    cap = people * quizzes * POINTS // 3 // POINTS * POINTS + POINTS // 2  # one completion crosses it with 25
    settings = ContentSettings.load()
    settings.monthly_cap_points = cap
    settings.save()

    partners = bench_partners(companies, prefix=PREFIX.rstrip("-"))
    users = User.objects.bulk_create(
        [User(email=f"{p.external_id}-{m}@bench.example", password="!") for p in partners for m in range(people)]
    )
    memberships = Membership.objects.bulk_create(
        [
            Membership(user=users[n * people + m], partner=partner, role=Membership.Role.PURCHASER)
            for n, partner in enumerate(partners)
            for m in range(people)
        ]
    )
    return quiz_ids, [[m.pk for m in memberships[n * people : (n + 1) * people]] for n in range(companies)], cap


# --- The clients -------------------------------------------------------------------------------------------


def submitter(index: int, work: list[tuple[int, int]], start, results) -> None:
    """Pass each (membership, quiz) in turn; a duplicate (the other tab's) is refused and counted."""
    django_setup()
    from django.db import connection

    from accounts.models import Membership
    from content import services
    from content.errors import AlreadyDone
    from content.models import QuizPage

    memberships = Membership.objects.select_related("partner", "user").in_bulk({m for m, _ in work})
    quizzes = QuizPage.objects.in_bulk({q for _, q in work})
    connection.ensure_connection()
    completed = duplicates = 0
    latencies = []
    start.wait()
    started = time.perf_counter()
    for membership_id, quiz_id in work:
        began = time.perf_counter()
        try:
            attempt = services.take_quiz(quizzes[quiz_id], member=memberships[membership_id], answers=RIGHT)
        except AlreadyDone:
            duplicates += 1
            continue
        if not attempt.passed:
            raise SystemExit(f"client {index}: a right answer failed: {attempt.pk}")
        completed += 1
        latencies.append(time.perf_counter() - began)
    results.put((index, completed, duplicates, started, time.perf_counter(), latencies))


def reader(index: int, work: list[tuple[int, int]], start, results) -> None:
    """Read the Learn page as each (user, repeats) signed in, through Django's whole request handling."""
    django_setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User

    users = User.objects.in_bulk([u for u, _ in work])
    clients = []
    for user_id, _ in work:
        client = Client()
        client.force_login(users[user_id])
        clients.append(client)
    with CaptureQueriesContext(connection) as queries:
        first = clients[0].get("/learn/", secure=True)
        if first.status_code != 200:
            raise SystemExit(f"client {index}: /learn/ answered {first.status_code} {first.get('Location', '')}")
    page_queries = len(queries)
    start.wait()
    started = time.perf_counter()
    latencies = []
    for client, (_, repeats) in zip(clients, work, strict=True):
        for _ in range(repeats):
            began = time.perf_counter()
            response = client.get("/learn/", secure=True)
            latencies.append(time.perf_counter() - began)
            if response.status_code != 200:
                raise SystemExit(f"client {index}: /learn/ answered {response.status_code}")
    results.put((index, len(latencies), page_queries, started, time.perf_counter(), latencies))


def run_phase(name: str, target, work_per_client: list[list[tuple[int, int]]]):
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    results = context.Queue()
    processes = [context.Process(target=target, args=(i, w, start, results)) for i, w in enumerate(work_per_client)]
    for process in processes:
        process.start()
    time.sleep(4 + 0.5 * len(processes))  # each has set Django up and connected before the start
    start.set()
    outcomes = [results.get(timeout=3600) for _ in processes]
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise SystemExit(f"{name}: a client failed (exit code {process.exitcode})")
    elapsed = max(o[4] for o in outcomes) - min(o[3] for o in outcomes)
    latencies = sorted(latency for o in outcomes for latency in o[5])
    return outcomes, elapsed, latencies


def percentile(sorted_values: list[float], share: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(share * len(sorted_values)))] if sorted_values else 0.0


# --- The checks ------------------------------------------------------------------------------------------------


def checks(memberships: list[list[int]], quizzes: int, cap: int) -> bool:
    from django.db.models import Count, Sum

    from content.models import Completion, MonthlyContentPoints
    from portal.ledger.models import Code, Transfer

    people = sum(len(m) for m in memberships)
    completions = Completion.objects.count()
    twice = Completion.objects.values("person", "item_key").annotate(n=Count("id")).filter(n__gt=1).count()
    by_company = dict(Completion.objects.values_list("partner_id").annotate(points=Sum("points")))
    months = dict(MonthlyContentPoints.objects.values_list("partner_id", "points"))
    at_cap = sum(1 for points in by_company.values() if points == cap)
    rows_agree = all(months.get(partner) == points for partner, points in by_company.items())
    ledger_points = Transfer.objects.filter(code=Code.CONTENT).aggregate(total=Sum("amount"))["total"] or 0
    given = sum(by_company.values())
    crossing = Completion.objects.filter(points__gt=0, points__lt=POINTS).count()
    print(
        f"  completions {completions:,} (= {people:,} people x {quizzes} quizzes:"
        f" {'yes' if completions == people * quizzes else 'NO'}); a person and quiz twice: {twice}"
    )
    print(
        f"  companies at the cap of {cap:,} exactly: {at_cap} of {len(memberships)}; month rows agree: "
        f"{'yes' if rows_agree else 'NO'}; completions that crossed the cap with part of their points: {crossing}"
    )
    agree = "equal" if given == ledger_points else "DIFFER"
    print(f"  points given {given:,}, the ledger's content points {ledger_points:,}: {agree}")
    verdict = check_ledger()
    print(f"  check_ledger: {verdict}")
    return (
        completions == people * quizzes
        and twice == 0
        and at_cap == len(memberships)
        and crossing == len(memberships)
        and rows_agree
        and given == ledger_points
        and verdict.startswith("The ledger balances")
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--companies", type=int, default=100)
    parser.add_argument("--people", type=int, default=5)
    parser.add_argument("--quizzes", type=int, default=20)
    parser.add_argument("--reads", type=int, default=20, help="Learn page reads per company")
    args = parser.parse_args()
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"  # notices queue; no worker here sends them
    django_setup()
    from django.core.management import call_command
    from django.db import connection

    database = use_own_database("content_bench")
    os.environ["DATABASE_URL"] = database_url(connection.settings_dict)  # the clients use it too
    print(
        f"database {database}: PostgreSQL {connection.cursor().connection.info.server_version}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start"
    )
    fresh_start()
    call_command("collectstatic", interactive=False, verbosity=0)  # pages link hashed names, as production serves
    quiz_ids, memberships, cap = programme(args.quizzes, args.companies, args.people)
    print(
        f"{args.companies} companies x {args.people} people, {args.quizzes} quizzes of {POINTS} points, "
        f"a monthly cap of {cap:,} points a company (its people could earn {args.people * args.quizzes * POINTS:,})"
    )

    # 1. Two tabs: each (person, quiz) goes to two clients, each walking its share in the same order.
    work = [(m, q) for q in quiz_ids for company in memberships for m in company]
    per_client: list[list[tuple[int, int]]] = [[] for _ in range(args.clients)]
    for n, pair in enumerate(work):
        per_client[n % args.clients].append(pair)
        per_client[(n + 1) % args.clients].append(pair)
    outcomes, elapsed, latencies = run_phase("two tabs", submitter, per_client)
    completed, duplicates = sum(o[1] for o in outcomes), sum(o[2] for o in outcomes)
    submissions = completed + duplicates
    print(
        f"two tabs: {args.clients} clients, {submissions:,} submissions in {elapsed:.2f} s = "
        f"{submissions / elapsed:,.0f} submissions/s ({completed:,} completed, {duplicates:,} refused as done);"
        f" a completion's p50 {percentile(latencies, 0.5) * 1000:.1f} ms,"
        f" p95 {percentile(latencies, 0.95) * 1000:.1f} ms"
    )
    ok = checks(memberships, args.quizzes, cap)

    # 2. The Learn page, one person of each company, `--reads` times each.
    from accounts.models import Membership

    users = dict(Membership.objects.values_list("pk", "user_id"))
    readers = [(users[company[0]], args.reads) for company in memberships]
    outcomes, elapsed, latencies = run_phase(
        "learn page", reader, [readers[i :: args.clients] for i in range(args.clients)]
    )
    reads = sum(o[1] for o in outcomes)
    print(
        f"learn page: {args.clients} clients, {reads:,} reads in {elapsed:.2f} s = {reads / elapsed:,.0f} pages/s;"
        f" p50 {percentile(latencies, 0.5) * 1000:.1f} ms, p95 {percentile(latencies, 0.95) * 1000:.1f} ms;"
        f" {outcomes[0][2]} queries a page ({args.quizzes} quizzes, all done, the cap reached)"
    )
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
