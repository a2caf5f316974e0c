"""A partner's purchaser, in headless Chromium with JavaScript off, on a phone-sized screen: the dashboard
suggests a quiz, they take it, pass, and see the points on the dashboard.

Screenshots go to test-artifacts/ for people to look at.
"""

from pathlib import Path

import pytest
from allauth.account.models import EmailAddress

from content.models import ContentSettings
from tests.content import pages
from tests.factories import MembershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory's
PHONE = {"width": 375, "height": 812}


def shoot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"learn-{name}.png"), full_page=True)


def fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_purchaser_takes_a_quiz_passes_and_sees_the_points_on_the_dashboard(browser, live_server):
    pages.site_root()
    ContentSettings.load()
    purchaser = MembershipFactory(role="purchaser", partner__name="Northwind Traders")
    EmailAddress.objects.create(user=purchaser.user, email=purchaser.user.email, verified=True, primary=True)
    pages.quiz(pages.article(title="The G20 grinder"), title="Grinder basics", points=50)

    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/?next=/")
    page.get_by_label("Email").fill(purchaser.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(f"{live_server.url}/")
    assert page.get_by_test_id("available").inner_text() == "0"

    page.get_by_role("link", name="Take the quiz “Grinder basics”: 50 points").click()
    page.wait_for_url("**/learn/*/")
    assert fits_the_screen(page)
    first = page.get_by_role("group", name="1. Which burrs does the G20 grinder use?")
    first.get_by_label("Conical burrs").check()
    second = page.get_by_role("group", name="2. What sets the grind size?")
    second.get_by_label("The dial").check()
    second.get_by_label("The collar").check()
    shoot(page, "quiz-phone")
    page.get_by_role("button", name="Send my answers").click()

    page.wait_for_url("**/learn/attempts/*/")
    result = page.get_by_test_id("result")
    assert "You passed." in result.inner_text() and "Your company earned 50 points." in result.inner_text()
    assert fits_the_screen(page)
    shoot(page, "result-phone")

    page.get_by_role("link", name="Back to Learn").click()
    assert "Passed" in page.get_by_role("list").filter(has_text="Grinder basics").first.inner_text()
    page.goto(f"{live_server.url}/")
    assert page.get_by_test_id("available").inner_text() == "50"
    assert "Passed the quiz “Grinder basics”" in page.inner_text("main")
    context.close()
