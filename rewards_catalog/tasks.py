"""The catalog's background work: thin wrappers over services, each safe to run twice."""

from celery import shared_task

from rewards_catalog import notifications


@shared_task
def send_redemption_notices(event_id: int) -> int:
    """E-mail the partner (and the account manager, when it waits for them) about one change of status."""
    return notifications.send_notices(event_id)
