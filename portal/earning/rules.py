"""The earning rules as pure functions: no database, easy to test and to reason about.

Money is Decimal; points are whole. Each rule computes its part of the points
as Decimal over all lines and rounds it down once, so a partner never gets a
point the programme's numbers do not give, and the breakdown's parts add up to
the total exactly.
"""

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum
from functools import cached_property

from accounts.audiences import AudienceTerms, PartnerFacts, includes

ONE = Decimal("1")


class Rule(StrEnum):
    """What made a part of an entry's points: stored in its parts, worded by ``portal.earning.wording``."""

    BASE = "base"
    CATEGORY = "category"
    CAMPAIGN = "campaign"
    TIER = "tier"
    BULK_BONUS = "bulk_bonus"
    PUNCH_CARD = "punch_card"
    CAMPAIGN_BONUS = "campaign_bonus"
    EARLY_PAYMENT = "early_payment"
    RETURNED_GOODS = "returned_goods"
    ORDER_BONUSES = "order_bonuses"
    PENDING = "pending"  # what was pending, before a return took some back
    NOT_ACTIVE = "not_active"  # no points: the partner's membership is not active


@dataclass(frozen=True)
class Rates:
    points_per_unit: Decimal
    category_multipliers: dict[str, Decimal]
    bulk_threshold: Decimal
    bulk_bonus_points: int
    punch_card_every: int
    punch_card_min_value: Decimal
    punch_card_bonus_points: int
    early_payment_min_days: int
    early_payment_points_per_unit: Decimal


@dataclass(frozen=True)
class CampaignRule:
    name: str
    starts_at: datetime
    ends_at: datetime
    audience: AudienceTerms | None = None  # who it runs for; None: every partner
    categories: frozenset[str] = frozenset()
    skus: frozenset[str] = frozenset()
    multiplier: Decimal = ONE
    bonus_points: int = 0

    def targets(self, partner: PartnerFacts, placed_at: datetime) -> bool:
        """Does the campaign run for this partner at this moment? Start inclusive, end exclusive; the partner
        in its audience (``accounts.audiences``, the programme's one rule of who an offer is for)."""
        return self.starts_at <= placed_at < self.ends_at and includes(self.audience, partner)

    def covers(self, line: "Line") -> bool:
        if not self.categories and not self.skus:
            return True
        return line.category in self.categories or line.sku in self.skus


@dataclass(frozen=True)
class Line:
    sku: str
    category: str
    quantity: int
    net_amount: Decimal


@dataclass(frozen=True)
class Part:
    """One part of an entry's points: its English label (the ledger's record) and the facts that let a
    page word it in the reader's language: the rule, and the name, factor or count the rule used."""

    label: str
    points: int
    rule: Rule
    name: str = ""
    factor: str = ""
    count: int = 0
    name_he: str = ""  # the name in Hebrew, where the thing named has one (a tier)

    def as_data(self) -> dict:
        data = {
            "rule": str(self.rule),
            "points": self.points,
            "name": self.name,
            "name_he": self.name_he,
            "factor": self.factor,
        }
        return {key: value for key, value in data.items() if value != ""} | (
            {"count": self.count} if self.count else {}
        )


@dataclass(frozen=True)
class Points:
    """Points and the readable parts they are made of ("1,240 base + 310 Networking x1.25")."""

    parts: tuple[Part, ...] = ()
    line_points: tuple[int, ...] = field(default=())

    @property
    def total(self) -> int:
        return sum(p.points for p in self.parts)

    @cached_property  # the record's row and its ledger entry both carry it
    def breakdown(self) -> str:
        return " + ".join(f"{p.points:,} {p.label}" for p in self.parts if p.points)

    @cached_property
    def parts_data(self) -> list[dict]:
        """The parts as stored beside the English breakdown, for pages to word them (portal.earning.wording)."""
        return [p.as_data() for p in self.parts if p.points]


def whole(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_DOWN))


def _format_multiplier(value: Decimal) -> str:
    return f"{value.normalize():f}"


