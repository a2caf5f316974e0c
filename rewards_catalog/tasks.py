"""The catalog's background work: thin wrappers over services, each safe to run twice."""

from celery import shared_task
from django.core.cache import cache

from rewards_catalog import notifications

# Set while a run over the outbox is queued and has not started yet: more commits need no second one.
NOTICES_QUEUED = "rewards_catalog:redemption-notices-queued"
# A queued run that never starts (a lost message) stops holding back the next after this; the beat's sweep
# sends what it would have sent meanwhile.
NOTICES_QUEUED_FOR = 60


@shared_task
def send_redemption_notices(event_id: int) -> int:
    """E-mail the partner (and the account manager, when it waits for them) about one change of status."""
    return notifications.send_notices(event_id)


@shared_task
def send_pending_redemption_notices() -> int:
    """E-mail what the outbox holds: every change of status not notified yet (also the beat's sweep)."""
    cache.delete(NOTICES_QUEUED)  # before looking: whatever commits after the look queues the next run
    sent, more = notifications.send_pending_notices()
    if more:
        nudge_notices()
    return sent


def nudge_notices() -> None:
    """After a commit that added to the outbox: make sure a run over it is queued.

    A Celery message per redemption costs more CPU than the rest of the redemption; one queued run serves
    every commit until it starts, since it drops the flag before it reads the outbox. Call on commit.
    """
    if cache.add(NOTICES_QUEUED, True, timeout=NOTICES_QUEUED_FOR):
        send_pending_redemption_notices.delay()
