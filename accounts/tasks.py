"""The accounts app's background work: thin wrappers over its use cases, each safe to run twice."""

from celery import shared_task

from accounts import invitations


@shared_task
def send_invitation_task(invitation_id: int) -> bool:
    """Mail an invitation's latest link; a second run finds it mailed and sends nothing."""
    return invitations.send_invitation_email(invitation_id)
