"""Delivering the outbox in the background: one task, queued after commits and run by beat as a sweep."""

from celery import shared_task
from django.core.cache import cache

from portal.notices import services

# Set while a delivery run is queued and has not started yet: more commits need no second one.
QUEUED = "notices:delivery-queued"
# A queued run that never starts (a lost message) stops holding back the next after this; the beat's sweep
# delivers what it would have delivered meanwhile.
QUEUED_FOR = 60


@shared_task
def deliver_notices() -> int:
    """Deliver what the outbox holds (also the beat's sweep for runs that were lost); safe to run twice."""
    cache.delete(QUEUED)  # before looking: whatever commits after the look queues the next run
    sent, more = services.deliver_pending()
    if more:
        nudge()
    return sent


def nudge() -> None:
    """After a commit that added to the outbox: make sure a delivery run is queued.

    A Celery message per notice costs more than a redemption's own work; one queued run serves every
    commit until it starts, since it drops the flag before it reads the outbox. Called on commit.
    """
    if cache.add(QUEUED, True, timeout=QUEUED_FOR):
        deliver_notices.delay()
