"""Run calls at the same moment, each in its own thread with its own connection to PostgreSQL.

Only for tests marked ``django_db(transaction=True)``: the threads' connections
see only what the test has committed.
"""

import threading
import time
from collections.abc import Callable

from django.db import connection


def race(*calls: Callable):
    """Release every call at once (after each thread has connected); return their results in order.

    An exception raised in any thread is raised here, so a deadlock or a crash
    fails the test rather than vanishing with its thread.
    """
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int, call: Callable) -> None:
        try:
            connection.ensure_connection()
            barrier.wait(timeout=30)
            results[index] = call()
        except BaseException as error:  # raised again in the test's own thread
            errors.append(error)
            barrier.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if any(thread.is_alive() for thread in threads):
        raise AssertionError("a racing thread did not finish within two minutes")
    if errors:
        raise errors[0]
    return results


def wait_until_a_backend_waits_for_a_lock() -> None:
    """Return once some connection to the test database waits for a lock (or fail after ten seconds)."""
    deadline = time.monotonic() + 10
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("no connection ever waited for a lock")
