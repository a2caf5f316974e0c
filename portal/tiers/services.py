"""The tiers' use cases: the periodic runs (tier review, expiry and its warnings) and grants.

Both runs take a batch of partners and cost the same few statements whatever its size: tiers and settings
once, then the batch's standings (locked), its grants, its qualifying points, and one write of each kind.
They are safe to run twice: a tier moves only when the points say so, a monthly review remembers the day it
ran, expiries are keyed by partner and day (``portal.ledger.expiry``), and notices by what they announce.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction

from accounts.models import Partner, User
from accounts.queries import partners_visible_to
from portal.bulk import batch_cursor, bind_array
from portal.ledger import expiry
from portal.notices import services as notices
from portal.tiers import rules
from portal.tiers.models import PartnerTier, Tier, TierChange, TierGrant, TierSettings
from portal.tiers.queries import programme_today, qualifying_points

logger = logging.getLogger(__name__)

DOWNGRADE_WARNING = "tiers.downgrade_warning"
EXPIRY_WARNING = "tiers.expiry_warning"
Reason = TierChange.Reason


# --- The tier review ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewResult:
    partners: int
    changed: int
    warned: int


def review_tiers(partner_ids: Sequence[int], *, today: date, monthly: bool, by: User | None = None) -> ReviewResult:
    """Review a batch of partners' tiers on `today`: up where the points reach higher, grants begun or
    ended, and (`monthly`) the month's review for partners not reviewed yet this month (normally on the 1st;
    a run missed then is caught up by the next): down after the grace period, with a warning a review before."""
    tiers = list(Tier.objects.all())
    if not tiers or tiers[0].threshold != 0:
        logger.warning("Tier review skipped: the programme has no base tier (a tier with 0 qualifying points).")
        return ReviewResult(len(partner_ids), 0, 0)
    config = TierSettings.load()
    steps = {t.id: rules.TierStep(t.id, t.threshold) for t in tiers}
    by_id = {t.id: t for t in tiers}
    next_review = rules.first_of_next_month(today)
    with transaction.atomic():
        joined = _open_standings(partner_ids, base=tiers[0], today=today)
        standings = {
            s.partner_id: s
            for s in PartnerTier.objects.filter(partner_id__in=partner_ids).order_by("partner_id").select_for_update()
        }
        grants = _active_grants(list(standings), today)
        points = qualifying_points(list(standings), on=[today, next_review], codes=config.qualifying_codes)
        changes, warnings, changed = [], [], []
        for partner_id, status in standings.items():
            now_points, next_points = points.get(partner_id, [0, 0])
            before = rules.Standing(steps[status.earned_tier_id], status.reviews_below, status.downgrade_on)
            if monthly and (status.reviewed_on is None or status.reviewed_on < today.replace(day=1)):
                review = rules.monthly(
                    before, now_points, next_points, list(steps.values()), grace=config.grace_months,
                    next_review=next_review,
                )  # fmt: skip
                status.reviewed_on = today
            else:
                review = rules.daily(before, now_points, list(steps.values()))
            after = review.standing
            grant = grants.get(partner_id)
            held = by_id[after.earned.id]
            if grant is not None and grant.tier.threshold > held.threshold:
                held = grant.tier
            if held.id != status.tier_id:
                reason = _reason(status, held, after, grant, review.moved_down)
                changes.append(
                    TierChange(
                        partner_id=partner_id, from_tier_id=status.tier_id, to_tier=held, reason=reason,
                        qualifying_points=now_points, changed_on=today,
                        note=grant.reason if reason == Reason.GRANTED else "", changed_by=by,
                    )
                )  # fmt: skip
                status.since = today
            if review.warn and status.downgrade_on != after.downgrade_on:
                warnings.append((partner_id, after.downgrade_on, after.earned.id))
            status.tier, status.earned_tier_id = held, after.earned.id
            status.reviews_below, status.downgrade_on = after.reviews_below, after.downgrade_on
            status.grant = grant
            status.qualifying_points = now_points
            changed.append(status)
        _save_standings(changed)
        TierChange.objects.bulk_create(changes)
        notices.enqueue_many(
            DOWNGRADE_WARNING,
            [
                (
                    f"{DOWNGRADE_WARNING}:{p}:{day.isoformat()}",
                    {"partner": p, "downgrade_on": day.isoformat(), "tier": t},
                )
                for p, day, t in warnings
            ],
        )
    return ReviewResult(len(partner_ids), len(changes) + joined, len(warnings))


_STANDING_COLUMNS = [
    ("id", "bigint"),
    ("tier_id", "bigint"),
    ("earned_tier_id", "bigint"),
    ("grant_id", "bigint"),
    ("qualifying_points", "bigint"),
    ("reviews_below", "smallint"),
    ("downgrade_on", "date"),
    ("reviewed_on", "date"),
    ("since", "date"),
]


def _save_standings(standings: list[PartnerTier]) -> None:
    """One UPDATE from arrays for the batch's standings (``bulk_update``'s CASE per row and column costs a
    second of Python for a thousand)."""
    if not standings:
        return
    params: dict = {}
    arrays = [
        bind_array(params, name, [getattr(s, name) for s in standings], pg_type) for name, pg_type in _STANDING_COLUMNS
    ]
    names = [name for name, _type in _STANDING_COLUMNS]
    assignments = ", ".join(f"{name} = v.{name}" for name in names[1:])
    with batch_cursor() as cursor:
        cursor.execute(
            f"UPDATE tiers_partnertier AS t SET {assignments}"
            f" FROM unnest({', '.join(arrays)}) AS v({', '.join(names)}) WHERE t.id = v.id",
            params,
        )


def _reason(status: PartnerTier, held: Tier, after: rules.Standing, grant, moved_down: bool) -> str:
    if grant is not None and held.id == grant.tier_id and status.grant_id != grant.id:
        return Reason.GRANTED
    if moved_down:
        return Reason.GRACE_OVER
    if status.grant_id and (grant is None or grant.id != status.grant_id) and held.id == after.earned.id:
        return Reason.GRANT_ENDED
    return Reason.QUALIFIED


def _open_standings(partner_ids: Sequence[int], *, base: Tier, today: date) -> int:
    """A standing at the base tier for each partner reviewed for the first time (one statement), and the
    history's first row for each; how many were opened."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO tiers_partnertier (partner_id, tier_id, earned_tier_id, qualifying_points, reviews_below, since)
            SELECT p, %(base)s, %(base)s, 0, 0, %(today)s FROM unnest(%(partners)s::bigint[]) AS p
            ON CONFLICT (partner_id) DO NOTHING
            RETURNING partner_id
            """,
            {"base": base.id, "today": today, "partners": list(partner_ids)},
        )
        opened = [row[0] for row in cursor.fetchall()]
    TierChange.objects.bulk_create(
        TierChange(partner_id=p, to_tier=base, reason=Reason.JOINED, qualifying_points=0, changed_on=today)
        for p in opened
    )
    return len(opened)


def _active_grants(partner_ids: list[int], today: date) -> dict[int, TierGrant]:
    """Each partner's best grant running on `today`."""
    best: dict[int, TierGrant] = {}
    running = TierGrant.objects.filter(partner_id__in=partner_ids).running_on(today)
    for grant in running.select_related("tier"):
        known = best.get(grant.partner_id)
        if known is None or grant.tier.threshold > known.tier.threshold:
            best[grant.partner_id] = grant
    return best


