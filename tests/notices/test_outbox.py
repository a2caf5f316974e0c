"""The outbox (portal.notices): a notice is written with its change, delivered once after commit, tried
again when its sender fails and given up after a few attempts, and swept by beat when its run was lost.
The three senders of today (redemptions, invitations, adjustments) all go through it."""

import threading
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts import invitations
from accounts.models import Invitation, Membership
from portal.earning import adjustments
from portal.notices import services as notices
from portal.notices import tasks
from portal.notices.models import Notice
from rewards_catalog import notifications
from rewards_catalog import services as catalog
from rewards_catalog.models import RedemptionEvent
from tests.factories import AccountManagerFactory, MembershipFactory, PartnerFactory, ProgrammeAdministratorFactory
from tests.ledger.racing import race
from tests.rewards_catalog.factories import GoodsFactory, colleague, company

pytestmark = pytest.mark.django_db

KIND = "tests.greeting"


class Greetings:
    """A sender for the tests' own kind of notice: records whom it greeted; can be slow, or fail."""

    def __init__(self):
        self.greeted: list[str] = []
        self.failures_left = 0
        self.pause = 0.0
        self._lock = threading.Lock()

    def __call__(self, payload: dict) -> int:
        time.sleep(self.pause)
        with self._lock:
            if self.failures_left:
                self.failures_left -= 1
                raise ConnectionRefusedError("SMTP down")
            self.greeted.append(payload["whom"])
        return 1


@pytest.fixture
def greetings(monkeypatch):
    sender = Greetings()
    monkeypatch.setitem(notices._senders, KIND, sender)
    return sender


def greet(whom: str) -> None:
    notices.enqueue(KIND, key=f"{KIND}:{whom}", payload={"whom": whom})


@pytest.fixture
def lost_runs(monkeypatch):
    """The delivery runs that commits queue, lost on their way to a worker (recorded, never run)."""
    queued = []
    monkeypatch.setattr(tasks.deliver_notices, "delay", lambda: queued.append("run"))
    return queued


# --- the mechanism ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_notice_written_in_a_rolled_back_transaction_is_never_sent(greetings, lost_runs):
    with pytest.raises(RuntimeError), transaction.atomic():
        greet("ghost")
        raise RuntimeError("the change fails")
    assert lost_runs == []  # nothing committed, nothing queued
    assert notices.deliver_pending() == (0, False)
    assert greetings.greeted == [] and not Notice.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_notice_is_delivered_once_after_commit(greetings):
    with transaction.atomic():
        greet("ada")
        greet("ada")  # the same change told twice: one notice
        assert greetings.greeted == []  # not before commit
    assert greetings.greeted == ["ada"]
    notice = Notice.objects.get()
    assert notice.sent_at is not None and notice.attempts == 1 and notice.last_error == ""
    assert tasks.deliver_notices() == 0 and greetings.greeted == ["ada"]


def test_many_commits_while_a_run_is_queued_queue_no_other(greetings, lost_runs, django_capture_on_commit_callbacks):
    for whom in ("ada", "bob", "cy"):
        with django_capture_on_commit_callbacks(execute=True):
            greet(whom)
    assert lost_runs == ["run"]
    assert tasks.deliver_notices() == 3
    with django_capture_on_commit_callbacks(execute=True):  # committed after the run began: queues the next
        greet("dee")
    assert lost_runs == ["run", "run"]


def test_running_delivery_twice_sends_nothing_new(greetings):
    for whom in ("ada", "bob"):
        greet(whom)  # on_commit never runs in this test's transaction: both wait in the outbox
    assert notices.deliver_pending() == (2, False)
    assert notices.deliver_pending() == (0, False)
    assert sorted(greetings.greeted) == ["ada", "bob"]


def test_a_long_outbox_is_delivered_in_batches_each_queuing_the_next(greetings, lost_runs):
    for n in range(5):
        greet(f"p{n}")
    assert notices.deliver_pending(limit=2) == (2, True)
    assert len(greetings.greeted) == 2


@pytest.mark.django_db(transaction=True)
def test_overlapping_delivery_runs_send_each_notice_once(greetings, lost_runs):
    with transaction.atomic():
        for n in range(24):
            greet(f"p{n:02}")
    greetings.pause = 0.01  # each send takes a moment, so the runs really overlap

    sent = race(*[tasks.deliver_notices] * 4)

    assert sum(sent) == 24
    assert sorted(greetings.greeted) == [f"p{n:02}" for n in range(24)]  # each once
    assert set(Notice.objects.values_list("attempts", flat=True)) == {1}


def test_a_failing_send_is_retried_later_and_then_given_up_with_its_error_kept(greetings):
    greetings.failures_left = notices.MAX_ATTEMPTS
    greet("ada")
    now = timezone.now()
    for attempt in range(1, notices.MAX_ATTEMPTS + 1):
        assert notices.deliver_pending(now=now) == (0, False)
        notice = Notice.objects.get()
        assert notice.attempts == attempt and notice.last_error == "ConnectionRefusedError: SMTP down"
        assert notices.deliver_pending(now=now)[0] == 0 and Notice.objects.get().attempts == attempt  # not at once
        now += timedelta(hours=1)
    assert notice.given_up_at is not None and notice.sent_at is None
    assert notices.deliver_pending(now=now + timedelta(days=1)) == (0, False)
    assert Notice.objects.get().attempts == notices.MAX_ATTEMPTS and greetings.greeted == []


def test_a_send_that_failed_once_goes_out_on_its_retry(greetings):
    greetings.failures_left = 1
    greet("ada")
    assert notices.deliver_pending() == (0, False)
    assert notices.deliver_pending(now=timezone.now() + notices.FIRST_RETRY_AFTER) == (1, False)
    notice = Notice.objects.get()
    assert greetings.greeted == ["ada"] and notice.sent_at is not None and notice.attempts == 2


