"""The catalog in the portal: browsing, redeeming through the form, and one company never reaching another's.

The isolation test walks every URL of the catalog's resolver, so a page added later is covered too; a URL
that takes an id is tried with the other company's redemption ids and item ids.
"""

import re

import pytest
from django.urls import URLPattern, get_resolver, reverse
from django.utils.html import strip_tags

from accounts.models import Membership
from portal.ledger.queries import balance_of
from rewards_catalog import services
from rewards_catalog.models import Redemption
from tests.factories import audience
from tests.rewards_catalog.factories import (
    CategoryFactory,
    GoodsFactory,
    ItemFactory,
    colleague,
    company,
    gift_card,
    tier,
)

pytestmark = pytest.mark.django_db

Status = Redemption.Status


@pytest.fixture
def owner():
    return company(1_000)


def signed_in(client, membership):
    client.force_login(membership.user)
    return client


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def visible(response) -> str:
    """The page's text as a person reads it: tags removed, spaces folded."""
    return re.sub(r"\s+", " ", strip_tags(response.content.decode()))


# --- Browsing ---------------------------------------------------------------------------------------------


def test_the_catalog_shows_each_item_with_what_stands_between_the_company_and_it(client, owner):
    ItemFactory(title="Espresso machine", cost_points=400)
    ItemFactory(title="Trip to the factory", cost_points=1_500)
    ItemFactory(title="Pioneer preview", tiers=[tier("Platinum")], cost_points=50)
    ItemFactory(title="Hidden", is_active=False)
    ItemFactory(title="Pioneers' sample", audience=audience(tags=["Pioneers"]))
    ItemFactory(title="Golf day", stock=0)

    page = text(signed_in(client, owner).get(reverse("rewards_catalog:catalog")))

    assert "Espresso machine" in page and "You can redeem this now" in page
    assert "Trip to the factory" in page and "500 more points needed" in page
    assert "Golf day" in page and "Sold out." in page
    assert "Pioneer preview" in page and "Only for these tiers: Platinum." in page  # what a higher tier unlocks
    assert "Pioneers" not in page  # for other segments: not listed
    assert "Hidden" not in page
    assert "1,000" in page  # the balance


def test_within_reach_counts_points_on_their_way(client, owner):
    from portal.ledger import services as ledger
    from portal.ledger.models import Code

    ledger.post_transfer(
        ledger.earning(owner.partner.id, key="pending-order", amount=600, code=Code.ORDER, reason="Order", pending=True)
    )
    ItemFactory(title="Soon affordable", cost_points=1_500)
    ItemFactory(title="Far away", cost_points=9_000)

    page = text(signed_in(client, owner).get(reverse("rewards_catalog:catalog"), {"reach": "1"}))

    assert "Soon affordable" in page and "within reach soon" in page
    assert "Far away" not in page


def test_a_category_of_items_for_others_only_is_not_offered(client, owner):
    ItemFactory(title="Espresso beans", category=CategoryFactory(name="Coffee", slug="coffee"))
    golf = CategoryFactory(name="Golf", slug="golf")
    ItemFactory(title="Golf day", category=golf, audience=audience(kinds=["distributor"]))
    page = signed_in(client, owner).get(reverse("rewards_catalog:catalog")).content.decode()
    assert "?category=coffee" in page and "?category=golf" not in page

    owner.partner.kind = "distributor"
    owner.partner.save(update_fields=["kind"])
    page = client.get(reverse("rewards_catalog:catalog")).content.decode()
    assert "?category=golf" in page and "Golf day" in page


def test_search_and_categories_narrow_the_catalog(client, owner):
    coffee = CategoryFactory(name="Coffee", slug="coffee")
    ItemFactory(title="Espresso beans", category=coffee)
    ItemFactory(title="Golf day", description="A day out with the sales team")
    signed_in(client, owner)

    by_category = text(client.get(reverse("rewards_catalog:catalog"), {"category": "coffee"}))
    assert "Espresso beans" in by_category and "Golf day" not in by_category
    by_word = text(client.get(reverse("rewards_catalog:catalog"), {"q": "sales team"}))
    assert "Golf day" in by_word and "Espresso beans" not in by_word
    nothing = text(client.get(reverse("rewards_catalog:catalog"), {"q": "helicopter"}))
    assert "Nothing matches" in nothing


