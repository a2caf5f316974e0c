"""Making statements: a run for a month, its batches, one partner's regeneration.

A statement is unique per partner and month (a constraint), so every way of making one is safe to repeat:

- a batch reads which of its partners have a statement of the month already and makes only the others; it
  gathers their figures in a constant number of queries, renders each PDF (outside any transaction: a render
  is the slow part) and stores them through the storage API, then inserts the chunk's rows with ``ON CONFLICT
  DO NOTHING``. A file whose row lost to another worker making the same statement at once is deleted again;
- a worker that dies half-way leaves the batch open (its Celery message is acknowledged late and goes to
  another worker) and the statements it made standing, so the rerun makes only the missing ones; a run
  started again for the same month does the same;
- the e-mails are queued in the outbox with the rows that announce them, one notice per statement version and
  person, so each person receives a statement once.

Account managers act within their portfolio (``partners_visible_to``), administrators on every partner.
"""

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from psycopg.types.json import Jsonb

from accounts.models import Partner, User
from accounts.queries import partners_visible_to
from portal.bulk import batch_cursor, insert_rows
from portal.notices.services import enqueue_many
from portal.statements.figures import Figures, StatementMonth, gather
from portal.statements.models import (
    Statement,
    StatementBatch,
    StatementBranding,
    StatementRun,
    StatementVersion,
    statement_storage,
)
from portal.statements.render import statement_pdf
from portal.tiers import rules
from portal.tiers.queries import programme_today

BATCH = 100  # partners per Celery task: 10,000 partners are 100 tasks that two workers share evenly
CHUNK = 20  # statements rendered between two inserts: how far a run's progress moves at a time
NOTICE_KIND = "statements.ready"


@dataclass(frozen=True)
class BatchResult:
    made: int
    existing: int


def last_month(today: date | None = None) -> date:
    """The first day of the month before the programme's today: the month the 1st's run reports."""
    return rules.add_months((today or programme_today()).replace(day=1), -1)


def month_has_ended(month: date) -> bool:
    return StatementMonth.of(month).end <= timezone.now()


def partners_of_run(month: date, by: User | None = None):
    """The partners a run for `month` makes statements for: active partners that existed by the month's end,
    within `by`'s portfolio (everyone for the schedule and for administrators)."""
    partners = Partner.objects.filter(status=Partner.Status.ACTIVE, created_at__lt=StatementMonth.of(month).end)
    if by is not None:
        partners = partners.filter(pk__in=partners_visible_to(by).values("pk"))
    return partners


def start_run(month: date, *, by: User | None = None, batch_size: int = BATCH, queue: bool = True) -> StatementRun:
    """Start a run of `month`'s statements; its batches are queued on Celery when the run commits (unless
    `queue` is false: the caller runs ``make_batch`` of each itself, as the demo does)."""
    month = month.replace(day=1)
    if not month_has_ended(month):
        raise ValidationError({"month": _("Statements are made for a month that has ended.")})
    if by is not None and not by.has_perm("statements.add_statementrun"):
        raise PermissionDenied
    ids = list(partners_of_run(month, by).order_by("pk").values_list("pk", flat=True))
    with transaction.atomic():
        run = StatementRun.objects.create(month=month, started_by=by, partners=len(ids), started_at=timezone.now())
        batches = StatementBatch.objects.bulk_create(
            [StatementBatch(run=run, partner_ids=ids[i : i + batch_size]) for i in range(0, len(ids), batch_size)]
        )
        if not batches:
            run.finished_at = timezone.now()
            run.save(update_fields=["finished_at"])
        if queue:
            _queue([b.pk for b in batches])
    return run


def resume_run(run: StatementRun) -> int:
    """Queue again the batches of a run that are not done (after its workers were lost); return how many."""
    open_ids = list(run.batches.filter(done_at__isnull=True).values_list("pk", flat=True))
    _queue(open_ids)
    return len(open_ids)


def _queue(batch_ids: list[int]) -> None:
    from portal.statements.tasks import make_batch  # the task wraps this module

    for batch_id in batch_ids:
        make_batch.delay_on_commit(batch_id)


def make_batch(batch_id: int) -> BatchResult:
    """Make the statements of one batch of a run that are missing; mark the batch done, the run when it is
    the last. Safe to run twice and beside another run of the same batch."""
    batch = StatementBatch.objects.select_related("run").get(pk=batch_id)
    if batch.done_at is not None:
        return BatchResult(batch.made, batch.existing)
    result = make_statements(batch.partner_ids, batch.run.month, run=batch.run)
    with transaction.atomic():
        # The run's row first: two batches finishing at once take turns, so the second sees the first done
        # (without it, each would see the other still open and neither would mark the run finished).
        StatementRun.objects.select_for_update().filter(pk=batch.run_id).first()
        if StatementBatch.objects.filter(pk=batch_id, done_at__isnull=True).update(
            done_at=timezone.now(), made=result.made, existing=result.existing
        ):
            StatementRun.objects.filter(pk=batch.run_id, finished_at__isnull=True).exclude(
                batches__done_at__isnull=True
            ).update(finished_at=timezone.now())
    return result


