"""The data migration from offers' own targeting to audiences: each distinct combination of a campaign's or an
item's limits becomes one named audience, shared by the offers that asked the same; campaign tag names become
taggit tags; offers that asked nothing stay for every partner; and migrating back restores the old fields."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.models import Audience
from portal.earning.models import Campaign
from rewards_catalog.models import Item

pytestmark = pytest.mark.django_db

BEFORE = [("earning", "0008_import_rows_held"), ("rewards_catalog", "0008_remove_item_tier_names")]


def immediate_checks():
    """The rows' foreign-key checks at once rather than at commit: a test runs every migration in one transaction,
    and PostgreSQL alters no table with checks still pending (each migration commits on its own outside tests)."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def old_apps():
    immediate_checks()
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    return MigrationExecutor(connection).loader.project_state([*BEFORE, ("accounts", "0006_audience")]).apps


def migrate_to_the_end():
    immediate_checks()
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def terms(audience) -> tuple:
    if audience is None:
        return None
    return (
        audience.partner_kinds,
        audience.regions,
        sorted(tier.name for tier in audience.tiers.all()),
        sorted(tag.name for tag in audience.tags.all()),
    )


def test_each_combination_becomes_one_named_audience_that_the_offers_asking_it_share():
    old = old_apps()
    OldCampaign, OldItem = old.get_model("earning", "Campaign"), old.get_model("rewards_catalog", "Item")
    OldTier, OldTag = old.get_model("tiers", "Tier"), old.get_model("taggit", "Tag")
    OldAudience = old.get_model("accounts", "Audience")
    gold = OldTier.objects.create(name="Gold", threshold=5_000)
    platinum = OldTier.objects.create(name="Platinum", threshold=20_000)
    pioneers = OldTag.objects.create(name="pioneers", slug="pioneers")
    OldAudience.objects.create(name="Distributors", regions=["Eilat"])  # made by hand: its name is taken
    moment = datetime(2026, 3, 1, tzinfo=UTC)

    def campaign(name, **targeting):
        return OldCampaign.objects.create(name=name, starts_at=moment, ends_at=moment.replace(month=4), **targeting).pk

    def item(title, *, tiers=(), segments=(), **fields):
        made = OldItem.objects.create(title=title, kind="goods", cost_points=100, **fields)
        made.tiers.set(tiers)
        made.segments.set(segments)
        return made.pk

    campaigns = {
        "vip": campaign("VIP north", partner_kinds=["reseller"], regions=["North"], tags=["vip"]),
        "vip again": campaign("VIP north again", partner_kinds=["reseller"], regions=["North"], tags=["vip", "vip"]),
        "open": campaign("Everyone"),
        "resellers": campaign("Resellers", partner_kinds=["reseller"]),
        "distributors": campaign("Distributors", partner_kinds=["distributor"]),
    }
    items = {
        "resellers": item("For resellers", partner_kinds=["reseller"]),
        "gold pioneers": item("Gold pioneers", tiers=[platinum, gold], segments=[pioneers]),
        "open": item("For everyone"),
    }
    migrate_to_the_end()

    campaign_of = {key: Campaign.objects.get(pk=pk).audience for key, pk in campaigns.items()}
    item_of = {key: Item.objects.get(pk=pk).audience for key, pk in items.items()}
    assert campaign_of["open"] is None and item_of["open"] is None
    assert campaign_of["vip"] == campaign_of["vip again"]
    assert campaign_of["vip"].name == "Resellers · North · tag vip"
    assert terms(campaign_of["vip"]) == (["reseller"], ["North"], [], ["vip"])  # the tag made, as none had the name
    assert campaign_of["resellers"] == item_of["resellers"] and campaign_of["resellers"].name == "Resellers"
    assert item_of["gold pioneers"].name == "tiers Gold, Platinum · tag pioneers"
    assert terms(item_of["gold pioneers"]) == ([], [], ["Gold", "Platinum"], ["pioneers"])
    assert campaign_of["distributors"].name == "Distributors (2)"  # the taken name asks other terms
    assert terms(campaign_of["distributors"]) == (["distributor"], [], [], [])
    assert Audience.objects.count() == 5


def test_migrating_back_puts_the_audiences_terms_back_in_the_offers_fields():
    from portal.tiers.models import Tier
    from tests.factories import audience

    gold = Tier.objects.create(name="Gold", threshold=5_000)
    vip_north = audience("VIP north", kinds=["reseller"], regions=["North"], tiers=[gold], tags=["vip"])
    moment = datetime(2026, 3, 1, tzinfo=UTC)
    campaign = Campaign.objects.create(
        name="Spring", starts_at=moment, ends_at=moment.replace(month=4), audience=vip_north
    )
    item = Item.objects.create(title="Mug", kind="goods", cost_points=10, audience=vip_north)

    old = old_apps()
    old_campaign = old.get_model("earning", "Campaign").objects.get(pk=campaign.pk)
    old_item = old.get_model("rewards_catalog", "Item").objects.get(pk=item.pk)
    assert (old_campaign.partner_kinds, old_campaign.regions, old_campaign.tags) == (["reseller"], ["North"], ["vip"])
    assert old_item.partner_kinds == ["reseller"] and [t.name for t in old_item.tiers.all()] == ["Gold"]
    assert [tag.name for tag in old_item.segments.all()] == ["vip"]
    migrate_to_the_end()