def test_the_catalog_speaks_hebrew_where_the_item_has_it(client, owner):
    ItemFactory(title="Coffee voucher", title_he="שובר קפה")
    ItemFactory(title="Golf day")  # no Hebrew title: the English one
    owner.user.language = "he"
    owner.user.save(update_fields=["language"])
    page = text(signed_in(client, owner).get(reverse("rewards_catalog:catalog")))
    assert 'dir="rtl"' in page and "<h1>הטבות</h1>" in page and "אפשר לממש עכשיו" in page
    assert "שובר קפה" in page and "Coffee voucher" not in page and "Golf day" in page


def test_the_catalog_lists_items_in_a_fixed_number_of_queries(client, owner, django_assert_max_num_queries):
    for n in range(12):
        for_some = audience(kinds=["reseller"], tags=[f"tag {n}", "vip"]) if n % 2 else None
        ItemFactory(
            limit_per_period=3, limit_period="month", category=CategoryFactory(slug=f"c{n % 3}"), audience=for_some
        )
    signed_in(client, owner)
    client.get(reverse("rewards_catalog:catalog"))
    with django_assert_max_num_queries(14):
        client.get(reverse("rewards_catalog:catalog"))


# --- Redeeming through the form ----------------------------------------------------------------------------


def form_key(response) -> str:
    return re.search(r'name="request_key" value="([^"]+)"', response.content.decode()).group(1)


def test_redeeming_a_gift_card_shows_the_code_to_the_company(client, owner):
    item = gift_card(["ZX81-SPECTRUM-4242"], cost_points=300, title="Bookshop voucher")
    signed_in(client, owner)
    key = form_key(client.get(reverse("rewards_catalog:item", args=[item.pk])))

    response = client.post(reverse("rewards_catalog:item", args=[item.pk]), {"quantity": 1, "request_key": key})

    redemption = Redemption.objects.get()
    assert response.status_code == 302 and response.url == reverse("rewards_catalog:redemption", args=[redemption.pk])
    page = text(client.get(response.url))
    assert "ZX81-SPECTRUM-4242" in page and "Fulfilled" in page
    # A colleague of the same company sees it too.
    signed_in(client, colleague(owner, role=Membership.Role.VIEWER))
    assert "ZX81-SPECTRUM-4242" in text(client.get(response.url))


def test_goods_need_an_address_and_the_form_says_so(client, owner):
    item = GoodsFactory(title="Branded jacket")
    signed_in(client, owner)
    key = form_key(client.get(reverse("rewards_catalog:item", args=[item.pk])))
    response = client.post(reverse("rewards_catalog:item", args=[item.pk]), {"quantity": 1, "request_key": key})
    assert response.status_code == 400 and "This field is required" in text(response)
    assert not Redemption.objects.exists()


def test_a_refusal_from_the_service_is_shown_on_the_form(client, owner):
    item = GoodsFactory(cost_points=400, stock=5)
    signed_in(client, owner)
    key = form_key(client.get(reverse("rewards_catalog:item", args=[item.pk])))
    response = client.post(
        reverse("rewards_catalog:item", args=[item.pk]),
        {"quantity": 3, "shipping_address": "Dock 4", "request_key": key},
    )
    assert response.status_code == 400
    assert "Not enough points: your company has 1,000 available and this needs 1,200." in text(response)


def test_the_form_sent_twice_redeems_once(client, owner):
    item = GoodsFactory(stock=5)
    signed_in(client, owner)
    key = form_key(client.get(reverse("rewards_catalog:item", args=[item.pk])))
    data = {"quantity": 1, "shipping_address": "Dock 4", "request_key": key}
    first = client.post(reverse("rewards_catalog:item", args=[item.pk]), data)
    second = client.post(reverse("rewards_catalog:item", args=[item.pk]), data)
    assert first.url == second.url and Redemption.objects.count() == 1


