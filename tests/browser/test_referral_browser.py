"""From a referral link to an approved partner whose first order, sent through the ERP's API, gives both
companies their points: in headless Chromium, the referrer's owner on a phone, the applicant in a browser of
their own, the account manager in the CMS (with their second factor), the ERP over HTTP.

Screenshots of each step go to test-artifacts/ for people to look at."""

import json
import re
import time
import urllib.request
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.core import mail
from django.utils import timezone

from accounts.models import Membership
from portal.earning.keys import create_api_key
from portal.ledger.models import Code, Transfer
from referrals.models import Application
from tests.referrals.helpers import company_number, referring_company

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory's
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # tests.factories.give_authenticator_app's
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}


def shoot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"referral-{name}.png"), full_page=True)


def sign_in(page, base: str, email: str, *, second_factor: bool = False) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    if second_factor:
        page.wait_for_url("**/2fa/authenticate/")
        code = format_hotp_value(hotp_value(SECRET, int(time.time()) // mfa_settings.TOTP_PERIOD))
        page.locator("input[name=code]").fill(code)
        page.get_by_role("button", name="Sign In").click()
        page.wait_for_url(lambda url: "/2fa/" not in url)
    page.wait_for_load_state()


def erp(base: str, key: str, kind: str, item: dict) -> dict:
    request = urllib.request.Request(
        f"{base}/api/v1/{kind}",
        data=json.dumps({"items": [item]}).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_a_referral_link_leads_to_an_approved_partner_whose_first_order_rewards_both(browser, live_server, settings):
    settings.PORTAL_BASE_URL = settings.WAGTAILADMIN_BASE_URL = live_server.url
    settings.REFERRAL_MIN_ORDER_VALUE, settings.REFERRAL_POINTS, settings.REFERRAL_WELCOME_POINTS = "1000", 1_500, 500
    base = live_server.url
    referrer = referring_company(name="Northwind Traders")
    owner = Membership.objects.select_related("user").get(partner=referrer).user
    EmailAddress.objects.create(user=owner, email=owner.email, verified=True, primary=True)
    manager = referrer.account_manager
    EmailAddress.objects.create(user=manager, email=manager.email, verified=True, primary=True)
    number = company_number()
    mail.outbox.clear()

    # The referrer's owner finds the company's link under "Refer a business".
    owners = browser.new_context(viewport=PHONE)
    page = owners.new_page()
    sign_in(page, base, owner.email)
    page.get_by_text("Menu").click()
    page.locator(".nav-menu-panel").get_by_role("link", name="Refer a business").click()
    page.wait_for_url("**/referrals/")
    link = page.get_by_test_id("referral-link").inner_text()
    assert link.startswith(f"{base}/join/")
    shoot(page, "refer-phone")

    # The business opens the link, without signing in, and applies; the first try has a wrong number.
    applicants = browser.new_context(viewport=PHONE)
    form = applicants.new_page()
    form.goto(link)
    assert "Northwind Traders invites your business to join" in form.inner_text("main")
    form.get_by_label("Company name").fill("Café Aroma Raanana")
    form.get_by_label("Company registration number").fill(number[:-1] + str((int(number[-1]) + 1) % 10))
    form.get_by_label("Your name").fill("Noa Peretz")
    form.get_by_label("E-mail address").fill("noa@cafe-aroma.example")
    form.get_by_label("Phone").fill("09-555-1234")
    form.get_by_label("Kind of business").select_option("point_of_sale")
    form.get_by_label("Region").fill("Sharon")
    form.get_by_role("button", name="Send the application").click()
    assert "check digit" in form.locator(".field.has-error").inner_text()
    shoot(form, "apply-error-phone")
    form.get_by_label("Company registration number").fill(number)
    form.get_by_role("button", name="Send the application").click()
    form.wait_for_url("**/join/thanks/")
    assert "your application has arrived" in form.locator("h1").inner_text()
    application = Application.objects.get()
    assert application.referrer == referrer

    # The account manager approves it from the CMS's queue.
    managers = browser.new_context(viewport=DESKTOP)
    cms = managers.new_page()
    sign_in(cms, base, manager.email, second_factor=True)
    cms.goto(f"{base}/cms/referrals/queue/")
    cms.get_by_role("link", name="Approve Café Aroma Raanana").click()
    cms.wait_for_url(re.compile(rf"/cms/referrals/approve/{application.pk}/"))
    assert cms.get_by_label("ERP id of the new partner").input_value() == f"REF-{number}"
    shoot(cms, "approve-desktop")
    cms.get_by_role("button", name="Approve: make it a partner and invite its owner").click()
    cms.wait_for_url(re.compile(r"/cms/referrals/(inspect/\d+/|queue/)"))
    application.refresh_from_db()
    newcomer = application.partner
    assert (application.status, newcomer.status, newcomer.account_manager) == ("approved", "active", manager)
    assert any("/invitations/" in m.body for m in mail.outbox if m.to == ["noa@cafe-aroma.example"])

    # The ERP sends the newcomer's first order, its invoice and the payment through the API.
    _, key = create_api_key(name="ERP")
    today = timezone.localdate()
    order = {"external_id": "SO-9001", "partner": newcomer.external_id, "placed_at": timezone.now().isoformat(),
             "currency": "USD", "lines": [{"line_no": 1, "sku": "MCH-PRO300", "category": "Machines",
                                            "quantity": 1, "net_amount": "2450.00"}]}  # fmt: skip
    invoice = {"external_id": "INV-9001", "partner": newcomer.external_id, "amount": "2450.00", "currency": "USD",
               "issued_on": today.isoformat(), "due_on": (today + timezone.timedelta(days=30)).isoformat()}  # fmt: skip
    payment = {"external_id": "PAY-9001", "invoice": "INV-9001", "amount": "2450.00", "paid_on": today.isoformat()}
    for kind, item in (("orders", order), ("invoices", invoice), ("payments", payment), ("orders", order)):
        assert erp(base, key, kind, item)["results"][0]["status"] in ("created", "duplicate")

    # Both companies have their points, once; the referrer sees it on the referral's status.
    rewards = Transfer.objects.filter(code__in=[Code.REFERRAL, Code.WELCOME])
    assert sorted((t.code, t.amount, t.credit_account.partner_id) for t in rewards) == [
        (Code.REFERRAL, 1_500, referrer.pk),
        (Code.WELCOME, 500, newcomer.pk),
    ]
    page.goto(f"{base}/referrals/status/")
    row = page.locator("tr", has_text="Café Aroma Raanana")
    assert "Qualified" in row.inner_text() and "1,500" in row.inner_text()
    shoot(page, "status-phone")
    page.goto(f"{base}/activity/")
    assert "Referral: Café Aroma Raanana placed its first order" in page.inner_text("main")
    for context in (owners, applicants, managers):
        context.close()
