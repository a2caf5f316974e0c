"""The daily run (beat): tier review (monthly on the month's first run) and expiry, one task per batch.

Each batch task is safe to run twice, late, or beside another: see ``services``. The run itself only reads
the partners' ids and queues the batches, so a worker per core shares the work.
"""

from datetime import date

from celery import shared_task

from accounts.models import Partner
from portal.tiers import services
from portal.tiers.queries import programme_today

BATCH = 1_000


def batches_of_partners(size: int | None = None) -> list[list[int]]:
    """The active partners' ids in batches of `size` (BATCH), in id order."""
    size = size or BATCH
    ids = list(Partner.objects.filter(status=Partner.Status.ACTIVE).order_by("pk").values_list("pk", flat=True))
    return [ids[i : i + size] for i in range(0, len(ids), size)]


@shared_task
def daily_run(day: str | None = None) -> dict:
    """Queue the tier review and the expiry of every batch of partners for `day` (the programme's today)."""
    today = date.fromisoformat(day) if day else programme_today()
    batches = batches_of_partners()
    for ids in batches:
        review_batch.delay(ids, today.isoformat())
        expiry_batch.delay(ids, today.isoformat())
    return {"day": today.isoformat(), "batches": len(batches)}


@shared_task
def review_batch(partner_ids: list[int], day: str) -> dict:
    result = services.review_tiers(partner_ids, today=date.fromisoformat(day), monthly=True)
    return {"partners": result.partners, "changed": result.changed, "warned": result.warned}


@shared_task
def expiry_batch(partner_ids: list[int], day: str) -> dict:
    result = services.run_expiry(partner_ids, today=date.fromisoformat(day))
    return {"partners": result.partners, "expired_points": result.expired_points, "warned": result.warned}
