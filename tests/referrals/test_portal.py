"""Referrals in the portal: every person of a company sees its referral link and code ("Refer a business"
in the menu), may e-mail the link to an address (rate limited per person and per company: 429 after the
limit), and reads the status of each referral with the points it earned; only their own company's."""

import pytest
from django.urls import reverse

from accounts.models import Membership
from referrals import services
from referrals.models import Application
from tests.factories import MembershipFactory, UserFactory

from .helpers import apply, approved, referring_company

pytestmark = pytest.mark.django_db


@pytest.fixture
def company():
    return referring_company(name="Northwind Traders")


@pytest.fixture
def salesperson(company):
    return MembershipFactory(partner=company, role=Membership.Role.SALES).user


def test_every_person_of_the_company_finds_the_link_and_code_from_the_menu(client, company, salesperson):
    client.force_login(salesperson)
    dashboard = client.get(reverse("web:dashboard")).text
    assert f'href="{reverse("web:refer")}"' in dashboard and "Refer a business" in dashboard

    page = client.get(reverse("web:refer")).text

    code = services.referral_code_for(company).code
    assert code in page and services.referral_link(code) in page
    assert services.referral_code_for(company).code == code  # one code a company, kept


def test_the_link_is_emailed_in_the_senders_language_and_once_a_day_per_address(
    client, salesperson, mailoutbox, django_capture_on_commit_callbacks
):
    salesperson.language = "he"
    salesperson.save()
    client.force_login(salesperson)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("web:refer_send"), {"email": "Owner@Cafe-Aroma.example"})
        client.post(reverse("web:refer_send"), {"email": "owner@cafe-aroma.example"})

    assert response.status_code == 302
    (message,) = mailoutbox
    assert message.to == ["owner@cafe-aroma.example"]
    assert "Northwind Traders" in message.subject and "מזמין" in message.subject
    assert "/join/" in message.body


def test_a_bad_address_is_named_on_its_field(client, salesperson):
    client.force_login(salesperson)
    response = client.post(reverse("web:refer_send"), {"email": "not an address"})
    assert response.status_code == 400
    assert "Enter an e-mail address" in response.context["form"].errors["email"][0]


def test_after_the_persons_limit_sending_answers_429_with_when_to_try_again(client, salesperson, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "referral_link": "10/d/key,2/h/user"}
    client.force_login(salesperson)
    for n in range(2):
        assert client.post(reverse("web:refer_send"), {"email": f"a{n}@x.example"}).status_code == 302

    response = client.post(reverse("web:refer_send"), {"email": "a3@x.example"})

    assert response.status_code == 429 and "try again in 60 minutes" in response.text
    assert int(response["Retry-After"]) > 59 * 60


def test_the_companys_limit_holds_whoever_of_it_sends(client, company, salesperson, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "referral_link": "2/d/key,10/h/user"}
    colleague = MembershipFactory(partner=company, role=Membership.Role.PURCHASER).user
    client.force_login(salesperson)
    for n in range(2):
        assert client.post(reverse("web:refer_send"), {"email": f"a{n}@x.example"}).status_code == 302
    client.force_login(colleague)
    assert client.post(reverse("web:refer_send"), {"email": "b@x.example"}).status_code == 429
    other = MembershipFactory(partner=referring_company(name="Other Ltd", domain="other.example")).user
    client.force_login(other)
    assert client.post(reverse("web:refer_send"), {"email": "b@x.example"}).status_code == 302


def test_the_status_page_shows_each_referral_with_its_status_and_points(client, company, salesperson):
    apply(company, company_name="Waiting Cafe")
    qualified = approved(company, company_name="Qualified Cafe")
    Application.objects.filter(pk=qualified.pk).update(status="qualified", referrer_points=1_500)
    expired = approved(company, company_name="Expired Cafe")
    Application.objects.filter(pk=expired.pk).update(status="expired")
    rejected = apply(company, company_name="Rejected Cafe")
    services.reject_application(rejected, acting_user=company.account_manager, note="Outside our area")
    apply(referring_company(name="Someone Else", domain="else.example"), company_name="Not Ours Cafe")
    client.force_login(salesperson)

    page = client.get(reverse("web:referral_status")).text

    for name, status in (
        ("Waiting Cafe", "Applied"),
        ("Qualified Cafe", "Qualified"),
        ("Expired Cafe", "Expired"),
        ("Rejected Cafe", "Rejected"),
    ):
        row = page.split(name, 1)[1].split("</tr>", 1)[0]
        assert status in row, name
    assert "1,500" in page.split("Qualified Cafe", 1)[1].split("</tr>", 1)[0]
    assert "Referral points earned so far: 1,500." in page
    assert "Not Ours Cafe" not in page


def test_the_pages_in_hebrew_are_right_to_left_and_hebrew(client, company, salesperson):
    apply(company, company_name="Waiting Cafe")
    salesperson.language = "he"
    salesperson.save()
    client.force_login(salesperson)
    refer, status = (client.get(reverse(name)).text for name in ("web:refer", "web:referral_status"))
    assert 'dir="rtl"' in refer and "<h1>הפניית עסק</h1>" in refer
    assert 'dir="rtl"' in status and "<h1>ההפניות שלך</h1>" in status and "הוגשה" in status


def test_staff_and_strangers_have_no_referral_page(client):
    assert client.get(reverse("web:refer")).status_code == 302  # to sign in
    client.force_login(UserFactory())
    assert client.get(reverse("web:refer")).status_code == 403
