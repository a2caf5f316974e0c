"""Referrals in the background: the qualification check after the ERP's records commit, and beat's sweep.
Thin wrappers over ``services``; each safe to run twice, late or concurrently."""

from celery import shared_task

from referrals import services


@shared_task
def check_newcomers(partner_ids: list[int]) -> dict:
    """Check the approved referrals of these partners (whose orders, invoices or payments just arrived)."""
    return {str(pk): services.check_qualification(pk) for pk in services.waiting_applications(partner_ids)}


@shared_task
def sweep() -> int:
    """Check every approved referral: what a lost task missed, and windows that have ended (expiry)."""
    waiting = services.waiting_applications()
    for pk in waiting:
        services.check_qualification(pk)
    return len(waiting)
