"""A tier's multiplier in an order's points: its variable points multiplied, its fixed bonuses not, and the
breakdown naming the tier (its Hebrew name for a Hebrew reader)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from portal.earning import services
from portal.earning.models import CategoryMultiplier, EarningSettings, Order
from portal.ledger import services as ledger
from portal.ledger.models import Code, Transfer
from portal.ledger.wording import breakdown_of
from portal.tiers.models import PartnerTier, Tier
from portal.tiers.queries import programme_today
from portal.tiers.services import review_tiers
from tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tiers():
    return {
        "member": Tier.objects.create(name="Member", name_he="חבר", threshold=0),
        "silver": Tier.objects.create(name="Silver", name_he="כסף", threshold=1_000, multiplier=Decimal("1.10")),
        "gold": Tier.objects.create(name="Gold", name_he="זהב", threshold=5_000, multiplier=Decimal("1.25")),
    }


def in_tier(qualifying: int):
    """A partner whose order points over the last months put it in the tier they reach (the daily review)."""
    partner = PartnerFactory()
    if qualifying:
        ledger.post_transfer(
            ledger.earning(
                partner.pk, key=f"earlier:{partner.pk}", amount=qualifying, code=Code.ORDER, reason="Earlier orders",
                effective_at=timezone.now() - timedelta(days=60),
            )
        )  # fmt: skip
    review_tiers([partner.pk], today=programme_today(), monthly=False)
    return partner


def order(external_id, partner, *lines):
    return {
        "external_id": external_id,
        "partner": partner.external_id,
        "placed_at": timezone.now().isoformat(),
        "currency": "USD",
        "lines": [
            {"line_no": n, "sku": sku, "category": category, "quantity": 1, "net_amount": amount}
            for n, (sku, category, amount) in enumerate(lines, start=1)
        ],
    }


# 12,000 base + 2,000 Networking ×1.5 = 14,000 variable points; a bulk bonus of 500 on top.
LINES = [("SW-1", "Switches", "8000.00"), ("NW-1", "Networking", "4000.00")]


@pytest.fixture
def networking():
    CategoryMultiplier.objects.create(settings=EarningSettings.load(), category="Networking", multiplier="1.5")


def entry(external_id) -> Transfer:
    return Transfer.objects.get(key=f"order:{external_id}")


def test_a_gold_partners_order_earns_its_variable_points_times_125_and_its_bonus_untouched(tiers, networking):
    gold = in_tier(6_000)
    assert PartnerTier.objects.get(partner=gold).tier == tiers["gold"]
    (result,) = services.record("orders", [order("SO-G", gold, *LINES)], source="test")

    assert result.status == "created"
    assert result.points == 14_000 * 125 // 100 + 500 == 18_000
    assert entry("SO-G").amount == 18_000
    assert Order.objects.get(external_id="SO-G").breakdown == (
        "12,000 base + 2,000 Networking x1.5 + 3,500 Gold x1.25 + 500 bulk bonus"
    )
    assert sum(Order.objects.get(external_id="SO-G").lines.values_list("points", flat=True)) == 17_500


def test_the_breakdown_names_the_tier_and_its_factor_in_the_readers_language(tiers, networking):
    gold = in_tier(6_000)
    services.record("orders", [order("SO-G", gold, *LINES)], source="test")
    details = entry("SO-G").details

    with translation.override("en"):
        english = breakdown_of(details)
    assert english == "12,000 base + 2,000 Networking ×1.5 + 3,500 Gold tier ×1.25 + 500 bulk bonus"
    with translation.override("he"):
        hebrew = breakdown_of(details)
    assert "זהב" in hebrew and "×1.25" in hebrew and "3,500" in hebrew and "Gold" not in hebrew


def test_partners_at_x1_or_without_a_tier_earn_the_plain_points(tiers, networking):
    member, untiered = in_tier(500), PartnerFactory()
    assert PartnerTier.objects.get(partner=member).tier == tiers["member"]
    results = services.record("orders", [order("SO-M", member, *LINES), order("SO-U", untiered, *LINES)], source="test")
    assert [r.points for r in results] == [14_500, 14_500]
    assert "Gold" not in Order.objects.get(external_id="SO-M").breakdown
    assert all(part["rule"] != "tier" for part in entry("SO-M").details["parts"])


def test_one_batch_gives_each_partner_its_own_tier_at_the_same_cost_whatever_its_size(tiers, networking):
    def batch(prefix, count):
        partners = [in_tier([0, 1_500, 6_000][n % 3]) for n in range(count)]
        orders = [order(f"{prefix}-{n}", p, ("A", "Misc", "100.00")) for n, p in enumerate(partners)]
        with CaptureQueriesContext(connection) as queries:
            results = services.record("orders", orders, source="test")
        return [r.points for r in results], len(queries)

    small, small_cost = batch("S", 3)
    large, large_cost = batch("L", 12)
    assert small == [100, 110, 125] and large == [100, 110, 125] * 4
    assert large_cost == small_cost
