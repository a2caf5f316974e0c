"""A partner's owner, in headless Chromium, browses the catalog, redeems a gift card and reads its code.

Screenshots of each page, phone-sized and desktop-sized, go to test-artifacts/ for people to look at.
"""

import os
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress

from tests.rewards_catalog.factories import CategoryFactory, GoodsFactory, ItemFactory, company, gift_card, tier

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory's
CODE = "BOOK-7731-QX42-9905"
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}


def shoot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"catalog-{name}.png"), full_page=True)


def test_an_owner_browses_redeems_a_gift_card_and_sees_its_code(browser, live_server):
    owner = company(2_500, name="Northwind Traders")
    EmailAddress.objects.create(user=owner.user, email=owner.user.email, verified=True, primary=True)
    vouchers = CategoryFactory(name="Vouchers", slug="vouchers")
    gift_card([CODE], cost_points=1_000, title="Bookshop voucher 50 €", category=vouchers)
    ItemFactory(title="Factory tour for two", cost_points=4_000, description="A day with the engineers.")
    ItemFactory(title="Pioneer preview kit", cost_points=800, tiers=[tier("Platinum")])  # for a higher tier
    GoodsFactory(title="Branded mug", cost_points=300, stock=0)

    page = browser.new_page(viewport=PHONE)
    page.goto(f"{live_server.url}/accounts/login/?next=/rewards/")
    page.get_by_label("Email").fill(owner.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()

    page.wait_for_url("**/rewards/")
    catalog = page.get_by_role("list", name="Catalog items")
    assert catalog.get_by_role("link", name="Bookshop voucher 50 €").is_visible()
    assert "1,500 more points needed" in catalog.inner_text()  # the factory tour
    assert "Sold out." in catalog.inner_text()  # the mug
    assert "Only for these tiers: Platinum." in catalog.inner_text()  # what a higher tier unlocks
    shoot(page, "browse-phone")
    page.set_viewport_size(DESKTOP)
    shoot(page, "browse-desktop")
    page.set_viewport_size(PHONE)

    page.get_by_role("link", name="Vouchers").click()
    assert "Factory tour" not in page.get_by_role("list", name="Catalog items").inner_text()
    page.get_by_role("link", name="Bookshop voucher 50 €").click()
    page.get_by_label("Quantity").fill("1")
    shoot(page, "item-phone")
    page.get_by_role("button", name="Redeem").click()

    page.wait_for_url("**/rewards/redemptions/*/")
    assert page.get_by_test_id("gift-code").inner_text() == CODE
    assert "Fulfilled" in page.inner_text("main")
    shoot(page, "code-phone")
    page.set_viewport_size(DESKTOP)
    shoot(page, "code-desktop")

    page.get_by_role("link", name="All our redemptions").click()
    assert "Bookshop voucher 50 €" in page.inner_text("main")
    assert CODE not in page.inner_text("main")  # only on the redemption's own page
    assert os.path.exists(ARTIFACTS / "catalog-code-phone.png")
