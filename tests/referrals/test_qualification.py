"""Qualification: the newcomer's first order of at least the minimum within the window, and its first invoice
paid; then the referrer earns the referral points and the newcomer the welcome bonus, each once, whatever
the order the ERP sends things in and however often. Sent through the ERP's own service, which announces
its batches (portal.signals) and so queues the check after commit."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from portal.ledger.models import Code, Transfer
from portal.ledger.queries import balance_of
from referrals import services, tasks
from referrals.models import Application

from .helpers import approved, invoice_item, order_item, payment_item, record, referring_company

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def programme(settings):
    settings.REFERRAL_MIN_ORDER_VALUE = "1000.00"
    settings.REFERRAL_WINDOW_DAYS = 90
    settings.REFERRAL_POINTS = 1_500
    settings.REFERRAL_WELCOME_POINTS = 500


def rewards(application):
    return {
        (t.code, t.credit_account.partner_id): t.amount
        for t in Transfer.objects.filter(
            code__in=[Code.REFERRAL, Code.WELCOME], ref_id=str(application.pk)
        ).select_related("credit_account")
    }


def first_business(newcomer, *, amount="2450.00", order="SO-1", invoice="INV-1"):
    """The newcomer's order, its invoice and the payment, as the ERP sends them (again: the same items)."""
    placed_at = timezone.now().replace(hour=9, minute=0, second=0, microsecond=0)
    record("orders", order_item(newcomer, order, amount, placed_at=placed_at))
    record("invoices", invoice_item(newcomer, invoice, amount))
    record("payments", payment_item(f"PAY-{invoice}", invoice, amount))


def test_the_first_order_paid_rewards_both_companies_once(django_capture_on_commit_callbacks):
    referrer = referring_company()
    application = approved(referrer)
    newcomer = application.partner

    with django_capture_on_commit_callbacks(execute=True):
        first_business(newcomer)
    application.refresh_from_db()

    assert application.status == "qualified" and application.qualifying_order == "SO-1"
    assert rewards(application) == {(Code.REFERRAL, referrer.pk): 1_500, (Code.WELCOME, newcomer.pk): 500}
    assert (application.referrer_points, application.welcome_points) == (1_500, 500)
    entry = Transfer.objects.get(code=Code.REFERRAL)
    assert entry.details["about"] == {"kind": "referral", "referred": newcomer.name}

    with django_capture_on_commit_callbacks(execute=True):
        first_business(newcomer)  # the ERP sends it all again
        first_business(newcomer, order="SO-2", invoice="INV-2")  # and more business follows
    tasks.sweep()
    assert rewards(application) == {(Code.REFERRAL, referrer.pk): 1_500, (Code.WELCOME, newcomer.pk): 500}
    call_command("check_ledger")


def test_payment_before_order_qualifies_when_the_order_arrives(django_capture_on_commit_callbacks):
    referrer = referring_company()
    application = approved(referrer)
    newcomer = application.partner
    with django_capture_on_commit_callbacks(execute=True):
        record("invoices", invoice_item(newcomer, "INV-1", "2450.00"))
        record("payments", payment_item("PAY-1", "INV-1", "2450.00"))
    assert Application.objects.get(pk=application.pk).status == "approved"

    with django_capture_on_commit_callbacks(execute=True):
        record("orders", order_item(newcomer, "SO-1", "2450.00"))

    assert Application.objects.get(pk=application.pk).status == "qualified"
    assert len(rewards(application)) == 2


def test_an_unpaid_first_invoice_keeps_it_waiting(django_capture_on_commit_callbacks):
    application = approved(referring_company())
    newcomer = application.partner
    with django_capture_on_commit_callbacks(execute=True):
        record("orders", order_item(newcomer, "SO-1", "2450.00"))
        record("invoices", invoice_item(newcomer, "INV-1", "2450.00"))
        record("payments", payment_item("PAY-1", "INV-1", "1000.00"))  # a part only

    assert Application.objects.get(pk=application.pk).status == "approved"
    assert rewards(application) == {}


def test_an_order_under_the_minimum_earns_no_reward(django_capture_on_commit_callbacks):
    application = approved(referring_company())
    with django_capture_on_commit_callbacks(execute=True):
        first_business(application.partner, amount="999.99")

    assert Application.objects.get(pk=application.pk).status == "approved"
    assert rewards(application) == {}


def test_an_order_after_the_window_earns_no_reward_and_the_referral_expires(django_capture_on_commit_callbacks):
    application = approved(referring_company(), at=timezone.now() - timedelta(days=120))
    with django_capture_on_commit_callbacks(execute=True):
        first_business(application.partner)  # placed today: 120 days after the approval

    assert rewards(application) == {}
    assert Application.objects.get(pk=application.pk).status == "expired"
    assert balance_of(application.referrer).available == 0


def test_the_sweep_expires_a_referral_whose_window_ended_and_keeps_a_younger_one_waiting():
    referrer = referring_company()
    old = approved(referrer, at=timezone.now() - timedelta(days=91))
    young = approved(referrer, at=timezone.now() - timedelta(days=89))

    assert tasks.sweep() == 2

    assert Application.objects.get(pk=old.pk).status == "expired"
    assert Application.objects.get(pk=young.pk).status == "approved"


def test_a_self_referral_approved_over_its_signal_gives_the_referrer_nothing(django_capture_on_commit_callbacks):
    referrer = referring_company(domain="northwind.example")
    application = approved(referrer, email="branch@northwind.example", note="A franchise of its own.")
    newcomer = application.partner

    with django_capture_on_commit_callbacks(execute=True):
        first_business(newcomer)
    application.refresh_from_db()

    assert application.status == "qualified"
    assert rewards(application) == {(Code.WELCOME, newcomer.pk): 500}
    assert application.referrer_points == 0
    assert balance_of(referrer).available == 0


def test_a_duplicate_company_never_becomes_a_partner_so_never_earns(django_capture_on_commit_callbacks):
    referrer = referring_company()
    first = approved(referrer)
    again = services.submit_application(
        services.ApplicationForm(
            company_name="Café Aroma again",
            registration_number=first.registration_number,
            contact_name="Noa",
            email="noa@other.example",
            phone="03-555-1234",
            kind="reseller",
            region="Center",
            language="en",
            code=services.referral_code_for(referrer).code,
        )
    )
    with pytest.raises(Exception):  # noqa: B017 - refused: the company is a partner already
        services.approve_application(again, acting_user=referrer.account_manager, note="Please")
    with django_capture_on_commit_callbacks(execute=True):
        first_business(first.partner)

    assert Transfer.objects.filter(code=Code.REFERRAL).count() == 1
    assert Application.objects.get(pk=again.pk).status == "applied"
