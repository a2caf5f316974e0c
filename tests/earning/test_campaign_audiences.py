"""A campaign's points go only to the partners in its audience (by kind, region, tier and tag), and judging
audiences costs a batch of orders the same queries whatever its size."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal.earning import services
from portal.earning.models import Campaign, Order
from portal.tiers.models import PartnerTier, Tier
from tests.factories import PartnerFactory, audience

pytestmark = pytest.mark.django_db


@pytest.fixture
def tiers():
    return {
        "member": Tier.objects.create(name="Member", threshold=0),
        "gold": Tier.objects.create(name="Gold", threshold=5_000),
    }


def partner(*, kind="reseller", region="North", tier=None, tags=("vip",)):
    made = PartnerFactory(kind=kind, region=region)
    made.tags.add(*tags)
    if tier is not None:
        PartnerTier.objects.create(partner=made, tier=tier, earned_tier=tier, since=date(2026, 1, 1))
    return made


def order(external_id, to):
    return {
        "external_id": external_id,
        "partner": to.external_id,
        "placed_at": timezone.now().isoformat(),
        "currency": "USD",
        "lines": [{"line_no": 1, "sku": "A", "category": "Misc", "quantity": 1, "net_amount": "100.00"}],
    }


def campaign_for(who, **fields):
    now = timezone.now()
    defaults = {"name": "Spring push", "multiplier": Decimal("2")}
    return Campaign.objects.create(
        starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=1), audience=who, **{**defaults, **fields}
    )


def test_a_campaigns_points_go_only_to_the_partners_its_audience_includes(tiers):
    gold = tiers["gold"]
    campaign_for(audience(kinds=["reseller"], regions=["North"], tiers=[gold], tags=["vip"]))
    partners = {
        "in it": partner(tier=gold),
        "another kind": partner(kind="distributor", tier=gold),
        "another region": partner(region="South", tier=gold),
        "another tier": partner(tier=tiers["member"]),
        "no tier yet": partner(),
        "without the tag": partner(tier=gold, tags=("new",)),
    }
    results = services.record("orders", [order(f"SO-{n}", p) for n, p in enumerate(partners.values())], source="t")

    points = dict(zip(partners, (r.points for r in results), strict=True))
    assert points == {name: 200 if name == "in it" else 100 for name in partners}
    assert "Spring push x2" in Order.objects.get(external_id="SO-0").breakdown
    assert "Spring push" not in Order.objects.get(external_id="SO-1").breakdown


def test_a_campaign_without_an_audience_runs_for_every_partner(tiers):
    campaign_for(None)
    results = services.record(
        "orders", [order("SO-A", partner(kind="point_of_sale", region="Eilat", tags=())), order("SO-B", partner())],
        source="t",
    )  # fmt: skip
    assert [r.points for r in results] == [200, 200]


def test_audiences_cost_a_batch_the_same_queries_whatever_its_size(tiers):
    campaign_for(audience(tiers=[tiers["gold"]], tags=["vip"]))
    campaign_for(audience(kinds=["reseller"]), name="Resellers", multiplier=Decimal("1.5"))

    def batch(prefix, count):
        partners = [partner(tier=tiers["gold"] if n % 2 else tiers["member"]) for n in range(count)]
        with CaptureQueriesContext(connection) as queries:
            results = services.record("orders", [order(f"{prefix}-{n}", p) for n, p in enumerate(partners)], source="t")
        return [r.points for r in results], len(queries)

    batch("W", 1)  # warm the per-process caches (settings, content types)
    small, small_cost = batch("S", 2)
    large, large_cost = batch("L", 10)
    assert small == [150, 250] and large == [150, 250] * 5
    assert large_cost == small_cost
