"""The catalog's pure rules at their edges: no database."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import translation

from accounts import audiences
from accounts.audiences import AudienceTerms
from rewards_catalog.rules import (
    ItemTerms,
    PartnerFacts,
    Unavailable,
    mask_code,
    period_start,
    points_short,
    why_unavailable,
    within_reach,
)

NOW = datetime(2026, 5, 17, 10, 30, tzinfo=UTC)
ITEM = ItemTerms(is_active=True)
RESELLER = audiences.PartnerFacts(kind="reseller", region="North")
PARTNER = PartnerFacts(is_active=True, who=RESELLER)


def facts(*, is_active=True, redeemed_in_period=0, **who) -> PartnerFacts:
    """An active reseller in the North, with `who` changed."""
    return PartnerFacts(is_active, who=replace(RESELLER, **who), redeemed_in_period=redeemed_in_period)


def for_audience(**terms) -> ItemTerms:
    return ItemTerms(is_active=True, audience=AudienceTerms(**terms))


def reason(item=ITEM, partner=PARTNER, *, now=NOW, quantity=1) -> str | None:
    found = why_unavailable(item, partner, now=now, quantity=quantity)
    assert found is None or (isinstance(found, Unavailable) and isinstance(str(found), str))
    return found and found.code


def test_an_unlimited_item_is_available_to_an_active_partner():
    assert reason() is None


@pytest.mark.parametrize(
    ("item", "partner", "code"),
    [
        (ITEM, facts(is_active=False), "partner_not_active"),
        (ItemTerms(is_active=False), PARTNER, "item_withdrawn"),
        (ItemTerms(is_active=True, active_from=NOW + timedelta(seconds=1)), PARTNER, "not_yet"),
        (ItemTerms(is_active=True, active_until=NOW), PARTNER, "ended"),  # the end is exclusive
        (for_audience(tiers=frozenset({3})), PARTNER, "tier"),
        (for_audience(partner_kinds=frozenset({"distributor"})), PARTNER, "partner_kind"),
        (for_audience(regions=frozenset({"South"})), PARTNER, "region"),
        (for_audience(tags=frozenset({7})), PARTNER, "segment"),
        (ItemTerms(is_active=True, stock=0), PARTNER, "sold_out"),
    ],
)
def test_each_limit_says_why(item, partner, code):
    assert reason(item, partner) == code


def test_limits_met_exactly_pass():
    assert reason(ItemTerms(is_active=True, active_from=NOW, active_until=NOW + timedelta(seconds=1))) is None
    assert reason(for_audience(tiers=frozenset({3})), facts(tier=3)) is None
    assert reason(for_audience(tags=frozenset({7, 8})), facts(tags=frozenset({8}))) is None
    assert reason(for_audience(regions=frozenset({"North", "South"}), partner_kinds=frozenset({"reseller"}))) is None


def test_the_audience_reasons_name_what_the_item_asks():
    with translation.override("en"):
        gold = ItemTerms(is_active=True, audience=AudienceTerms(tiers=frozenset({3, 4})), tier_names=("Gold", "VIP"))
        assert str(why_unavailable(gold, PARTNER, now=NOW)) == "Only for these tiers: Gold, VIP."
        kinds = for_audience(partner_kinds=frozenset({"point_of_sale", "distributor"}))
        assert str(why_unavailable(kinds, PARTNER, now=NOW)) == (
            "Only for these kinds of partner: Distributor, Point of sale."
        )
        regions = for_audience(regions=frozenset({"South", "Haifa"}))
        assert str(why_unavailable(regions, PARTNER, now=NOW)) == "Only for partners in these regions: Haifa, South."
    assert reason(ItemTerms(is_active=True, stock=2), quantity=2) is None
    assert reason(ItemTerms(is_active=True, stock=2), quantity=3) == "not_enough_stock"


def test_the_period_limit_counts_units_and_tells_what_is_left():
    limited = ItemTerms(is_active=True, limit_per_period=3, limit_period="month")
    assert reason(limited, facts(redeemed_in_period=2)) is None
    found = why_unavailable(limited, facts(redeemed_in_period=2), now=NOW, quantity=2)
    assert found.code == "period_limit" and str(found) == "Your company may redeem 1 more this month."
    found = why_unavailable(limited, facts(redeemed_in_period=3), now=NOW)
    assert str(found) == "Your company has redeemed this 3 times this month, the most allowed."


@pytest.mark.parametrize(
    ("period", "start"),
    [
        ("month", datetime(2026, 5, 1, tzinfo=UTC)),
        ("quarter", datetime(2026, 4, 1, tzinfo=UTC)),
        ("year", datetime(2026, 1, 1, tzinfo=UTC)),
    ],
)
def test_periods_start_at_midnight_of_their_first_day(period, start):
    assert period_start(period, NOW) == start
    assert period_start(period, start) == start


def test_affordability():
    assert points_short(cost_points=300, quantity=2, available=500) == 100
    assert points_short(cost_points=300, quantity=1, available=500) == 0
    assert within_reach(cost_points=900, available=500, pending=400)
    assert not within_reach(cost_points=901, available=500, pending=400)
    assert not within_reach(cost_points=100, available=-50, pending=-10)  # a clawed-back balance


def test_codes_are_masked_to_their_last_four_characters_and_short_ones_entirely():
    assert mask_code("ABCD-EFGH-1234") == "****-1234"
    assert mask_code("SHORT12") == "****"
    assert "1234" not in mask_code("1234567")
