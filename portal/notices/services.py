"""The outbox's use cases: register a sender, enqueue a notice with a change, deliver what waits.

Delivery locks each notice (``select_for_update(skip_locked=True)``) and sends it inside that lock, so any
number of overlapping runs (a queued run, the beat's sweep, a retried task) deliver it once: a run that
finds it locked moves on, and one that comes after finds it sent. A sender that raises rolls back its own
work (a savepoint); the notice is tried again later, at most ``MAX_ATTEMPTS`` times, and then kept, with
its error, for a person to look at.
"""

import logging
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

from portal.notices.models import Notice

logger = logging.getLogger(__name__)

# A sender delivers one notice from its payload and returns how many messages left (0 is fine: there was
# nobody to tell, or the change had been announced already). It raises to be tried again later.
Sender = Callable[[dict], int]

MAX_ATTEMPTS = 5
# The wait before the n-th retry: one minute, then two, four, eight (about a quarter of an hour in all).
FIRST_RETRY_AFTER = timedelta(minutes=1)
BATCH = 200

_senders: dict[str, Sender] = {}


def link(path: str) -> str:
    """An absolute link for a message (a path of the portal or the CMS on the site's address)."""
    return settings.WAGTAILADMIN_BASE_URL.rstrip("/") + path


def register(kind: str, sender: Sender) -> None:
    """Say who delivers notices of `kind` (from the source's ``AppConfig.ready()``); one sender a kind."""
    known = _senders.setdefault(kind, sender)
    if known is not sender:
        raise ImproperlyConfigured(f"Notices of kind {kind!r} already have a sender: {known!r}")


def enqueue(kind: str, *, key: str, payload: dict) -> None:
    """Write a notice in the current transaction; after commit make sure a delivery run is queued.

    A notice whose key exists already is left as it is: repeating a change's use case tells nobody twice.
    A rolled-back change takes its notice with it, and queues nothing.
    """
    enqueue_many(kind, [(key, payload)])


def enqueue_many(kind: str, notices: list[tuple[str, dict]]) -> None:
    """``enqueue`` for a batch of (key, payload): one statement however many, for the periodic runs."""
    if not notices:
        return
    # ON CONFLICT DO NOTHING: no savepoint, and two transactions writing the same key at once both pass.
    Notice.objects.bulk_create(
        [Notice(kind=kind, key=key, payload=payload) for key, payload in notices], ignore_conflicts=True
    )
    from portal.notices.tasks import nudge  # the task wraps this module

    transaction.on_commit(nudge)


def deliver_pending(*, limit: int = BATCH, now=None) -> tuple[int, bool]:
    """Deliver what waits, oldest first, at most `limit` notices; return the messages sent and whether
    more may be waiting. Notices of a kind this process has no sender for are left for one that has."""
    now = now or timezone.now()
    waiting = (
        Notice.objects.filter(
            sent_at__isnull=True, given_up_at__isnull=True, next_attempt_at__lte=now, kind__in=list(_senders)
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    notice_ids = list(waiting[:limit])
    return sum(deliver(notice_id, now=now) for notice_id in notice_ids), len(notice_ids) == limit


def deliver(notice_id: int, *, now=None) -> int:
    """Deliver one notice unless it is sent, given up, or being delivered by another run right now."""
    with transaction.atomic():
        notice = (
            Notice.objects.select_for_update(skip_locked=True)
            .filter(pk=notice_id, sent_at__isnull=True, given_up_at__isnull=True)
            .first()
        )
        if notice is None or notice.kind not in _senders:
            return 0
        notice.attempts += 1
        try:
            with transaction.atomic():
                sent = _senders[notice.kind](notice.payload)
        except Exception as error:
            _failed(notice, error, now=now or timezone.now())
            return 0
        notice.sent_at = timezone.now()
        notice.save(update_fields=["attempts", "sent_at"])
    return sent


def _failed(notice: Notice, error: Exception, *, now) -> None:
    # The error's type and text, not a traceback's locals: a sender's context may hold a gift-card code.
    notice.last_error = f"{type(error).__name__}: {error}"[:2000]
    if notice.attempts >= MAX_ATTEMPTS:
        notice.given_up_at = now
        logger.error(
            "Notice %s (%s) given up after %s attempts: %s", notice.key, notice.kind, notice.attempts, notice.last_error
        )
    else:
        notice.next_attempt_at = now + FIRST_RETRY_AFTER * 2 ** (notice.attempts - 1)
        logger.warning(
            "Notice %s (%s) failed, attempt %s: %s", notice.key, notice.kind, notice.attempts, notice.last_error
        )
    notice.save(update_fields=["attempts", "last_error", "given_up_at", "next_attempt_at"])
