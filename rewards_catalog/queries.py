"""Reads of the catalog that the portal, the CMS and the services share."""

from dataclasses import dataclass, replace
from datetime import datetime

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from accounts import audiences
from accounts.models import Audience, Partner, User
from accounts.queries import partners_visible_to, sees_all_partners
from portal.ledger.queries import Balance, balance_of
from portal.tiers.queries import tier_id_in_sql, tier_id_of
from rewards_catalog import rules
from rewards_catalog.models import Category, CodePool, GiftCode, Item, Redemption

Status = Redemption.Status
# Redemptions that count against a per-partner limit: everything not given back.
COUNTED_STATUSES = [Status.AWAITING_APPROVAL, Status.APPROVED, Status.SHIPPED, Status.FULFILLED]


# --- What a partner may redeem ----------------------------------------------------------------------


def partner_facts(partner: Partner, *, tags_needed: bool = True, tier_needed: bool = True) -> rules.PartnerFacts:
    """What the rules need of the partner; its tags and its tier (a query each) only when an item's audience asks."""
    return rules.PartnerFacts(
        is_active=partner.status == Partner.Status.ACTIVE,
        who=audiences.PartnerFacts(
            kind=partner.kind,
            region=partner.region,
            tier=tier_id_of(partner) if tier_needed else None,
            tags=frozenset(partner.tags.values_list("id", flat=True)) if tags_needed else frozenset(),
        ),
    )


def item_terms(item: Item, *, audience_decided: bool = False) -> rules.ItemTerms:
    """The item's terms; its audience's tiers and tags from a prefetch (``audiences.with_terms``) or read,
    the tiers' names (lowest tier first, in the reader's language) for the reason. `audience_decided`: the
    caller has kept only items offered to the partner (in SQL), so the audience is not read at all."""
    audience = None if audience_decided else item.audience
    tiers = sorted(audience.tiers.all(), key=lambda tier: tier.threshold) if audience else []
    return rules.ItemTerms(
        is_active=item.is_active,
        stock=item.stock,
        audience=audiences.terms_of(audience),
        tier_names=tuple(tier.display_name for tier in tiers),
        limit_per_period=item.limit_per_period,
        limit_period=item.limit_period,
        active_from=item.active_from,
        active_until=item.active_until,
    )


def audience_with_terms(audience_id: int | None) -> Audience | None:
    """The audience with its tiers and tags read alongside (for ``item_terms``); None for an item for everyone."""
    if audience_id is None:
        return None
    return Audience.objects.prefetch_related("tiers", "tags").filter(pk=audience_id).first()


def audience_facts(partner: Partner, audience: Audience | None) -> rules.PartnerFacts:
    """The partner's facts, with its tags and tier read only when the audience limits by them."""
    return partner_facts(
        partner,
        tags_needed=audience is not None and bool(audience.tags.all()),
        tier_needed=audience is not None and bool(audience.tiers.all()),
    )


def _asks(items, limit: str) -> bool:
    """Whether any item's audience sets that limit (``tiers`` or ``tags``), from the prefetched terms."""
    return any(item.audience is not None and getattr(item.audience, limit).all() for item in items)


def redeemed_in_period(partner: Partner | int, item: Item, *, now: datetime, exclude_id: int | None = None) -> int:
    """Units of `item` the partner redeemed in the item's current limit period (0 for an unlimited item)."""
    if not item.limit_per_period:
        return 0
    found = Redemption.objects.filter(
        partner=partner,
        item=item,
        status__in=COUNTED_STATUSES,
        created_at__gte=rules.period_start(item.limit_period, now),
    )
    if exclude_id is not None:
        found = found.exclude(pk=exclude_id)
    return found.aggregate(units=Coalesce(Sum("quantity"), 0))["units"]


@dataclass(frozen=True)
class Offer:
    """An item as one company sees it: whether it may redeem it, and whether it can afford it."""

    item: Item
    unavailable: rules.Unavailable | None
    points_short: int
    within_reach: bool

    @property
    def redeemable(self) -> bool:
        return self.unavailable is None and self.points_short == 0


