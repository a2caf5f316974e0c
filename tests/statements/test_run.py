"""The monthly run: one statement per active partner and month, whatever is repeated or dies half-way, each
stored with its figures and checksum and e-mailed once, with the PDF, to the people who want it."""

import hashlib
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import Partner
from portal.notices.services import deliver_pending
from portal.statements import services
from portal.statements.models import Statement, StatementBatch, StatementRun
from tests.factories import MembershipFactory, PartnerFactory, StaffFactory
from tests.statements.conftest import earn, spend

pytestmark = pytest.mark.django_db
APRIL = date(2026, 4, 1)
TZ = ZoneInfo("Asia/Jerusalem")


@pytest.fixture(autouse=True)
def runs_commit(django_capture_on_commit_callbacks, monkeypatch):
    """A run queues its batches when it commits: here, as the test's transaction never commits, at once."""

    def start_run(*args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return start(*args, **kwargs)

    def resume_run(run):
        with django_capture_on_commit_callbacks(execute=True):
            return resume(run)

    start, resume = services.start_run, services.resume_run
    monkeypatch.setattr(services, "start_run", start_run)
    monkeypatch.setattr(services, "resume_run", resume_run)


def partners(n, **kwargs):
    made = [PartnerFactory(status=Partner.Status.ACTIVE, **kwargs) for _ in range(n)]
    Partner.objects.filter(pk__in=[p.pk for p in made]).update(created_at=datetime(2026, 1, 1, tzinfo=TZ))
    for i, p in enumerate(made):
        earn(p, f"o{p.pk}", 100 * (i + 1), "2026-04-10")
        spend(p, f"r{p.pk}", 10, "2026-04-20")
    return made


def test_a_run_makes_one_statement_per_active_partner_with_its_figures_and_checksum():
    active = partners(5)
    suspended = PartnerFactory(status=Partner.Status.SUSPENDED)
    late = PartnerFactory(status=Partner.Status.ACTIVE)  # joined after April: no April statement

    run = services.start_run(APRIL, batch_size=2)

    run.refresh_from_db()
    assert run.partners == 5 and run.finished_at is not None
    assert list(run.batches.values_list("made", flat=True)) == [2, 2, 1]
    statements = {s.partner_id: s for s in Statement.objects.filter(month=APRIL)}
    assert set(statements) == {p.pk for p in active}
    assert suspended.pk not in statements and late.pk not in statements
    for i, p in enumerate(active):
        s = statements[p.pk]
        body = s.file.read()
        assert body.startswith(b"%PDF") and hashlib.sha256(body).hexdigest() == s.checksum and s.size == len(body)
        assert s.figures["opening"] == 0 and s.figures["closing"] == 100 * (i + 1) - 10
        assert s.figures["earned"]["order"] == 100 * (i + 1) and s.figures["redeemed"] == 10
        assert s.language == p.language and s.run_id == run.pk and s.version == 1


def test_running_the_month_twice_makes_nothing_the_second_time():
    partners(3)
    services.start_run(APRIL)
    first = dict(Statement.objects.values_list("partner_id", "checksum"))

    again = services.start_run(APRIL)

    assert dict(Statement.objects.values_list("partner_id", "checksum")) == first
    batch = again.batches.get()
    assert (batch.made, batch.existing) == (0, 3)


def test_after_a_worker_died_half_way_the_rerun_makes_only_the_missing_statements(monkeypatch):
    made = partners(4)
    # The worker died after two statements of the run's only batch: they stand, the batch is open.
    queue = services._queue
    monkeypatch.setattr(services, "_queue", lambda ids: None)
    run = services.start_run(APRIL)
    services.make_statements([p.pk for p in made[:2]], APRIL, run=run, chunk=1)
    kept = dict(Statement.objects.values_list("partner_id", "checksum"))
    batch = run.batches.get()
    assert batch.done_at is None

    monkeypatch.setattr(services, "_queue", queue)
    assert services.resume_run(run) == 1

    batch.refresh_from_db()
    run.refresh_from_db()
    assert (batch.made, batch.existing) == (2, 2) and run.finished_at is not None
    assert Statement.objects.filter(month=APRIL).count() == 4
    assert {k: v for k, v in Statement.objects.values_list("partner_id", "checksum") if k in kept} == kept
    assert services.resume_run(run) == 0


def test_a_batch_done_twice_counts_once():
    partners(2)
    run = services.start_run(APRIL)
    batch = run.batches.get()

    services.make_batch(batch.pk)

    batch.refresh_from_db()
    assert (batch.made, batch.existing) == (2, 0)


def test_a_month_that_has_not_ended_has_no_statements():
    with pytest.raises(ValidationError):
        services.start_run(services.rules.first_of_next_month(services.programme_today()).replace(day=1))
    with pytest.raises(ValidationError):
        services.start_run(services.programme_today())


def test_the_monthly_run_reports_the_month_before(monkeypatch):
    monkeypatch.setattr(services, "programme_today", lambda: date(2026, 5, 1))
    assert services.last_month() == APRIL
    monkeypatch.setattr(services, "programme_today", lambda: date(2026, 1, 1))
    assert services.last_month() == date(2025, 12, 1)


def test_an_account_manager_runs_a_past_month_for_their_portfolio_only(django_user_model):
    from django.contrib.auth.models import Group

    manager = StaffFactory()
    manager.groups.add(Group.objects.get(name="Account managers"))
    mine = partners(2, account_manager=manager)
    theirs = partners(1)

    run = services.start_run(APRIL, by=manager)

    assert run.partners == 2 and run.started_by == manager
    assert set(Statement.objects.values_list("partner_id", flat=True)) == {p.pk for p in mine}
    assert not Statement.objects.filter(partner=theirs[0]).exists()
    with pytest.raises(PermissionDenied):
        services.start_run(APRIL, by=StaffFactory())  # staff in no group may not


def test_the_statement_is_emailed_once_with_its_pdf_to_the_people_who_want_it():
    [partner] = partners(1, language="he")
    wants = MembershipFactory(partner=partner, user__language="he").user
    MembershipFactory(partner=partner, user__email_statements=False)
    MembershipFactory(partner=partner, user__is_active=False)
    MembershipFactory(partner=PartnerFactory())  # another company's

    services.start_run(APRIL)
    deliver_pending()
    services.start_run(APRIL)
    deliver_pending()

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [wants.email]
    assert "אפריל 2026" in message.subject  # in the person's language
    [(name, body, kind)] = message.attachments
    statement = Statement.objects.get(partner=partner)
    assert (name, kind) == (statement.filename, "application/pdf")
    assert hashlib.sha256(body).hexdigest() == statement.checksum
    assert "יתרת סגירה" in message.body and "/statements/" in message.body


def test_each_person_reads_the_email_in_their_own_language():
    [partner] = partners(1, language="he")
    english = MembershipFactory(partner=partner, user__language="en").user

    services.start_run(APRIL)
    deliver_pending()

    [message] = mail.outbox
    assert message.to == [english.email] and message.subject == "Your points statement for April 2026"
    assert "Closing balance: 90 points." in message.body


def test_regenerating_keeps_the_old_file_and_the_partner_gets_the_new_one():
    from django.contrib.auth.models import Group

    manager = StaffFactory()
    manager.groups.add(Group.objects.get(name="Account managers"))
    [partner] = partners(1, account_manager=manager)
    services.start_run(APRIL)
    statement = Statement.objects.get(partner=partner)
    old_name, old_checksum = statement.file.name, statement.checksum
    earn(partner, "late", 333, "2026-04-29")  # an entry the first statement missed (back-dated)

    new = services.regenerate(statement, by=manager)

    assert new.version == 2 and new.figures["earned"]["order"] == 100 + 333 and new.made_by == manager
    [old] = new.versions.all()
    assert (old.version, old.file.name, old.checksum) == (1, old_name, old_checksum)
    assert old.file.storage.exists(old_name) and hashlib.sha256(old.file.read()).hexdigest() == old_checksum
    assert Statement.objects.filter(partner=partner).count() == 1
    with pytest.raises(PermissionDenied):
        services.regenerate(new, by=StaffFactory())
    assert StatementRun.objects.count() == 1 and StatementBatch.objects.count() == 1


def test_a_regenerated_statement_is_emailed_again_only_when_asked_and_says_it_is_corrected():
    from django.contrib.auth.models import Group

    manager = StaffFactory()
    manager.groups.add(Group.objects.get(name="Account managers"))
    [partner] = partners(1, account_manager=manager)
    MembershipFactory(partner=partner)
    services.start_run(APRIL)
    deliver_pending()
    statement = Statement.objects.get(partner=partner)

    statement = services.regenerate(statement, by=manager)
    deliver_pending()
    assert len(mail.outbox) == 1
    statement = services.regenerate(statement, by=manager, resend=True)
    deliver_pending()
    deliver_pending()

    assert len(mail.outbox) == 2
    corrected = mail.outbox[1]
    assert "corrected" in corrected.body
    assert hashlib.sha256(corrected.attachments[0][1]).hexdigest() == statement.checksum


def test_the_schedule_starts_last_months_run_on_the_first(monkeypatch, settings):
    from celery.schedules import crontab

    from portal.statements import tasks

    entry = settings.CELERY_BEAT_SCHEDULE["statements-monthly"]
    assert entry["task"] == "portal.statements.tasks.monthly_run"
    assert entry["schedule"] == crontab(day_of_month=1, hour=2, minute=0)  # after the tiers' review at 00:20
    partners(2)
    monkeypatch.setattr(services, "programme_today", lambda: date(2026, 5, 1))

    result = tasks.monthly_run()

    assert result["month"] == "2026-04-01" and result["partners"] == 2
    assert Statement.objects.filter(month=APRIL).count() == 2
