"""Reads of tiers and expiry that pages, e-mails, the earning rules, the catalog and statements share."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from accounts.models import Partner
from portal.ledger import expiry
from portal.ledger.models import Code
from portal.ledger.queries import net_points_since
from portal.tiers import rules
from portal.tiers.models import PartnerTier, Tier, TierSettings

EXPIRY_HORIZON_DAYS = 90  # how far ahead the dashboard (and the statement) shows expiring points


def programme_today() -> date:
    return timezone.localdate(timezone.now(), ZoneInfo(settings.PROGRAMME_TIME_ZONE))


def start_of(day: date) -> datetime:
    """The first moment of a day of the programme's calendar."""
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(settings.PROGRAMME_TIME_ZONE))


def qualifying_points(partner_ids: Sequence[int], *, on: Sequence[date], codes: Sequence[str]) -> dict[int, list]:
    """Each partner's qualifying points over the twelve months before each day of `on`: points of the
    qualifying codes, net of returns (clawbacks); redemptions and expiries never lower them."""
    since = [start_of(rules.add_months(day, -12)) for day in on]
    return net_points_since(partner_ids, credit_codes=codes, debit_codes=[Code.CLAWBACK], since=since)


def tier_multipliers(partner_ids: Sequence[int]) -> dict[int, tuple[str, str, Decimal]]:
    """The tier each partner earns order points at now, as (name, Hebrew name, multiplier); partners at x1
    are left out."""
    rows = PartnerTier.objects.filter(partner_id__in=partner_ids, tier__multiplier__gt=1).values_list(
        "partner_id", "tier__name", "tier__name_he", "tier__multiplier"
    )
    return {partner_id: (name, name_he, multiplier) for partner_id, name, name_he, multiplier in rows}


def tier_of(partner: Partner) -> Tier | None:
    status = PartnerTier.objects.select_related("tier").filter(partner=partner).first()
    return status.tier if status else None


def expiring_soon(partner: Partner, *, until: date | None = None) -> list[expiry.Expiring]:
    """The partner's points by the day they expire, from today (or due already) to `until` (90 days)."""
    today = programme_today()
    until = until or today + timedelta(days=EXPIRY_HORIZON_DAYS)
    return expiry.expiring([partner.pk], months=TierSettings.load().expiry_months, until=until)


@dataclass(frozen=True)
class Keep:
    """What keeps the tier when the next review would move it down."""

    downgrade_on: date  # the review
    by_day: date  # the last day that counts
    points_needed: int
    lower_tier: Tier | None


@dataclass(frozen=True)
class TierCard:
    tier: Tier
    qualifying_points: int
    next_tier: Tier | None
    points_to_next: int
    progress_percent: int
    granted_until: date | None
    keep: Keep | None


def tier_card(partner: Partner, *, today: date | None = None) -> TierCard | None:
    """The partner's tier as the dashboard shows it; None until the programme has reviewed it."""
    status = PartnerTier.objects.select_related("tier", "earned_tier", "grant").filter(partner=partner).first()
    if status is None:
        return None
    today = today or programme_today()
    tiers = list(Tier.objects.all())
    codes = TierSettings.load().qualifying_codes
    days = [today] + ([status.downgrade_on] if status.downgrade_on and status.downgrade_on > today else [])
    figures = qualifying_points([partner.pk], on=days, codes=codes).get(partner.pk, [0] * len(days))
    points = figures[0]
    steps = [rules.TierStep(t.id, t.threshold) for t in tiers]
    above = rules.next_tier(rules.TierStep(status.tier.id, status.tier.threshold), steps)
    next_tier = next((t for t in tiers if above and t.id == above.id), None)
    to_next = max(0, next_tier.threshold - points) if next_tier else 0
    percent = 100 if not next_tier else min(100, max(0, points * 100 // max(next_tier.threshold, 1)))
    keep = None
    if len(days) == 2:
        needed = status.earned_tier.threshold - figures[1]
        if needed > 0:
            lower = rules.tier_for(figures[1], steps)
            keep = Keep(
                status.downgrade_on,
                status.downgrade_on - timedelta(days=1),
                needed,
                next((t for t in tiers if lower and t.id == lower.id), None),
            )
    grant = status.grant
    return TierCard(
        tier=status.tier,
        qualifying_points=points,
        next_tier=next_tier,
        points_to_next=to_next,
        progress_percent=percent,
        granted_until=grant.ends_on if grant and grant.tier_id == status.tier_id else None,
        keep=keep,
    )
