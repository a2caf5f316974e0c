"""The monthly run (beat, on the 1st): one statement per active partner for the month before, one task per
batch of partners. Each task is safe to run twice or beside another: see ``services``."""

from datetime import date

from celery import shared_task

from portal.statements import services


@shared_task
def monthly_run(month: str | None = None) -> dict:
    """Start the run of `month` (the month before the programme's today unless told)."""
    run = services.start_run(date.fromisoformat(month) if month else services.last_month())
    return {"run": run.pk, "month": run.month.isoformat(), "partners": run.partners}


@shared_task
def make_batch(batch_id: int) -> dict:
    result = services.make_batch(batch_id)
    return {"batch": batch_id, "made": result.made, "existing": result.existing}
