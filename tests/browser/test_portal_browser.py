"""A partner's owner, in headless Chromium on a phone-sized screen, uses the portal end to end.

Signs in through allauth's form, reads the balance, switches to Hebrew (right to left) and back through the
header's language switcher, invites a colleague with a role; the colleague opens the e-mailed link in a browser
of their own, chooses a password, joins and lands signed in, in the right company, with that role.

Screenshots of each step go to test-artifacts/ for people to look at.
"""

import re
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from django.core import mail

from accounts.models import Membership
from portal.ledger import services as ledger
from portal.ledger.models import Code
from tests.factories import MembershipFactory, PartnerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory's
COLLEAGUE = "dana.levi@northwind.example"
COLLEAGUE_PASSWORD = "a long and quiet harbour 42"
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}


def shoot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"portal-{name}.png"), full_page=True)


def switch_language(page, name_local: str) -> None:
    """On a phone the header's tools sit in the menu: open it and press the language's button."""
    page.get_by_text("Menu").or_(page.get_by_text("תפריט")).first.click()
    menu = page.locator(".nav-menu-panel")
    with page.expect_navigation():
        menu.get_by_role("button", name=name_local).click()


def an_owner_with_points(amount: int) -> Membership:
    owner = MembershipFactory(partner=PartnerFactory(name="Northwind Traders"), role=Membership.Role.OWNER)
    EmailAddress.objects.create(user=owner.user, email=owner.user.email, verified=True, primary=True)
    for key, points in (("SO-1001", amount - 250), ("SO-1002", 250)):
        ledger.post_transfer(
            ledger.earning(owner.partner_id, key=f"browser:{key}", amount=points, code=Code.ORDER, reason="Order")
        )
    return owner


def test_an_owner_reads_the_balance_in_hebrew_and_invites_a_colleague_who_joins(browser, live_server, settings):
    settings.PORTAL_BASE_URL = live_server.url  # the e-mailed link leads to this server
    owner = an_owner_with_points(1_250)
    mail.outbox.clear()

    # The owner signs in through allauth's form and sees the company's balance.
    owners = browser.new_context(viewport=PHONE)
    page = owners.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(owner.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(f"{live_server.url}/")
    assert page.get_by_test_id("available").inner_text() == "1,250"
    assert page.locator(".brand-company").inner_text() == "Northwind Traders"
    assert page.locator("html").get_attribute("dir") == "ltr"
    shoot(page, "dashboard-phone")

    # Hebrew, through the header's switcher: the same page, right to left, in Hebrew.
    switch_language(page, "עברית")
    html = page.locator("html")
    assert (html.get_attribute("lang"), html.get_attribute("dir")) == ("he", "rtl")
    assert page.url == f"{live_server.url}/"
    assert page.get_by_test_id("available").inner_text() == "1,250"
    assert "נקודות זמינות" in page.inner_text("main")  # "Available points"
    assert "Available points" not in page.inner_text("main")
    shoot(page, "dashboard-hebrew-phone")
    page.set_viewport_size(DESKTOP)
    shoot(page, "dashboard-hebrew-desktop")
    page.set_viewport_size(PHONE)

    switch_language(page, "English")
    assert (html.get_attribute("lang"), html.get_attribute("dir")) == ("en", "ltr")

    # The owner invites a colleague as a salesperson through the company's people page.
    page.get_by_text("Menu").click()
    page.locator(".nav-menu-panel").get_by_role("link", name="Company").click()
    page.wait_for_url("**/company/people/")
    page.get_by_label("E-mail address").fill(COLLEAGUE)
    page.get_by_label("Role", exact=True).select_option("sales")
    page.get_by_role("button", name="Send invitation").click()
    page.wait_for_url("**/company/people/")
    assert f"If {COLLEAGUE} can join your company, the invitation is on its way." in page.inner_text("main")
    invitations = page.locator("ul.invitations")
    assert COLLEAGUE in invitations.inner_text() and "Salesperson" in invitations.inner_text()
    shoot(page, "people-invited-phone")

    (message,) = [m for m in mail.outbox if COLLEAGUE in m.to]
    link = re.search(rf"{re.escape(live_server.url)}/invitations/[^\s/]+/", message.body).group(0)

    # The colleague, in a browser of their own, opens the link, chooses a password and joins.
    colleagues = browser.new_context(viewport=PHONE)
    theirs = colleagues.new_page()
    theirs.goto(link)
    assert "Join Northwind Traders" in theirs.locator("h1").inner_text()
    assert "Salesperson" in theirs.inner_text("main")
    theirs.get_by_label("First name").fill("Dana")
    theirs.get_by_label("Last name").fill("Levi")
    theirs.get_by_label("Password", exact=True).fill(COLLEAGUE_PASSWORD)
    theirs.get_by_label("Password (again)").fill(COLLEAGUE_PASSWORD)
    shoot(theirs, "join-phone")
    theirs.get_by_role("button", name="Join").click()

    theirs.wait_for_url(f"{live_server.url}/")
    assert "Welcome to Northwind Traders." in theirs.inner_text("main")
    assert "Signed in as Dana Levi (Salesperson)" in theirs.inner_text("main")
    assert theirs.locator(".brand-company").inner_text() == "Northwind Traders"
    assert theirs.get_by_test_id("available").inner_text() == "1,250"  # the company's points, not their own
    shoot(theirs, "colleague-dashboard-phone")
    theirs.get_by_text("Menu").click()
    their_menu = theirs.locator(".nav-menu-panel")
    assert COLLEAGUE in their_menu.inner_text()  # signed in as themselves
    assert their_menu.get_by_role("link", name="Company").count() == 0  # a salesperson does not manage people

    # The owner's people page now lists them, as a salesperson, and no invitation is waiting.
    page.reload()
    person = page.locator("li.person", has_text=COLLEAGUE)
    assert "Dana Levi" in person.inner_text()
    assert person.get_by_label(re.compile("^Role")).input_value() == "sales"
    assert "No invitation is waiting for an answer." in page.inner_text("main")
    shoot(page, "people-joined-phone")

    joined = Membership.objects.select_related("user").get(user__email=COLLEAGUE)
    assert (joined.partner_id, joined.role) == (owner.partner_id, Membership.Role.SALES)
    owners.close()
    colleagues.close()
