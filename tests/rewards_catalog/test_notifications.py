"""E-mails about redemptions: the company at each change, the manager when something waits; each in its
recipient's language; sent after commit, once."""

import pytest
from django.urls import reverse

from accounts.models import Membership
from portal.notices import tasks
from rewards_catalog import services
from rewards_catalog.models import RedemptionEvent
from rewards_catalog.notifications import send_notices
from tests.factories import AccountManagerFactory
from tests.ledger.racing import race
from tests.rewards_catalog.factories import GoodsFactory, colleague, company

pytestmark = pytest.mark.django_db


@pytest.fixture
def purchaser():
    owner = company(2_000)
    owner.partner.account_manager = AccountManagerFactory(email="dana@vendor.example")
    owner.partner.save()
    return colleague(owner, role=Membership.Role.PURCHASER)


def recipients(mailoutbox):
    return sorted(address for mail in mailoutbox for address in mail.to)


def test_a_waiting_redemption_tells_the_company_and_its_manager(
    purchaser, mailoutbox, django_capture_on_commit_callbacks
):
    owner = purchaser.partner.memberships.get(role=Membership.Role.OWNER).user
    viewer = colleague(purchaser, role=Membership.Role.VIEWER).user
    with django_capture_on_commit_callbacks(execute=True):
        redemption = services.redeem(GoodsFactory(title="Mug"), member=purchaser, quantity=2, shipping_address="A 1")

    assert recipients(mailoutbox) == sorted([purchaser.user.email, owner.email, "dana@vendor.example"])
    assert viewer.email not in recipients(mailoutbox)
    to_manager = next(mail for mail in mailoutbox if mail.to == ["dana@vendor.example"])
    assert f"Redemption #{redemption.pk} of {purchaser.partner.name} awaits your approval" == to_manager.subject
    assert reverse("redemption:inspect", args=[redemption.pk]) in to_manager.body and "A 1" in to_manager.body
    to_company = next(mail for mail in mailoutbox if mail.to == [purchaser.user.email])
    assert to_company.subject == f"Your redemption #{redemption.pk}: Awaiting approval"
    assert (
        "2 × Mug" in to_company.body and reverse("rewards_catalog:redemption", args=[redemption.pk]) in to_company.body
    )


def test_a_decision_tells_the_company_only(purchaser, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # the redemption's own e-mails go out, and aside
        redemption = services.redeem(GoodsFactory(), member=purchaser, quantity=1, shipping_address="A 1")
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.reject(redemption, acting_user=purchaser.partner.account_manager, reason="Discontinued")
    assert "dana@vendor.example" not in recipients(mailoutbox) and len(mailoutbox) == 2
    assert all(mail.subject.endswith(": Rejected") for mail in mailoutbox)
    assert all("Discontinued" in mail.body and "back in your company's balance" in mail.body for mail in mailoutbox)


def test_each_recipient_reads_it_in_their_own_language(purchaser, mailoutbox, django_capture_on_commit_callbacks):
    purchaser.user.language = "he"
    purchaser.user.save(update_fields=["language"])
    item = GoodsFactory(title="Thermal mug", title_he="ספל תרמי")
    with django_capture_on_commit_callbacks(execute=True):
        services.redeem(item, member=purchaser, quantity=1, shipping_address="A 1")
    hebrew = next(mail for mail in mailoutbox if mail.to == [purchaser.user.email])
    english = next(mail for mail in mailoutbox if mail.to != [purchaser.user.email] and "vendor" not in mail.to[0])
    assert "ספל תרמי" in hebrew.body and "Thermal mug" not in hebrew.body
    assert hebrew.subject.startswith("המימוש שלך #") and "ממתין לאישור" in hebrew.subject
    assert "Thermal mug" in english.body


def test_the_notice_task_sends_once_however_often_it_runs(purchaser, mailoutbox):
    services.redeem(GoodsFactory(), member=purchaser, quantity=1, shipping_address="A 1")  # on_commit never runs here
    event = RedemptionEvent.objects.get()
    assert send_notices(event.pk) == 3
    assert send_notices(event.pk) == 0
    assert len(mailoutbox) == 3


def test_nothing_is_sent_for_a_redemption_that_was_refused(purchaser, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(services.NotEnoughPoints):
        services.redeem(GoodsFactory(cost_points=5_000), member=purchaser, quantity=1, shipping_address="A 1")
    assert mailoutbox == []


@pytest.fixture
def queued_runs(monkeypatch):
    """The delivery runs that redemptions queue, recorded instead of sent to Celery."""
    queued = []
    monkeypatch.setattr(tasks.deliver_notices, "delay", lambda: queued.append("run"))
    return queued


def test_the_outbox_sends_each_waiting_notice_once_however_often_it_runs(purchaser, mailoutbox):
    for address in ("A 1", "A 2"):  # on_commit never runs here: both wait in the outbox
        services.redeem(GoodsFactory(), member=purchaser, quantity=1, shipping_address=address)

    assert tasks.deliver_notices() == 6
    assert tasks.deliver_notices() == 0
    assert len(mailoutbox) == 6
    assert not RedemptionEvent.objects.filter(notified_at__isnull=True).exists()


def test_redemptions_committed_while_a_run_is_queued_queue_no_other(
    purchaser, mailoutbox, queued_runs, django_capture_on_commit_callbacks
):
    for address in ("A 1", "A 2", "A 3"):
        with django_capture_on_commit_callbacks(execute=True):
            services.redeem(GoodsFactory(), member=purchaser, quantity=1, shipping_address=address)
    assert queued_runs == ["run"] and mailoutbox == []

    tasks.deliver_notices()  # the queued run, on a worker: it sends all three
    assert len(mailoutbox) == 9

    with django_capture_on_commit_callbacks(execute=True):  # committed after that run began: it queues the next
        services.redeem(GoodsFactory(), member=purchaser, quantity=1, shipping_address="A 4")
    assert queued_runs == ["run", "run"]


@pytest.mark.django_db(transaction=True)
def test_runs_over_the_outbox_at_the_same_time_send_each_notice_once(purchaser, mailoutbox, queued_runs):
    for address in ("A 1", "A 2", "A 3", "A 4"):
        services.redeem(GoodsFactory(), member=purchaser, quantity=1, shipping_address=address)

    sent = race(*[tasks.deliver_notices] * 3)

    pairs = [(mail.to[0], mail.subject) for mail in mailoutbox]
    assert sum(sent) == 12 and len(pairs) == len(set(pairs)) == 12  # three e-mails each for four redemptions
