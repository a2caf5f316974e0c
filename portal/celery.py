"""The Celery app. Tasks live in each app's tasks.py and are thin wrappers over services.

Tasks are queued with ``delay_on_commit`` so a worker never sees a row that
was rolled back, acknowledged late so a worker that dies mid-task hands it to
another, and therefore every task must be safe to run twice.
"""

import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _settle_worker(**_kwargs):
    from portal.process import settle

    settle()