def test_a_salesperson_browses_but_cannot_redeem(client, owner):
    item = GoodsFactory()
    salesperson = colleague(owner, role=Membership.Role.SALES)
    signed_in(client, salesperson)
    page = text(client.get(reverse("rewards_catalog:item", args=[item.pk])))
    assert "owner or purchaser redeems" in page and 'name="quantity"' not in page
    response = client.post(
        reverse("rewards_catalog:item", args=[item.pk]),
        {"quantity": 1, "shipping_address": "Dock 4", "request_key": "8f3c2f0e-8d6c-4a4b-9d7e-1b2c3d4e5f60"},
    )
    assert "Your role in the company does not let you redeem rewards." in text(response)
    assert not Redemption.objects.exists() and balance_of(owner.partner).held == 0


def test_cancelling_from_the_portal_gives_the_points_back(client, owner):
    redemption = services.redeem(GoodsFactory(stock=2), member=owner, quantity=1, shipping_address="Dock 4")
    signed_in(client, owner)
    page = text(client.get(reverse("rewards_catalog:redemption", args=[redemption.pk])))
    assert "Cancel this redemption" in page
    client.post(reverse("rewards_catalog:cancel", args=[redemption.pk]), {"reason": "Wrong size"})
    redemption.refresh_from_db()
    assert redemption.status == Status.CANCELLED and balance_of(owner.partner).held == 0
    history = visible(client.get(reverse("rewards_catalog:redemption", args=[redemption.pk])))
    assert "Awaiting approval → Cancelled" in history and "Wrong size" in history


def test_the_redemptions_page_lists_the_companys_own(client, owner):
    services.redeem(ItemFactory(title="Coffee tasting"), member=owner, quantity=1)
    services.redeem(ItemFactory(title="Someone else's"), member=company(500), quantity=1)
    page = text(signed_in(client, owner).get(reverse("rewards_catalog:redemptions")))
    assert "Coffee tasting" in page and "Awaiting approval" in page and "Someone else" not in page


# --- One company never reaches another's ----------------------------------------------------------------------


def catalog_urls(**ids) -> list[str]:
    """Every URL of the catalog's resolver, its <int:pk> filled with each of `ids`."""
    resolver = get_resolver("rewards_catalog.urls")
    urls = []
    for pattern in resolver.url_patterns:
        assert isinstance(pattern, URLPattern)
        if "<int:pk>" in str(pattern.pattern):
            urls += [reverse(f"rewards_catalog:{pattern.name}", args=[pk]) for pk in ids.get(pattern.name, [])]
        else:
            urls.append(reverse(f"rewards_catalog:{pattern.name}"))
    return urls


def test_another_companys_redemptions_and_codes_are_404_on_every_url(client, owner):
    theirs = company(1_000)
    their_card = services.redeem(gift_card(["THEIR-SECRET-CODE-77"]), member=theirs, quantity=1)
    their_goods = services.redeem(GoodsFactory(), member=theirs, quantity=1, shipping_address="Their street 9")
    ids = [their_card.pk, their_goods.pk]
    signed_in(client, owner)

    for url in catalog_urls(redemption=ids, cancel=ids, item=[]):
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            body = text(response)
            assert "THEIR-SECRET-CODE-77" not in body and "Their street 9" not in body, url
            if str(their_card.pk) in url.split("/redemptions/")[-1]:
                assert response.status_code in (404, 405), (method, url, response.status_code)

    their_goods.refresh_from_db()
    assert their_goods.status == Status.AWAITING_APPROVAL


def test_staff_and_strangers_get_no_catalog(client):
    item = ItemFactory()
    for url in catalog_urls(item=[item.pk], redemption=[1], cancel=[1]):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response.url


def test_a_withdrawn_item_is_404(client, owner):
    item = ItemFactory(is_active=False)
    assert signed_in(client, owner).get(reverse("rewards_catalog:item", args=[item.pk])).status_code == 404


def test_an_item_for_another_audience_is_not_found_by_its_url(client, owner):
    item = ItemFactory(audience=audience(kinds=["distributor"]))
    url = reverse("rewards_catalog:item", args=[item.pk])
    signed_in(client, owner)
    assert client.get(url).status_code == 404
    assert client.post(url, {"quantity": 1, "request_key": "k" * 32}).status_code == 404
    assert not item.redemptions.exists()