def make_statements(partner_ids: Sequence[int], month: date, *, run: StatementRun | None = None,
                    by: User | None = None, chunk: int | None = None) -> BatchResult:  # fmt: skip
    """Make the missing statements of `month` for these partners; return how many it made and how many
    existed already (a partner that is gone is neither)."""
    statement_month = StatementMonth.of(month)
    month = statement_month.first_day
    existing = set(
        Statement.objects.filter(month=month, partner_id__in=partner_ids).values_list("partner_id", flat=True)
    )
    missing = list(Partner.objects.filter(pk__in=partner_ids).exclude(pk__in=existing).order_by("pk"))
    branding = StatementBranding.load()
    chunk = chunk or CHUNK
    made = 0
    for start in range(0, len(missing), chunk):
        figures = gather(missing[start : start + chunk], statement_month)
        rendered = [_store(f, branding, version=1) for f in figures.values()]
        made += _insert(rendered, month, run=run, by=by)
    return BatchResult(made=made, existing=len(existing))


@dataclass
class _Rendered:
    partner: Partner
    name: str
    checksum: str
    size: int
    figures: dict


def _store(f: Figures, branding: StatementBranding, *, version: int) -> _Rendered:
    pdf = statement_pdf(f, branding=branding)
    name = f"{f.month.first_day:%Y-%m}/{f.partner.pk}-v{version}-{uuid.uuid4().hex[:12]}.pdf"
    name = statement_storage().save(name, ContentFile(pdf))
    return _Rendered(f.partner, name, hashlib.sha256(pdf).hexdigest(), len(pdf), f.as_json())


_COLUMNS = [
    ("partner_id", "bigint"), ("month", "date"), ("language", "text"), ("file", "text"), ("checksum", "text"),
    ("size", "integer"), ("figures", "jsonb"), ("version", "integer"), ("made_at", "timestamptz"),
    ("made_by_id", "bigint"), ("run_id", "bigint"),
]  # fmt: skip


def _insert(rendered: list[_Rendered], month: date, *, run: StatementRun | None, by: User | None) -> int:
    """Insert a chunk's statements; delete the files of those another worker made meanwhile; queue the
    e-mails of the inserted ones."""
    now, by_id, run_id = timezone.now(), by.pk if by else None, run.pk if run else None
    rows = [
        (r.partner.pk, month, r.partner.language, r.name, r.checksum, r.size, Jsonb(r.figures), 1, now, by_id, run_id)
        for r in rendered
    ]
    with transaction.atomic(), batch_cursor() as cursor:
        inserted = dict(
            insert_rows(cursor, "statements_statement", _COLUMNS, rows,
                        on_conflict="(partner_id, month) DO NOTHING", returning="partner_id, id")
        )  # fmt: skip
        _announce(inserted, version=1)
    for r in rendered:
        if r.partner.pk not in inserted:
            statement_storage().delete(r.name)
    return len(inserted)


def _announce(by_partner: dict[int, int], *, version: int) -> None:
    """Queue one e-mail per statement and person who wants statements by e-mail (partner id -> statement id)."""
    if not by_partner:
        return
    people = User.objects.filter(
        is_active=True, email_statements=True, membership__partner_id__in=list(by_partner)
    ).values_list("pk", "membership__partner_id")
    enqueue_many(
        NOTICE_KIND,
        [
            (
                f"statement:{by_partner[partner_id]}:v{version}:{user_id}",
                {"statement": by_partner[partner_id], "version": version, "user": user_id},
            )
            for user_id, partner_id in people
        ],
    )


def regenerate(statement: Statement, *, by: User, resend: bool = False) -> Statement:
    """Make a partner's statement of a month again from the ledger as it is now; the old file is kept as a
    version, and the partner downloads the new one. With `resend` its people are e-mailed the new one."""
    in_portfolio = partners_visible_to(by).filter(pk=statement.partner_id).exists()
    if not (by.has_perm("statements.change_statement") and in_portfolio):
        raise PermissionDenied
    partner = statement.partner
    month = StatementMonth.of(statement.month)
    f = gather([partner], month)[partner.pk]
    with transaction.atomic():
        current = Statement.objects.select_for_update().get(pk=statement.pk)
        rendered = _store(f, StatementBranding.load(), version=current.version + 1)
        StatementVersion.objects.create(
            statement=current, version=current.version, file=current.file.name, checksum=current.checksum,
            size=current.size, figures=current.figures, language=current.language, made_at=current.made_at,
            made_by=current.made_by, replaced_by=by,
        )  # fmt: skip
        current.file.name = rendered.name
        current.checksum, current.size, current.figures = rendered.checksum, rendered.size, rendered.figures
        current.language, current.version = partner.language, current.version + 1
        current.made_at, current.made_by = timezone.now(), by
        current.save()
        if resend:
            _announce({partner.pk: current.pk}, version=current.version)
    return current
