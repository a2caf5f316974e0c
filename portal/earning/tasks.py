"""The earning app's background work: thin wrappers over services, each safe to run twice."""

from celery import shared_task

from portal.earning import csv_import, services
from portal.earning.models import ImportJob


@shared_task
def check_import_task(job_id: int) -> None:
    """The dry run of an uploaded CSV file; a job cancelled meanwhile is simply gone."""
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is not None:
        csv_import.check_import(job)


@shared_task
def run_import_task(job_id: int) -> None:
    """Import a confirmed CSV file; a second run resumes after the last batch the first committed."""
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is not None:
        csv_import.run_import(job)


@shared_task
def release_order_points_task() -> int:
    """Make available the points of orders whose return window has ended (hourly); keyed, so safe twice."""
    return services.release_order_points()
