"""The ledger's scheduled work: thin wrappers over its queries and services, each safe to run twice."""

import logging

from celery import shared_task

from portal.ledger.queries import discrepancies

logger = logging.getLogger(__name__)


class LedgerDisagrees(Exception):
    """The ledger broke one of its own invariants: a bug for a person to look at, not something to retry."""


@shared_task
def check_ledger_task() -> dict:
    """The nightly check (CELERY_BEAT_SCHEDULE): the invariants ``manage.py check_ledger`` checks.

    It only reads, so a second run (a redelivery after a lost worker) is harmless.
    A disagreement is logged as an error, one line per problem, and fails the
    task, so whatever watches the workers' logs and failed tasks raises the alarm.
    """
    problems = discrepancies()
    for problem in problems:
        logger.error("Ledger check: %s", problem)
    if problems:
        shown = "; ".join(problems[:10])
        raise LedgerDisagrees(f"The ledger disagrees with itself in {len(problems)} place(s): {shown}")
    logger.info("Ledger check: every invariant holds.")
    return {"problems": 0}
