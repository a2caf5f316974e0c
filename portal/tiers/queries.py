"""Reads of tiers and expiry that pages, e-mails, the earning rules, the catalog and statements share."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import Subquery
from django.utils import timezone
from taggit.models import TaggedItem

from accounts.models import Audience, Partner
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


def tier_ids(partner_ids: Sequence[int]) -> dict[int, int]:
    """Each partner's tier id, for the partners the programme has reviewed: one query for them all."""
    return dict(PartnerTier.objects.filter(partner_id__in=partner_ids).values_list("partner_id", "tier_id"))


def tier_id_of(partner: Partner) -> int | None:
    """The partner's tier id (None before the programme's first review): what an audience's tier limit asks."""
    return PartnerTier.objects.filter(partner=partner).values_list("tier_id", flat=True).first()


def audience_sizes(audience_ids: Sequence[int]) -> dict[int, int]:
    """How many active partners each audience includes now, by audience id: one query for a page of audiences.

    The rule of ``accounts.audiences`` in SQL over every partner at once (here, as only tiers know a partner's
    tier); an audience nobody is in is left out."""
    tiers, tags = Audience.tiers.through._meta.db_table, Audience.tags.through._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT a.id, count(p.id)
            FROM {Audience._meta.db_table} a
            JOIN {Partner._meta.db_table} p
              ON p.status = %(active)s
             AND (cardinality(a.partner_kinds) = 0 OR p.kind = ANY(a.partner_kinds))
             AND (cardinality(a.regions) = 0 OR p.region = ANY(a.regions))
            LEFT JOIN {PartnerTier._meta.db_table} pt ON pt.partner_id = p.id
            WHERE a.id = ANY(%(ids)s)
              AND (NOT EXISTS (SELECT 1 FROM {tiers} t WHERE t.audience_id = a.id)
                   OR EXISTS (SELECT 1 FROM {tiers} t WHERE t.audience_id = a.id AND t.tier_id = pt.tier_id))
              AND (NOT EXISTS (SELECT 1 FROM {tags} g WHERE g.audience_id = a.id)
                   OR EXISTS (SELECT 1 FROM {tags} g JOIN {TaggedItem._meta.db_table} ti ON ti.tag_id = g.tag_id
                              WHERE g.audience_id = a.id AND ti.content_type_id = %(partner_type)s
                                AND ti.object_id = p.id))
            GROUP BY a.id
            """,
            {
                "active": Partner.Status.ACTIVE,
                "ids": list(audience_ids),
                "partner_type": ContentType.objects.get_for_model(Partner).pk,
            },
        )
        return dict(cursor.fetchall())


def tier_id_in_sql(partner: Partner) -> Subquery:
    """The partner's tier id as a subquery (NULL before its first review), for a filter that needs it
    without a query of its own (``accounts.audiences.offered_to``)."""
    return Subquery(PartnerTier.objects.filter(partner_id=partner.pk).values("tier_id")[:1])


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
class TierProgress:
    """A partner's tier and its way to the next, as the dashboard's card and the statement show them."""

    standing: PartnerTier  # with its tier, earned tier and grant read
    qualifying_points: int
    next_tier: Tier | None
    points_to_next: int
    progress_percent: int
    keep: Keep | None = None

    @property
    def tier(self) -> Tier:
        return self.standing.tier


def tier_progress(partner_ids: Sequence[int], *, on: date, until: datetime | None = None) -> dict[int, TierProgress]:
    """Each reviewed partner's tier (as it stands now) and its way to the next, by partner id; partners the
    programme has not reviewed yet are missing.

    Qualifying points are those of the twelve months before `on` (from the first moment of the day twelve
    months back), counted up to `until` (exclusive; a statement's month end) or, by default, up to now. Only
    as of now (no `until`), a standing whose review on a later day would move it down also gets what keeps
    it (``keep``). Four queries whatever the batch's size: the standings, the tiers, the programme's
    settings and the points (each partner's points on each day asked for in one statement)."""
    standings = {
        s.partner_id: s
        for s in PartnerTier.objects.select_related("tier", "earned_tier", "grant").filter(partner_id__in=partner_ids)
    }
    if not standings:
        return {}
    tiers = list(Tier.objects.all())
    steps = [rules.TierStep(t.id, t.threshold) for t in tiers]
    reviews = (
        [] if until else sorted({s.downgrade_on for s in standings.values() if s.downgrade_on and s.downgrade_on > on})
    )
    days = [on, *reviews]
    since = [start_of(rules.add_months(day, -12)) for day in days] + ([until] if until else [])
    sums = net_points_since(
        list(standings), credit_codes=TierSettings.load().qualifying_codes, debit_codes=[Code.CLAWBACK], since=since
    )
    progress = {}
    for partner_id, standing in standings.items():
        figures = sums.get(partner_id, [0] * len(since))
        points = figures[0] - (figures[-1] if until else 0)
        above = rules.next_tier(rules.TierStep(standing.tier.id, standing.tier.threshold), steps)
        next_tier = next((t for t in tiers if above and t.id == above.id), None)
        keep = None
        if standing.downgrade_on in reviews:
            then = figures[days.index(standing.downgrade_on)]
            needed = standing.earned_tier.threshold - then
            if needed > 0:
                lower = rules.tier_for(then, steps)
                keep = Keep(
                    standing.downgrade_on,
                    standing.downgrade_on - timedelta(days=1),
                    needed,
                    next((t for t in tiers if lower and t.id == lower.id), None),
                )
        progress[partner_id] = TierProgress(
            standing=standing,
            qualifying_points=points,
            next_tier=next_tier,
            points_to_next=max(0, next_tier.threshold - points) if next_tier else 0,
            progress_percent=100 if not next_tier else min(100, max(0, points * 100 // max(next_tier.threshold, 1))),
            keep=keep,
        )
    return progress


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
    progress = tier_progress([partner.pk], on=today or programme_today()).get(partner.pk)
    if progress is None:
        return None
    status, grant = progress.standing, progress.standing.grant
    return TierCard(
        tier=status.tier,
        qualifying_points=progress.qualifying_points,
        next_tier=progress.next_tier,
        points_to_next=progress.points_to_next,
        progress_percent=progress.progress_percent,
        granted_until=grant.ends_on if grant and grant.tier_id == status.tier_id else None,
        keep=progress.keep,
    )
