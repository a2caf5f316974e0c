"""The reward exactly once when the qualifying order and the payment arrive at the same moment, or the same
records twice at once: each batch in its own thread and connection to PostgreSQL, released together; each
commit queues its own check (the tasks run in process here, after their commit). check_ledger after.

These tests commit, so the database is emptied after each; tests/conftest.py puts the CMS groups back."""

import pytest
from django.core.management import call_command
from django.utils import timezone

from portal.earning import services as earning
from portal.ledger.models import Code, Transfer
from portal.signals import erp_records_recorded
from referrals import services
from referrals.models import Application
from tests.ledger.racing import race

from .helpers import approved, invoice_item, order_item, payment_item, record, referring_company

pytestmark = pytest.mark.django_db(transaction=True)


def sent(kind, item):
    return lambda: earning.record(kind, [item], source="test")


def reward_count():
    return Transfer.objects.filter(code__in=[Code.REFERRAL, Code.WELCOME]).count()


def test_order_and_payment_arriving_together_reward_once():
    application = approved(referring_company())
    newcomer = application.partner
    record("invoices", invoice_item(newcomer, "INV-1", "2450.00"))

    race(
        sent("orders", order_item(newcomer, "SO-1", "2450.00")),
        sent("payments", payment_item("PAY-1", "INV-1", "2450.00")),
    )

    assert Application.objects.get(pk=application.pk).status == "qualified"
    assert reward_count() == 2
    call_command("check_ledger")


def test_the_same_order_and_payment_sent_twice_at_once_reward_once():
    application = approved(referring_company())
    newcomer = application.partner
    record("invoices", invoice_item(newcomer, "INV-1", "2450.00"))
    order = order_item(newcomer, "SO-1", "2450.00", placed_at=timezone.now())
    payment = payment_item("PAY-1", "INV-1", "2450.00")

    race(sent("orders", order), sent("orders", order), sent("payments", payment), sent("payments", payment))

    assert Application.objects.get(pk=application.pk).status == "qualified"
    assert reward_count() == 2
    call_command("check_ledger")


@pytest.fixture
def nobody_listening():
    """The ERP's batches announced to nobody: as if every queued check had been lost."""
    from referrals import receivers

    erp_records_recorded.disconnect(dispatch_uid="referrals.qualification")
    yield
    erp_records_recorded.connect(receivers.on_erp_records_recorded, dispatch_uid="referrals.qualification")


def test_checks_racing_each_other_post_the_rewards_once(nobody_listening):
    application = approved(referring_company())
    newcomer = application.partner
    record("orders", order_item(newcomer, "SO-1", "2450.00"))
    record("invoices", invoice_item(newcomer, "INV-1", "2450.00"))
    record("payments", payment_item("PAY-1", "INV-1", "2450.00"))
    assert reward_count() == 0

    results = race(*(lambda: services.check_qualification(application.pk) for _ in range(6)))

    assert set(results) == {"qualified"}
    assert reward_count() == 2
    call_command("check_ledger")
