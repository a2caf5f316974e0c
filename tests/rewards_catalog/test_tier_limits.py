"""Items for an audience of some tiers: listed, shown and redeemable exactly for the partners in those tiers (the
catalog page, the item's page and the redeem service agree); and the migration from tier names keeps each item as
limited as it was."""

import importlib
import re

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from django.utils.html import strip_tags

from portal.tiers.models import PartnerTier, Tier
from portal.tiers.queries import programme_today
from portal.tiers.services import review_tiers
from rewards_catalog import services
from rewards_catalog.errors import ItemNotAvailable
from rewards_catalog.models import Item
from tests.factories import AccountManagerFactory, audience
from tests.rewards_catalog.factories import ItemFactory, company, tier

pytestmark = pytest.mark.django_db

links = importlib.import_module("rewards_catalog.migrations.0007_item_tiers_from_names")


@pytest.fixture
def tiers():
    return {
        "member": tier("Member", name_he="חבר", threshold=0),
        "silver": tier("Silver", name_he="כסף", threshold=1_000),
        "gold": tier("Gold", name_he="זהב", threshold=5_000),
        "platinum": tier("Platinum", name_he="פלטינום", threshold=20_000),
        "legacy": tier("Legacy", threshold=10**15 + 1),  # what the migration makes of an unknown name
    }


def in_tier(points: int):
    """A company whose ordering over the last year put it in the tier `points` reach (the daily review)."""
    membership = company(points)
    review_tiers([membership.partner_id], today=programme_today(), monthly=False)
    return membership


def text(response) -> str:
    return re.sub(r"\s+", " ", strip_tags(response.content.decode()))


def catalog_cards(client) -> dict[str, bool]:
    """Each item's title on the catalog page, and whether the page offers it (no "Not available")."""
    page = client.get(reverse("rewards_catalog:catalog")).content.decode()
    cards = re.findall(
        r'<li class="rw-card( is-unavailable)?">.*?<h2 class="rw-card-title"><a [^>]*>([^<]+)</a>', page, re.S
    )
    return {title: not unavailable for unavailable, title in cards}


LIMITS = {
    "Open to all": (),
    "Silver only": ("silver",),
    "Gold only": ("gold",),
    "Gold and Platinum": ("gold", "platinum"),
    "Member and Platinum": ("member", "platinum"),
    "Legacy only": ("legacy",),
}
PARTNERS = {"member": 900, "silver": 1_500, "gold": 6_000, "platinum": 25_000}


def test_each_limited_item_is_redeemable_exactly_by_the_partners_of_its_tiers(client, tiers):
    items = {title: ItemFactory(title=title, tiers=[tiers[key] for key in keys]) for title, keys in LIMITS.items()}
    outsider = company(1_000)  # never reviewed: no tier at all
    partners = {name: in_tier(points) for name, points in PARTNERS.items()} | {None: outsider}
    for name, membership in partners.items():
        assert PartnerTier.objects.filter(partner=membership.partner, tier=tiers.get(name)).exists() == bool(name)

    for name, membership in partners.items():
        client.force_login(membership.user)
        cards = catalog_cards(client)
        for title, item in items.items():
            allowed = not LIMITS[title] or name in LIMITS[title]
            # Tiers unlock items: one for another tier is listed, locked, and says which tiers it is for.
            assert cards[title] is allowed, (name, title)
            page = text(client.get(reverse("rewards_catalog:item", args=[item.pk])))
            assert ("Not available to your company" not in page) is allowed, (name, title)
            if allowed:
                services.redeem(item, member=membership, quantity=1)
            else:
                assert "Only for these tiers:" in page
                with pytest.raises(ItemNotAvailable) as refused:
                    services.redeem(item, member=membership, quantity=1)
                assert refused.value.code == "tier"
        redeemed = set(membership.partner.redemptions.values_list("item__title", flat=True))
        assert redeemed == {title for title, keys in LIMITS.items() if not keys or name in keys}


def test_the_reason_names_the_tiers_lowest_first_in_the_readers_language(tiers):
    item = ItemFactory(title="Dinner", tiers=[tiers["platinum"], tiers["gold"]])
    reader = in_tier(1_500)
    with translation.override("en"), pytest.raises(ItemNotAvailable) as refused:
        services.redeem(item, member=reader, quantity=1)
    assert "Only for these tiers: Gold, Platinum." in str(refused.value)

    with translation.override("he"), pytest.raises(ItemNotAvailable) as refused:
        services.redeem(item, member=reader, quantity=1)
    assert "זהב, פלטינום" in str(refused.value) and "Gold" not in str(refused.value)