@pytest.mark.django_db(transaction=True)
def test_the_beats_sweep_sends_what_a_lost_run_left(greetings, lost_runs):
    with transaction.atomic():
        greet("ada")
    assert lost_runs == ["run"] and greetings.greeted == []  # its run never reached a worker

    [sweep] = [entry for entry in settings.CELERY_BEAT_SCHEDULE.values() if entry["task"].startswith("portal.notices")]
    assert sweep["task"] == tasks.deliver_notices.name and sweep["schedule"] <= 60
    assert tasks.deliver_notices() == 1
    assert greetings.greeted == ["ada"]


def test_a_notice_of_a_kind_this_process_cannot_send_waits_for_one_that_can(greetings):
    notices.enqueue("tests.from_a_newer_release", key="newer:1", payload={})
    greet("ada")
    assert notices.deliver_pending() == (1, False)
    assert Notice.objects.get(key="newer:1").attempts == 0


# --- the senders of today go through it -----------------------------------------------------------------


def test_a_redemption_and_its_decision_are_told_through_the_outbox(mailoutbox, django_capture_on_commit_callbacks):
    owner = company(2_000)
    owner.partner.account_manager = AccountManagerFactory(email="dana@vendor.example")
    owner.partner.save()
    purchaser = colleague(owner, role=Membership.Role.PURCHASER)
    with django_capture_on_commit_callbacks(execute=True):
        redemption = catalog.redeem(GoodsFactory(), member=purchaser, quantity=1, shipping_address="A 1")
        assert mailoutbox == []
    with django_capture_on_commit_callbacks(execute=True):
        catalog.reject(redemption, acting_user=owner.partner.account_manager, reason="Discontinued")

    events = list(RedemptionEvent.objects.order_by("pk").values_list("pk", flat=True))
    sent = Notice.objects.filter(kind=notifications.NOTICE_KIND, sent_at__isnull=False)
    assert sorted(sent.values_list("payload__event", flat=True)) == events and len(events) == 2
    assert len(mailoutbox) == 3 + 2  # company and manager, then the company
    assert not RedemptionEvent.objects.filter(notified_at__isnull=True).exists()


def test_an_event_announced_otherwise_sends_nothing_when_its_notice_is_delivered(mailoutbox):
    owner = company(2_000)
    catalog.redeem(GoodsFactory(), member=owner, quantity=1, shipping_address="A 1")
    RedemptionEvent.objects.update(notified_at=timezone.now())  # as the demo's past is
    assert notices.deliver_pending() == (0, False)
    assert mailoutbox == [] and Notice.objects.get().sent_at is not None


def test_an_invitation_is_mailed_through_the_outbox_and_keeps_mailed_at(
    mailoutbox, django_capture_on_commit_callbacks, monkeypatch
):
    partner = PartnerFactory()
    owner = MembershipFactory(partner=partner, role=Membership.Role.OWNER).user

    def broken(*args, **kwargs):
        raise ConnectionRefusedError("SMTP down")

    monkeypatch.setattr(invitations, "send_mail", broken)
    with django_capture_on_commit_callbacks(execute=True):
        invitation = invitations.invite(partner, email="new@example.com", role="viewer", acting_user=owner)
    notice = Notice.objects.get(kind=invitations.NOTICE_KIND)
    assert notice.sent_at is None and notice.attempts == 1 and "SMTP down" in notice.last_error
    assert Invitation.objects.get().mailed_at is None  # nothing left: the link is not shown as mailed

    monkeypatch.undo()
    assert notices.deliver_pending(now=timezone.now() + timedelta(hours=1)) == (1, False)
    [message] = mailoutbox
    assert invitations.invitation_from_token(message.body.split("/invitations/")[1].split("/")[0]) == invitation
    assert Invitation.objects.get().mailed_at is not None


def test_an_older_link_of_a_resent_invitation_is_never_mailed(mailoutbox, django_capture_on_commit_callbacks):
    partner = PartnerFactory()
    owner = MembershipFactory(partner=partner, role=Membership.Role.OWNER).user
    invitation = invitations.invite(partner, email="new@example.com", role="viewer", acting_user=owner)  # run lost
    Invitation.objects.filter(pk=invitation.pk).update(sent_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        invitation = invitations.resend_invitation(invitation, acting_user=owner)
    [message] = mailoutbox  # one mail, with the latest link
    assert invitations.invitation_token(invitation) in message.body
    assert Notice.objects.filter(kind=invitations.NOTICE_KIND, sent_at__isnull=False).count() == 2


def test_adjustments_are_told_through_the_outbox(settings, mailoutbox, django_capture_on_commit_callbacks):
    settings.ADJUSTMENT_APPROVAL_THRESHOLD_POINTS = 1_000
    manager = AccountManagerFactory(email="manager@vendor.example")
    partner = PartnerFactory(account_manager=manager)
    administrator = ProgrammeAdministratorFactory(email="admin@vendor.example")
    with django_capture_on_commit_callbacks(execute=True):
        adjustment = adjustments.request_adjustment(partner, points=5_000, reason="Fair", acting_user=manager)
        assert mailoutbox == []
    assert [mail.to for mail in mailoutbox] == [[administrator.email]]
    with django_capture_on_commit_callbacks(execute=True):
        adjustments.approve_adjustment(adjustment, acting_user=administrator)
    assert [mail.to for mail in mailoutbox][1:] == [[manager.email]]
    kinds = Notice.objects.filter(sent_at__isnull=False).order_by("pk").values_list("kind", flat=True)
    assert list(kinds) == [adjustments.WAITS, adjustments.DECIDED]
