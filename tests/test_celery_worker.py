"""Tasks run by a real Celery worker process over Redis, against the test database.

The worker listens on a queue of its own, so workers of other test runs sharing
the same Redis never take this test's tasks, nor this worker theirs.
"""

import subprocess
import sys
import uuid
from pathlib import Path

import environ
import pytest
from celery.result import AsyncResult, allow_join_result
from django.db import connection, transaction

from portal.celery import app as celery_app
from portal.ledger import services
from portal.ledger.models import Account, Code
from portal.ledger.tasks import LedgerDisagrees, check_ledger_task
from tests.child_process import database_url, portal_environment

ROOT = Path(__file__).resolve().parent.parent
RESULT_TIMEOUT_S = 60


@pytest.fixture
def worker_queue(redis_url, transactional_db, tmp_path, monkeypatch):
    """Start `celery -A portal worker` on a queue of its own; stop it (warm shutdown) afterwards."""
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)
    queue = f"test-{uuid.uuid4().hex}"
    env = portal_environment(REDIS_URL=redis_url, CELERY_TASK_ALWAYS_EAGER="0", LOG_LEVEL="INFO")
    log = tmp_path / "worker.log"
    command = [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=solo", "--loglevel=INFO"]
    command += ["-Q", queue, "-n", f"{queue}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat"]
    with log.open("wb") as output:
        worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        # Celery keeps "this process is inside a task" in one process-wide flag; eager tasks that other tests
        # ran from several threads at once (the race tests) can leave it set, and then waiting for a result
        # here would be refused. This test's process is no task: it may wait.
        with allow_join_result():
            yield queue
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        print(log.read_text(errors="replace")[-4000:])  # shown when the test fails


def test_a_worker_runs_the_ledger_check_against_committed_data(worker_queue, partner):
    task_id = str(uuid.uuid4())
    with transaction.atomic():
        services.post_transfer(
            services.earning(partner.id, key="order-1", amount=120, code=Code.ORDER, reason="Order SO-1")
        )
        # Sent only when this transaction commits: the worker never sees what might roll back.
        check_ledger_task.apply_async_on_commit(queue=worker_queue, task_id=task_id)

    assert AsyncResult(task_id, app=celery_app).get(timeout=RESULT_TIMEOUT_S) == {"problems": 0}

    # Going around the ledger: the worker, reading the same database, must notice.
    account = Account.objects.get(partner=partner)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE ledger_account SET credits_posted = credits_posted + 1 WHERE id = %s", [account.id])
    result = check_ledger_task.apply_async(queue=worker_queue)
    with pytest.raises(LedgerDisagrees, match=f"account {account.id} "):
        result.get(timeout=RESULT_TIMEOUT_S)


# As beat and a worker start: a fresh process, where only autodiscovery can register the tasks.
DISCOVERY = """
import django
django.setup()
from django.conf import settings
from portal.celery import app
app.loader.import_default_modules()
scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
print("missing:", sorted(scheduled - set(app.tasks)), "scheduled:", sorted(scheduled))
"""


def test_every_scheduled_task_is_discovered_from_the_apps():
    run = subprocess.run(
        [sys.executable, "-c", DISCOVERY], cwd=ROOT, env=portal_environment(), capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert "missing: [] scheduled: ['portal.ledger.tasks.check_ledger_task'" in run.stdout


@pytest.mark.parametrize(
    "settings_dict",
    [
        {"NAME": "test_portal_gw0", "USER": "postgres", "PASSWORD": "", "HOST": "/work/var/pgdata", "PORT": "5432"},
        {"NAME": "test_portal", "USER": "portal", "PASSWORD": "p@ss:/w", "HOST": "127.0.0.1", "PORT": "5433"},
        {"NAME": "test_portal", "USER": "postgres", "PASSWORD": "", "HOST": "db.internal", "PORT": ""},
    ],
)
def test_the_workers_database_url_names_the_test_database(settings_dict):
    parsed = environ.Env.db_url_config(database_url(settings_dict))
    for key in ("NAME", "USER", "PASSWORD", "HOST"):
        assert parsed[key] == settings_dict[key], key
    assert str(parsed["PORT"]) == settings_dict["PORT"]
    assert parsed["ENGINE"] == "django.db.backends.postgresql"