def test_the_catalog_costs_the_same_queries_however_many_items_are_limited(client, tiers):
    reader = in_tier(6_000)
    client.force_login(reader.user)
    url = reverse("rewards_catalog:catalog")

    def cost():
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    for n in range(2):
        ItemFactory(title=f"Few {n}", tiers=[tiers["gold"], tiers["silver"]])
    few = cost()
    for n in range(10):
        ItemFactory(title=f"Many {n}", tiers=[tiers["platinum"]] if n % 2 else [tiers["gold"]])
    assert cost() == few


# --- The migration from names --------------------------------------------------------------------------------


def test_names_map_to_tiers_of_that_name_in_either_language_and_unknown_names_stay_out_of_reach():
    gold = Tier.objects.create(name="Gold", name_he="זהב", threshold=5_000)
    found = links.tiers_for_names(Tier, ["gold", "זהב", " VIP ", "Pioneers", "vip"])

    assert found["gold"] == found["זהב"] == gold
    vip, pioneers = found["vip"], found["pioneers"]
    assert vip.name == "VIP" and pioneers.name == "Pioneers"
    assert min(vip.threshold, pioneers.threshold) > 10**15 and vip.threshold != pioneers.threshold
    base = Tier.objects.get(threshold=0)
    assert base.name == "Member"
    assert Tier.objects.count() == 4


def test_names_that_all_exist_make_no_tier():
    Tier.objects.create(name="Gold", threshold=5_000)
    links.tiers_for_names(Tier, ["GOLD"])
    assert list(Tier.objects.values_list("name", flat=True)) == ["Gold"]


def test_the_migration_links_items_and_an_unknown_name_stays_unredeemable():
    first = [("rewards_catalog", "0006_item_tiers_link")]
    MigrationExecutor(connection).migrate(first)  # back to the names (and no links yet)
    old = MigrationExecutor(connection).loader.project_state(first).apps
    OldTier, OldItem = old.get_model("tiers", "Tier"), old.get_model("rewards_catalog", "Item")
    OldTier.objects.create(name="Gold", name_he="זהב", threshold=5_000)

    def item(names):
        return OldItem.objects.create(
            title=" ".join(names) or "Open", kind="experience", cost_points=100, tier_names=names
        ).pk

    ids = {"open": item([]), "gold": item(["gold"]), "hebrew": item(["זהב"]), "both": item(["Gold", "Founders"])}
    ids["founders"] = item(["founders"])
    with connection.cursor() as cursor:  # the rows' deferred checks now, so that the next step may alter the table
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    audiences = {key: Item.objects.get(pk=pk).audience for key, pk in ids.items()}
    linked = {key: {t.name for t in audience.tiers.all()} if audience else set() for key, audience in audiences.items()}
    assert linked == {
        "open": set(),
        "gold": {"Gold"},
        "hebrew": {"Gold"},
        "both": {"Gold", "Founders"},
        "founders": {"Founders"},
    }
    assert Tier.objects.get(name="Founders").threshold > 10**15
    assert Tier.objects.get(threshold=0).name == "Member"  # made, as no tier was the base

    gold = in_tier(6_000)
    services.redeem(Item.objects.get(pk=ids["gold"]), member=gold, quantity=1)
    services.redeem(Item.objects.get(pk=ids["both"]), member=gold, quantity=1)
    with pytest.raises(ItemNotAvailable) as refused:
        services.redeem(Item.objects.get(pk=ids["founders"]), member=gold, quantity=1)
    assert refused.value.code == "tier"


# --- The CMS -------------------------------------------------------------------------------------------------


def test_the_cms_chooses_an_items_audience_and_none_means_every_partner(client, tiers):
    gold = audience("Gold partners", tiers=[tiers["gold"]])
    item = ItemFactory(title="Dinner", audience=gold)
    silver = audience("Silver partners", tiers=[tiers["silver"]])
    client.force_login(AccountManagerFactory())
    url = reverse("catalog_item:edit", args=[item.pk])
    page = client.get(url).content.decode()
    options = dict(re.findall(r'<option value="(\d*)"([^>]*)>', page.split('name="audience"')[1].split("</select>")[0]))
    assert set(options) == {"", str(gold.pk), str(silver.pk)} and "selected" in options[str(gold.pk)]

    form = {"title": "Dinner", "kind": Item.Kind.EXPERIENCE, "cost_points": "100", "is_active": "on", "causes": ""}
    assert client.post(url, {**form, "audience": silver.pk}).status_code == 302
    assert Item.objects.get(pk=item.pk).audience == silver
    client.post(url, {**form, "audience": ""})
    assert Item.objects.get(pk=item.pk).audience is None