def shown_items(partner: Partner, *, now: datetime | None = None) -> QuerySet[Item]:
    """The items the portal shows the partner: those in the catalog whose audience includes it (an item for
    other kinds, regions or segments is not listed, and its page is not found). An item for a tier the partner
    has not reached is listed too, saying which tiers it is for: tiers unlock items, and a partner sees what
    the next tier brings (the rules refuse its redemption). With `now`, without those that have ended (one that
    has not started yet is listed and says when it will)."""
    items = _in_catalog(partner, now=now, whatever_the_tier=True)
    items = audiences.with_terms(items.select_related("category", "image"))
    return items.order_by("cost_points", "title")


def _in_catalog(partner: Partner, *, now: datetime | None, whatever_the_tier: bool = False) -> QuerySet[Item]:
    items = Item.objects.filter(_offered_to(partner, whatever_the_tier=whatever_the_tier), is_active=True)
    if now is not None:
        items = items.filter(Q(active_until__isnull=True) | Q(active_until__gt=now))
    return items


def offers_for(
    partner: Partner,
    items,
    *,
    now: datetime,
    balance: Balance | None = None,
) -> list[Offer]:
    """Each item with its reason for not being available to `partner` (if any) and what the partner lacks.

    A handful of queries whatever the number of items: the balance, the partner's tags and its tier (when an
    item's audience asks for them), and one count per limit period among the items that have a per-partner
    limit; the items' audiences come prefetched (`shown_items`) or are read per item.
    """
    items = list(items)
    balance = balance or balance_of(partner)
    facts = partner_facts(partner, tags_needed=_asks(items, "tags"), tier_needed=_asks(items, "tiers"))
    redeemed = _redeemed_by_item(partner, [item for item in items if item.limit_per_period], now=now)
    offers = []
    for item in items:
        item_facts = replace(facts, redeemed_in_period=redeemed.get(item.pk, 0))
        terms = item_terms(item)
        offers.append(
            Offer(
                item=item,
                unavailable=rules.why_unavailable(terms, item_facts, now=now),
                points_short=rules.points_short(cost_points=item.cost_points, quantity=1, available=balance.available),
                within_reach=rules.within_reach(
                    cost_points=item.cost_points, available=balance.available, pending=balance.pending
                ),
            )
        )
    return offers


@dataclass(frozen=True)
class RewardSuggestions:
    """The rewards the dashboard puts in front of a company: one it may redeem now, and the next to aim for."""

    redeemable: Offer | None  # the costliest reward it may redeem with the points it has
    next_goal: Offer | None  # the cheapest reward it may redeem once it has more points


def reward_suggestions(partner: Partner, *, balance: Balance, now: datetime) -> RewardSuggestions:
    """What the company may redeem now and what it should aim for next, among the rewards it may redeem at all
    (an item for an audience without it, out of stock, at its limit or not started yet is never suggested):
    one query of the items, their audience decided in it (the company's tier and tags read in the same query),
    then the catalog's own rules, for the dashboard asks on every view."""
    items = list(_suggestion_candidates(partner, now=now))
    facts = partner_facts(partner, tags_needed=False, tier_needed=False)  # the audience is decided in SQL
    redeemable = next_goal = None
    for item in items:  # cheapest first
        terms = item_terms(item, audience_decided=True)
        facts_now = replace(facts, redeemed_in_period=item.redeemed_in_period)
        if rules.why_unavailable(terms, facts_now, now=now) is not None:
            continue
        short = rules.points_short(cost_points=item.cost_points, quantity=1, available=balance.available)
        offer = Offer(
            item=item,
            unavailable=None,
            points_short=short,
            within_reach=rules.within_reach(
                cost_points=item.cost_points, available=balance.available, pending=balance.pending
            ),
        )
        if short == 0:
            redeemable = offer
        else:
            next_goal = offer
            break
    return RewardSuggestions(redeemable=redeemable, next_goal=next_goal)


def _suggestion_candidates(partner: Partner, *, now: datetime) -> QuerySet[Item]:
    """Every item the catalog shows the partner now, cheapest first, with the units the partner redeemed in its
    current limit period (`redeemed_in_period`)."""
    return (
        _in_catalog(partner, now=now)
        .annotate(redeemed_in_period=_units_in_current_period(partner, now=now))
        .order_by("cost_points", "title", "pk")
    )


