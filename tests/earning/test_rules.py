"""The earning rules without a database: each rule at and around its edges."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from accounts.audiences import AudienceTerms, PartnerFacts
from portal.earning import rules

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
RATES = rules.Rates(
    points_per_unit=Decimal("1"),
    category_multipliers={"Networking": Decimal("1.25")},
    bulk_threshold=Decimal("10000"),
    bulk_bonus_points=500,
    punch_card_every=5,
    punch_card_min_value=Decimal("500"),
    punch_card_bonus_points=250,
    early_payment_min_days=10,
    early_payment_points_per_unit=Decimal("0.5"),
)
VIP, NEW = 7, 8  # tag ids
GOLD, SILVER = 3, 2  # tier ids
RESELLER = PartnerFacts(kind="reseller", region="North", tier=GOLD, tags=frozenset({VIP}))


def line(amount, category="Misc", sku="SKU-1", quantity=1):
    return rules.Line(sku=sku, category=category, quantity=quantity, net_amount=Decimal(amount))


def points(lines, *, campaigns=(), before=0, rates=RATES, placed_at=NOW, partner=RESELLER, **kw):
    return rules.order_points(
        list(lines),
        placed_at=placed_at,
        partner=partner,
        rates=rates,
        campaigns=list(campaigns),
        qualifying_orders_before=before,
        **kw,
    )


def test_the_breakdown_reads_as_the_programme_explains_it():
    result = points([line("1240"), line("1240", "Networking")], before=0)
    assert result.breakdown == "2,480 base + 310 Networking x1.25"
    assert result.total == 2790


def test_points_are_whole_and_rounded_down_never_up():
    result = points([line("99.99")])
    assert result.total == 99
    assert points([line("0.99")]).total == 0


def test_each_part_rounds_once_so_the_parts_add_up_to_the_total():
    result = points([line("0.60", "Networking"), line("0.60", "Networking")])
    assert sum(p.points for p in result.parts) == result.total == 1  # 1.20 base, 0.30 extra


@pytest.mark.parametrize(("amount", "bonus"), [("9999.99", 0), ("10000.00", 500), ("10000.01", 500)])
def test_bulk_bonus_from_the_threshold_exactly(amount, bonus):
    result = points([line(amount)])
    assert result.total == int(Decimal(amount)) + bonus


@pytest.mark.parametrize(("before", "due"), [(3, False), (4, True), (5, False), (9, True)])
def test_punch_card_pays_every_nth_qualifying_order(before, due):
    result = points([line("500")], before=before)
    assert ("punch card (5th order)" in result.breakdown) is due


def test_an_order_below_the_punch_card_minimum_never_punches():
    assert not rules.punch_card_due(Decimal("499.99"), rates=RATES, qualifying_orders_before=4)


def test_a_punch_card_of_zero_is_switched_off():
    off = rules.Rates(**{**RATES.__dict__, "punch_card_every": 0})
    assert not rules.punch_card_due(Decimal("1000"), rates=off, qualifying_orders_before=4)


def campaign(**kw):
    defaults = {"name": "Spring", "starts_at": NOW - timedelta(days=1), "ends_at": NOW + timedelta(days=1)}
    return rules.CampaignRule(**{**defaults, **kw})


def test_a_campaign_runs_from_its_start_inclusive_to_its_end_exclusive():
    spring = campaign(multiplier=Decimal("2"), starts_at=NOW, ends_at=NOW + timedelta(days=1))
    assert points([line("100")], campaigns=[spring], placed_at=NOW).total == 200
    assert points([line("100")], campaigns=[spring], placed_at=NOW - timedelta(microseconds=1)).total == 100
    assert points([line("100")], campaigns=[spring], placed_at=NOW + timedelta(days=1)).total == 100


@pytest.mark.parametrize(
    ("segment", "applies"),
    [
        (None, True),
        ({"partner_kinds": frozenset({"reseller"})}, True),
        ({"partner_kinds": frozenset({"distributor"})}, False),
        ({"regions": frozenset({"North"})}, True),
        ({"regions": frozenset({"South"})}, False),
        ({"tiers": frozenset({GOLD, SILVER})}, True),
        ({"tiers": frozenset({SILVER})}, False),
        ({"tags": frozenset({VIP, NEW})}, True),
        ({"tags": frozenset({NEW})}, False),
        ({"partner_kinds": frozenset({"reseller"}), "tags": frozenset({NEW})}, False),
    ],
)
def test_a_campaign_runs_for_its_audience_only(segment, applies):
    audience = None if segment is None else AudienceTerms(**segment)
    result = points([line("100")], campaigns=[campaign(multiplier=Decimal("1.5"), audience=audience)])
    assert result.total == (150 if applies else 100)


def test_a_campaign_on_a_category_or_sku_boosts_those_lines_only():
    on_sku = campaign(multiplier=Decimal("2"), skus=frozenset({"NEW-1"}))
    on_category = campaign(name="Cat", multiplier=Decimal("3"), categories=frozenset({"Storage"}))
    result = points([line("100", sku="NEW-1"), line("100", "Storage"), line("100")], campaigns=[on_sku, on_category])
    assert result.breakdown == "300 base + 100 Spring x2 + 200 Cat x3"


def test_a_campaign_bonus_is_fixed_per_order_and_needs_a_covered_line():
    bonus = campaign(bonus_points=300, categories=frozenset({"Storage"}))
    assert points([line("100", "Storage")], campaigns=[bonus]).total == 400
    assert points([line("100")], campaigns=[bonus]).total == 100


def test_the_tier_multiplies_variable_points_but_not_fixed_bonuses():
    result = points([line("10000")], tier_multiplier=Decimal("1.5"), tier_name="Gold")
    assert result.breakdown == "10,000 base + 5,000 Gold x1.5 + 500 bulk bonus"
    assert result.line_points == (15000,)


@pytest.mark.parametrize(("days_early", "earned"), [(11, 500), (10, 500), (9, 0), (0, 0), (-3, 0)])
def test_early_payment_from_exactly_n_days_before_due_and_never_late(days_early, earned):
    due = date(2026, 6, 30)
    result = rules.early_payment_points(
        Decimal("1000.00"), paid_on=due - timedelta(days=days_early), due_on=due, rates=RATES
    )
    assert result.total == earned


def test_early_payment_points_round_down():
    result = rules.early_payment_points(Decimal("0.99"), paid_on=date(2026, 1, 1), due_on=date(2026, 2, 1), rates=RATES)
    assert result.total == 0


def test_partial_returns_of_a_line_take_back_exactly_its_points():
    taken = []
    before = 0
    for qty in (1, 1, 1):
        returned = rules.ReturnedLine(points=10, quantity=3, returned_before=before, returned_now=qty)
        taken.append(returned.points_to_take_back())
        before += qty
    assert taken == [4, 3, 3]
    assert sum(taken) == 10


def test_a_return_takes_the_bulk_bonus_once_when_the_kept_value_falls_below_the_threshold():
    def returned(kept_before, kept_after):
        return rules.returned_points(
            [],
            kept_before=Decimal(kept_before),
            kept_after=Decimal(kept_after),
            bulk_bonus=500,
            other_bonuses=250,
            rates=RATES,
        ).breakdown

    assert returned("12000", "10000") == ""
    assert returned("10000", "9999") == "500 bulk bonus"
    assert returned("9000", "5000") == ""
    assert returned("5000", "0") == "250 order bonuses"
