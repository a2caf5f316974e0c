"""Every fraud signal on a crafted application, each with its reason; a signal does not decide for the
manager, but an approval over one needs a note, and a company that is a partner already is refused."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import Invitation, Partner
from referrals import services
from referrals.models import Application
from referrals.queries import signals_of
from tests.factories import MembershipFactory, PartnerFactory, UserFactory

from .helpers import apply, company_number, referring_company

pytestmark = pytest.mark.django_db


def codes(application):
    return {signal.code: signal.reason for signal in signals_of(application)}


def test_a_clean_application_shows_no_signal():
    referrer = referring_company()
    assert codes(apply(referrer)) == {}


def test_the_referrers_own_registration_number_is_a_self_referral():
    referrer = referring_company()
    found = codes(apply(referrer, registration_number=referrer.registration_number))
    assert "self_referral_number" in found
    assert referrer.registration_number in found["self_referral_number"]
    assert "registered_partner" not in found  # the same fact, said once


def test_the_referrers_own_email_domain_is_a_self_referral():
    referrer = referring_company(domain="northwind.example")
    found = codes(apply(referrer, email="someone@Northwind.example"))
    assert set(found) == {"self_referral_domain"}
    assert "northwind.example" in found["self_referral_domain"]


def test_a_free_mail_domain_is_no_signal_even_when_partners_use_it(settings):
    referrer = referring_company(domain="gmail.com")
    MembershipFactory(user=UserFactory(email="dan@gmail.com"))
    assert codes(apply(referrer, email="cafe.aroma@gmail.com")) == {}


def test_a_registration_number_that_is_a_partner_already():
    referrer = referring_company()
    existing = PartnerFactory(name="Lakeside Office Park", registration_number=company_number())
    found = codes(apply(referrer, registration_number=existing.registration_number))
    assert set(found) == {"registered_partner"}
    assert "Lakeside Office Park" in found["registered_partner"]


def test_a_registration_number_that_applied_before():
    referrer = referring_company()
    number = company_number()
    apply(None, registration_number=number)
    found = codes(apply(referrer, registration_number=number))
    assert set(found) == {"applied_before"}
    assert "1 other application" in found["applied_before"]


def test_an_email_domain_another_partner_uses():
    referrer = referring_company()
    MembershipFactory(partner=PartnerFactory(name="Galil Coffee Carts"), user=UserFactory(email="a@galil.example"))
    found = codes(apply(referrer, email="new@galil.example"))
    assert set(found) == {"domain_in_use"}
    assert "Galil Coffee Carts" in found["domain_in_use"]


def test_more_than_the_limit_of_referrals_in_thirty_days(settings):
    settings.REFERRAL_SIGNAL_MAX_PER_30_DAYS = 2
    referrer = referring_company()
    old = apply(referrer)
    Application.objects.filter(pk=old.pk).update(created_at=timezone.now() - timezone.timedelta(days=31))
    second, third = apply(referrer), apply(referrer)
    assert "many_referrals" not in codes(second) and "many_referrals" not in codes(third)
    fourth = apply(referrer)
    assert "3 businesses" in codes(fourth)["many_referrals"]


def test_approving_over_a_signal_needs_a_note_and_then_goes_through():
    referrer = referring_company(domain="northwind.example")
    application = apply(referrer, email="branch@northwind.example")

    with pytest.raises(ValidationError) as refused:
        services.approve_application(application, acting_user=referrer.account_manager)
    assert refused.value.error_dict["note"][0].code == "note_required"
    assert Application.objects.get(pk=application.pk).status == "applied"

    approved = services.approve_application(
        application, acting_user=referrer.account_manager, note="A separate franchise; checked with both owners."
    )
    assert approved.status == "approved"
    assert approved.signals_at_decision[0]["code"] == "self_referral_domain"


@pytest.mark.parametrize("which", ["self_referral_number", "registered_partner"])
def test_a_company_that_is_a_partner_already_cannot_be_approved_even_with_a_note(which):
    referrer = referring_company()
    other = PartnerFactory(registration_number=company_number())
    number = referrer.registration_number if which == "self_referral_number" else other.registration_number
    application = apply(referrer, registration_number=number)

    with pytest.raises(ValidationError) as refused:
        services.approve_application(application, acting_user=referrer.account_manager, note="I insist.")

    assert refused.value.code == which
    assert Application.objects.get(pk=application.pk).status == "applied"
    assert Partner.objects.filter(registration_number=number).count() == 1
    assert not Invitation.objects.exists()