def _units_in_current_period(partner: Partner, *, now: datetime) -> Coalesce:
    """Units of the outer item the partner redeemed in the item's current limit period (0 for an unlimited item,
    whose period is blank), as a subquery; the periods' starts come from the rules."""
    in_period = Q()
    for period in rules.Period.values:
        in_period |= Q(item__limit_period=period, created_at__gte=rules.period_start(period, now))
    units = (
        Redemption.objects.filter(in_period, partner=partner, item=OuterRef("pk"), status__in=COUNTED_STATUSES)
        .order_by()
        .values("item")
        .annotate(units=Sum("quantity"))
        .values("units")
    )
    return Coalesce(Subquery(units), 0)


def _redeemed_by_item(partner: Partner, limited: list[Item], *, now: datetime) -> dict[int, int]:
    counts: dict[int, int] = {}
    for period in {item.limit_period for item in limited}:
        ids = [item.pk for item in limited if item.limit_period == period]
        rows = (
            Redemption.objects.filter(
                partner=partner,
                item_id__in=ids,
                status__in=COUNTED_STATUSES,
                created_at__gte=rules.period_start(period, now),
            )
            .values("item_id")
            .annotate(units=Sum("quantity"))
        )
        counts.update({row["item_id"]: row["units"] for row in rows})
    return counts


def search_items(items: QuerySet[Item], text: str) -> QuerySet[Item]:
    """Items whose title or description, in either language, contains every word of `text`."""
    for word in text.split()[:8]:
        items = items.filter(
            Q(title__icontains=word)
            | Q(title_he__icontains=word)
            | Q(description__icontains=word)
            | Q(description_he__icontains=word)
        )
    return items


def _offered_to(partner: Partner, *, field: str = "audience", whatever_the_tier: bool = False) -> Q:
    """Items whose audience includes the partner (its tier read in the same query), or would at another tier."""
    tier_id = None if whatever_the_tier else tier_id_in_sql(partner)
    return audiences.offered_to(partner, tier_id=tier_id, field=field, whatever_the_tier=whatever_the_tier)


def categories_in_use(partner: Partner) -> QuerySet[Category]:
    """The categories with an item the partner is shown (a category of items for others only is not offered)."""
    offered = _offered_to(partner, field="items__audience", whatever_the_tier=True)
    return Category.objects.filter(offered, items__is_active=True).distinct().order_by("sort_order", "name")


# --- Redemptions ----------------------------------------------------------------------------------------


def redemptions_of(partner: Partner) -> QuerySet[Redemption]:
    """The company's own redemptions, newest first: the only redemptions a member ever sees."""
    return Redemption.objects.filter(partner=partner).select_related("item", "member")


def redemptions_visible_to(user: User) -> QuerySet[Redemption]:
    """The redemptions a staff user sees in the CMS: those of the partners they manage."""
    return Redemption.objects.filter(partner__in=partners_visible_to(user))


def may_read_codes(user: User, redemption: Redemption) -> bool:
    """Gift-card codes are money: only the redeeming company's members and administrators read them."""
    if not (user.is_authenticated and user.is_active):
        return False
    if sees_all_partners(user):
        return True
    membership = getattr(user, "membership", None)
    return membership is not None and membership.partner_id == redemption.partner_id


# --- Code pools -----------------------------------------------------------------------------------------


def pools_with_remaining() -> QuerySet[CodePool]:
    """Pools with `remaining` (codes not given yet) and `given` annotated."""
    return CodePool.objects.annotate(
        remaining=Count("codes", filter=Q(codes__redemption__isnull=True)),
        given=Count("codes", filter=Q(codes__redemption__isnull=False)),
    )


def remaining_codes(pool: CodePool) -> int:
    return GiftCode.objects.filter(pool=pool, redemption__isnull=True).count()


def low_pools() -> QuerySet[CodePool]:
    """Pools that an item draws from and that have fewer codes left than their warning threshold."""
    return pools_with_remaining().filter(items__is_active=True, remaining__lt=F("low_stock_threshold")).distinct()
