"""Real processes: two workers making the same batch at once, and a worker killed half-way through one.

Either way each partner ends with exactly one statement of the month, and no file is left without its row.
"""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from portal.statements import services
from portal.statements.models import Statement, StatementBatch
from tests.child_process import portal_environment
from tests.statements.test_run import APRIL, partners

ROOT = Path(__file__).resolve().parents[2]

# Waits for the start file, then makes the batch's statements (one per insert); with a limit, the process
# dies (no cleanup, no rollback of what committed: as a killed worker) after that many inserts.
CHILD = """
import os, sys, time, pathlib, django
django.setup()
from portal.statements import services
start, batch_id, limit = pathlib.Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
insert, done = services._insert, []
def insert_then_maybe_die(*args, **kwargs):
    made = insert(*args, **kwargs)
    done.append(made)
    if limit and len(done) >= limit:
        os._exit(9)
    return made
services._insert = insert_then_maybe_die
services.CHUNK = 1
while not start.exists():
    time.sleep(0.005)
print(services.make_batch(batch_id).made)
"""


def children(tmp_path, batch_id, *, limits):
    env = portal_environment(STATEMENTS_ROOT=str(tmp_path / "statements"), CELERY_TASK_ALWAYS_EAGER="true")
    start = tmp_path / "start"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(start), str(batch_id), str(limit)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for limit in limits
    ]
    time.sleep(3)  # each has started Django and waits for the signal
    start.touch()
    return [(p.returncode, *p.communicate(timeout=300)) for p in procs]


def stored_files(tmp_path) -> set[str]:
    folder = tmp_path / "statements"
    return {str(p.relative_to(folder)) for p in folder.rglob("*.pdf")}


@pytest.mark.django_db(transaction=True)
def test_two_workers_making_the_same_batch_make_each_statement_once(tmp_path, monkeypatch):
    made = partners(8)
    monkeypatch.setattr(services, "_queue", lambda ids: None)  # the children are the workers
    run = services.start_run(APRIL)
    batch = run.batches.get()

    outputs = children(tmp_path, batch.pk, limits=[0, 0])

    assert all(code in (0, None) for code, *_ in outputs), outputs
    results = [p for code, out, err in outputs for p in [int(out.strip().splitlines()[-1])]]
    assert sum(results) >= 8  # each made its own share; the batch counts what its finishing run made
    statements = Statement.objects.filter(month=APRIL)
    assert sorted(statements.values_list("partner_id", flat=True)) == sorted(p.pk for p in made)
    assert stored_files(tmp_path) == set(statements.values_list("file", flat=True))  # the losers' files deleted
    batch.refresh_from_db()
    assert batch.done_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_half_way_leaves_its_statements_and_the_rerun_makes_the_rest(tmp_path, monkeypatch):
    made = partners(6)
    monkeypatch.setattr(services, "_queue", lambda ids: None)
    run = services.start_run(APRIL)
    batch = run.batches.get()

    [(code, out, err)] = children(tmp_path, batch.pk, limits=[2])

    assert "Traceback" not in err, err
    first = dict(Statement.objects.values_list("partner_id", "checksum"))
    assert len(first) == 2
    batch.refresh_from_db()
    assert batch.done_at is None and StatementBatch.objects.filter(run=run, done_at__isnull=True).count() == 1

    result = services.make_batch(batch.pk)  # the task's message, redelivered to another worker

    assert (result.made, result.existing) == (4, 2)
    statements = Statement.objects.filter(month=APRIL)
    assert sorted(statements.values_list("partner_id", flat=True)) == sorted(p.pk for p in made)
    assert {k: v for k, v in statements.values_list("partner_id", "checksum") if k in first} == first
    run.refresh_from_db()
    assert run.finished_at is not None


@pytest.mark.django_db(transaction=True)
def test_the_last_two_batches_finishing_at_once_mark_the_run_finished(monkeypatch):
    import threading

    from django.db import connection

    partners(2)
    monkeypatch.setattr(services, "_queue", lambda ids: None)
    run = services.start_run(APRIL, batch_size=1)
    batches = list(run.batches.values_list("pk", flat=True))
    both_made = threading.Barrier(2, timeout=60)
    make = services.make_statements

    def make_then_wait(*args, **kwargs):
        result = make(*args, **kwargs)
        both_made.wait()  # both workers reach the end of their batch together
        return result

    monkeypatch.setattr(services, "make_statements", make_then_wait)
    errors = []

    def worker(batch_id):
        try:
            services.make_batch(batch_id)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(b,)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert not errors
    run.refresh_from_db()
    assert run.finished_at is not None
    assert not StatementBatch.objects.filter(run=run, done_at__isnull=True).exists()