def order_points(
    lines: list[Line],
    *,
    placed_at: datetime,
    partner: PartnerFacts,
    rates: Rates,
    campaigns: list[CampaignRule],
    qualifying_orders_before: int,
    tier_multiplier: Decimal = ONE,
    tier_name: str = "",
    tier_name_he: str = "",
) -> Points:
    """Points for one order.

    Base points per currency unit; a category's multiplier and a campaign's
    multiplier each add their extra on the base of the lines they cover; the
    tier multiplies all of those; then fixed bonuses (bulk, punch card,
    campaign) are added, untouched by the tier. `qualifying_orders_before`
    counts the partner's earlier orders that met the punch card's minimum.
    """
    base = [line.net_amount * rates.points_per_unit for line in lines]
    parts: list[tuple[Part, Decimal]] = [(Part("base", 0, rule=Rule.BASE), sum(base, Decimal(0)))]
    per_line = list(base)

    def boost(rule: Rule, name: str, multiplier: Decimal, covers) -> None:
        """Add a multiplier's extra, on the base of the lines it covers, as one part."""
        nonlocal per_line
        if multiplier == ONE:
            return
        extra = [b * (multiplier - ONE) if covers(line) else Decimal(0) for b, line in zip(base, lines, strict=True)]
        if any(extra):
            factor = _format_multiplier(multiplier)
            parts.append((Part(f"{name} x{factor}", 0, rule=rule, name=name, factor=factor), sum(extra, Decimal(0))))
            per_line = [p + e for p, e in zip(per_line, extra, strict=True)]

    for category, multiplier in sorted(rates.category_multipliers.items()):
        boost(Rule.CATEGORY, category, multiplier, lambda line, category=category: line.category == category)
    running = [c for c in campaigns if c.targets(partner, placed_at)]
    for campaign in running:
        boost(Rule.CAMPAIGN, campaign.name, campaign.multiplier, campaign.covers)

    if tier_multiplier != ONE:
        variable = sum((amount for _, amount in parts), Decimal(0))
        factor = _format_multiplier(tier_multiplier)
        label = f"{tier_name or 'tier'} x{factor}"
        tier = Part(label, 0, rule=Rule.TIER, name=tier_name, name_he=tier_name_he, factor=factor)
        parts.append((tier, variable * (tier_multiplier - ONE)))
        per_line = [p * tier_multiplier for p in per_line]

    net_total = sum((line.net_amount for line in lines), Decimal(0))
    bonuses: list[Part] = []
    if rates.bulk_bonus_points and net_total >= rates.bulk_threshold:
        bonuses.append(Part("bulk bonus", rates.bulk_bonus_points, rule=Rule.BULK_BONUS))
    if punch_card_due(net_total, rates=rates, qualifying_orders_before=qualifying_orders_before):
        every = rates.punch_card_every
        bonuses.append(
            Part(f"punch card ({every}th order)", rates.punch_card_bonus_points, rule=Rule.PUNCH_CARD, count=every)
        )
    for campaign in running:
        if campaign.bonus_points and any(campaign.covers(line) for line in lines):
            name = campaign.name
            bonuses.append(Part(f"{name} bonus", campaign.bonus_points, rule=Rule.CAMPAIGN_BONUS, name=name))

    return Points(
        parts=tuple(replace(part, points=whole(amount)) for part, amount in parts) + tuple(bonuses),
        line_points=tuple(whole(p) for p in per_line),
    )


def qualifies_for_punch_card(net_total: Decimal, *, rates: Rates) -> bool:
    return rates.punch_card_every > 0 and net_total >= rates.punch_card_min_value


def punch_card_due(net_total: Decimal, *, rates: Rates, qualifying_orders_before: int) -> bool:
    """Every Nth qualifying order earns the bonus: the Nth, the 2Nth, ..."""
    if not qualifies_for_punch_card(net_total, rates=rates):
        return False
    return (qualifying_orders_before + 1) % rates.punch_card_every == 0


def early_payment_points(amount: Decimal, *, paid_on: date, due_on: date, rates: Rates) -> Points:
    """Points for a payment made `early_payment_min_days` or more before the due date; late pays nothing."""
    days_early = (due_on - paid_on).days
    if days_early < rates.early_payment_min_days or rates.early_payment_points_per_unit <= 0:
        return Points()
    points = whole(amount * rates.early_payment_points_per_unit)
    return Points(parts=(Part(f"paid {days_early} days early", points, rule=Rule.EARLY_PAYMENT, count=days_early),))


def returned_points(
    returned: list["ReturnedLine"],
    *,
    kept_before: Decimal,
    kept_after: Decimal,
    bulk_bonus: int,
    other_bonuses: int,
    rates: Rates,
) -> Points:
    """Points a return takes back.

    A line's points go back in proportion to the units returned, counted on
    the units returned so far, so several partial returns of a line take back
    exactly its points and never more. The order's bulk bonus goes with the
    return that takes the kept value below the threshold, its other bonuses
    with the return that leaves nothing kept: the kept value only falls, so
    each bonus goes back once.
    """
    parts = [Part("returned goods", sum(line.points_to_take_back() for line in returned), rule=Rule.RETURNED_GOODS)]
    if bulk_bonus and kept_before >= rates.bulk_threshold > kept_after:
        parts.append(Part("bulk bonus", bulk_bonus, rule=Rule.BULK_BONUS))
    if other_bonuses and kept_before > 0 >= kept_after:
        parts.append(Part("order bonuses", other_bonuses, rule=Rule.ORDER_BONUSES))
    return Points(parts=tuple(parts))


@dataclass(frozen=True)
class ReturnedLine:
    points: int
    quantity: int
    returned_before: int
    returned_now: int

    def points_to_take_back(self) -> int:
        def share(units: int) -> int:
            return -((-self.points * units) // self.quantity)  # rounded up

        return share(self.returned_before + self.returned_now) - share(self.returned_before)


@dataclass(frozen=True)
class ReviewLimits:
    """Above these an ERP record is kept but its points wait for a person: an ERP's mistake (a price typed
    into the quantity, a total in cents) must never become the vendor's liability."""

    order_above: Decimal
    invoice_above: Decimal
    points_above: int


def review_reason(
    what: str, amount: Decimal, points: int, *, amount_above: Decimal, points_above: int, currency: str
) -> str:
    """Why a record's points wait for approval, or "" when they need not. Nothing to give, nothing to review."""
    if points <= 0:
        return ""
    if amount > amount_above:
        return (
            f"{what}: {amount:,.2f} {currency} is above the programme's review limit of {amount_above:,.2f} "
            f"{currency}; its {points:,} points wait for approval"
        )
    if points > points_above:
        return f"{what}: {points:,} points are above the programme's review limit of {points_above:,} points"
    return ""