# --- Grants ------------------------------------------------------------------------------------------


def grant_tier(
    partner: Partner, *, tier: Tier, ends_on: date, reason: str, granted_by: User, starts_on: date | None = None
) -> TierGrant:
    """Give a partner of the manager's portfolio a tier until `ends_on` (a status match); it holds at once."""
    if not partners_visible_to(granted_by).filter(pk=partner.pk).exists():
        raise PermissionDenied("This partner is not in your portfolio.")
    today = programme_today()
    starts_on = starts_on or today
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say why the partner gets this tier."})
    if ends_on < starts_on:
        raise ValidationError({"ends_on": "The grant must end on or after the day it starts."})
    if ends_on < today:
        raise ValidationError({"ends_on": "The grant would be over already."})
    with transaction.atomic():
        grant = TierGrant.objects.create(
            partner=partner, tier=tier, starts_on=starts_on, ends_on=ends_on, reason=reason[:300], granted_by=granted_by
        )
        review_tiers([partner.pk], today=today, monthly=False, by=granted_by)
    return grant


def end_grant(grant: TierGrant, *, ended_by: User) -> None:
    """End a grant today (a mistake, or a match that no longer holds); the partner keeps what it earned."""
    if not partners_visible_to(ended_by).filter(pk=grant.partner_id).exists():
        raise PermissionDenied("This partner is not in your portfolio.")
    today = programme_today()
    with transaction.atomic():
        TierGrant.objects.filter(pk=grant.pk, ended_early_on__isnull=True).update(
            ended_early_on=today, ended_by=ended_by
        )
        review_tiers([grant.partner_id], today=today, monthly=False, by=ended_by)


# --- Expiry ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpiryResult:
    partners: int
    expired_points: int
    warned: int


def run_expiry(partner_ids: Sequence[int], *, today: date) -> ExpiryResult:
    """Expire what is due for a batch of partners, and queue a warning for each day points will expire on
    within the warning period (one per partner and day, however often this runs)."""
    config = TierSettings.load()
    months = config.expiry_months
    run = expiry.expire_due(
        partner_ids, months=months, today=today, coming_until=today + timedelta(days=config.expiry_warning_days)
    )
    expired, coming = run.expired, run.coming
    with transaction.atomic():
        notices.enqueue_many(
            EXPIRY_WARNING,
            [
                (
                    f"{EXPIRY_WARNING}:{c.partner_id}:{c.expires_on.isoformat()}",
                    {"partner": c.partner_id, "expires_on": c.expires_on.isoformat()},
                )
                for c in coming
            ],
        )
    return ExpiryResult(len(partner_ids), sum(e.points for e in expired), len(coming))
