"""Orders: their points (pending until the return window ends), the punch card, and the release of the
points whose window is over."""

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from django.utils import timezone
from taggit.models import TaggedItem

from accounts.audiences import PartnerFacts
from accounts.models import Partner
from portal.bulk import batch_cursor
from portal.earning import rules
from portal.earning.models import Adjustment, Order
from portal.earning.recording.common import (
    MAX_BATCH,
    MAX_MONEY,
    MAX_POINTS,
    RECORD_COLUMNS,
    Batch,
    ItemResult,
    load_programme,
    post_points,
    recorded_before,
    retrying,
)
from portal.earning.rules import Rule
from portal.earning.schemas import OrderIn
from portal.earning.wording import OrderAbout, OrderReleasedAbout
from portal.ledger import services as ledger
from portal.ledger.models import Code
from portal.ledger.queries import open_pending
from portal.signals import announce_erp_records
from portal.tiers import queries as tiers

_ORDER_COLUMNS = [
    *RECORD_COLUMNS,
    ("partner_id", "bigint"),
    ("placed_at", "timestamptz"),
    ("currency", "text"),
    ("net_total", "numeric"),
    ("points", "bigint"),
    ("breakdown", "text"),
    ("breakdown_parts", "jsonb"),
    ("bulk_bonus_points", "bigint"),
    ("other_bonus_points", "bigint"),
    ("points_release_at", "timestamptz"),
    ("punch_number", "integer"),
]
_LINE_COLUMNS = [
    ("order_id", "bigint"),
    ("line_no", "integer"),
    ("sku", "text"),
    ("category", "text"),
    ("quantity", "integer"),
    ("net_amount", "numeric"),
    ("points", "bigint"),
]


def tier_multipliers(partner_ids: Sequence[int]) -> dict[int, tuple[str, str, Decimal]]:
    """The tier each partner earns at, as (tier name, its Hebrew name, multiplier); partners at x1 are left
    out. The hook through which tiers multiply order points: one query for the whole batch."""
    return tiers.tier_multipliers(partner_ids)


def record_orders(items: Sequence[OrderIn], *, source: str) -> list[ItemResult]:
    return retrying(lambda: _record_orders(list(items), source))


def _lock_partners(external_ids) -> dict[str, Partner]:
    partners = Partner.objects.filter(external_id__in=set(external_ids)).order_by("id").select_for_update(no_key=True)
    return {p.external_id: p for p in partners}


def _punches_so_far(partner_ids: list[int]) -> dict[int, int]:
    """Each partner's count of punch-card orders so far: one index probe per partner, however many orders."""
    with batch_cursor() as cursor:
        cursor.execute(
            """
            SELECT p, coalesce((SELECT o.punch_number FROM earning_order o
                                WHERE o.partner_id = p AND o.punch_number IS NOT NULL
                                ORDER BY o.punch_number DESC LIMIT 1), 0)
            FROM unnest(%b::bigint[]) AS p
            """,
            [partner_ids],
        )
        return dict(cursor.fetchall())


def _partner_tags(partner_ids) -> dict[int, frozenset[int]]:
    """Each partner's tags (their ids, as audiences name them): one query for the batch."""
    tags = defaultdict(set)
    rows = TaggedItem.objects.filter(
        content_type__app_label="accounts", content_type__model="partner", object_id__in=partner_ids
    ).values_list("object_id", "tag_id")
    for partner_id, tag_id in rows:
        tags[partner_id].add(tag_id)
    return {pid: frozenset(ids) for pid, ids in tags.items()}


def _record_orders(items: list[OrderIn], source: str) -> list[ItemResult]:
    if not items:
        return []
    partners = _lock_partners(item.partner for item in items)
    batch = Batch(recorded_before(Order, items, reviewed=True))
    placed = [item.placed_at for item in items]
    programme = load_programme(min(placed), max(placed))
    tags = _partner_tags([p.id for p in partners.values()])
    # A partner's tier decides whether a campaign for some tiers runs for it: read only when one asks.
    tier_ids = tiers.tier_ids([p.id for p in partners.values()]) if programme.campaigns_ask_tiers else {}
    multipliers = tier_multipliers([p.id for p in partners.values()])
    punched = _punches_so_far([p.id for p in partners.values()])

    now = timezone.now()
    for item, print_ in batch.new(items):
        partner = batch.referred(item, "partner", partners)
        if partner is None:
            continue
        if item.currency != programme.currency:
            batch.reject(item, "currency", f"the programme counts in {programme.currency}, not {item.currency}")
            continue
        order_lines = [rules.Line(line.sku, line.category, line.quantity, line.net_amount) for line in item.lines]
        net_total = sum((line.net_amount for line in item.lines), Decimal(0))
        if net_total > MAX_MONEY:
            batch.reject(item, "lines", f"the lines add up to {net_total:,}: beyond any order")
            continue
        if partner.status == Partner.Status.ACTIVE:
            tier_name, tier_name_he, tier_multiplier = multipliers.get(partner.id, ("", "", rules.ONE))
            points = rules.order_points(
                order_lines,
                placed_at=item.placed_at,
                partner=PartnerFacts(
                    kind=partner.kind,
                    region=partner.region,
                    tier=tier_ids.get(partner.id),
                    tags=tags.get(partner.id, frozenset()),
                ),
                rates=programme.rates,
                campaigns=programme.campaigns,
                qualifying_orders_before=punched[partner.id],
                tier_multiplier=tier_multiplier,
                tier_name=tier_name,
                tier_name_he=tier_name_he,
            )
            breakdown, parts = points.breakdown, points.parts_data
            if points.total > MAX_POINTS:
                batch.reject(item, "lines", f"the lines earn {points.total:,} points: beyond any order")
                continue
        else:
            points = rules.Points(line_points=tuple(0 for _ in order_lines))
            breakdown = f"no points: the partner's membership is {partner.get_status_display().lower()}"
            parts = [{"rule": Rule.NOT_ACTIVE, "points": 0, "name": partner.status}]
        punch_number = None
        if rules.qualifies_for_punch_card(net_total, rates=programme.rates):
            punched[partner.id] += 1
            punch_number = punched[partner.id]

        bulk = next((p.points for p in points.parts if p.rule == Rule.BULK_BONUS), 0)
        release_at = item.placed_at + programme.return_window
        review = rules.review_reason(
            f"Order {item.external_id}",
            net_total,
            points.total,
            amount_above=programme.review.order_above,
            points_above=programme.review.points_above,
            currency=programme.currency,
        )
        given = 0 if review else points.total  # the order's points column: what the partner was given
        batch.records.append(
            (item.external_id, print_, now, partner.id, item.placed_at, item.currency, net_total, given,
             breakdown[:500], json.dumps(parts), bulk, points.total - sum(points.line_points) - bulk, release_at,
             punch_number)
        )  # fmt: skip
        batch.lines.extend(
            (item.external_id, line.line_no, line.sku, line.category, line.quantity, line.net_amount, line_points)
            for line, line_points in zip(item.lines, points.line_points, strict=True)
        )
        if review:
            batch.reviews.append((item.external_id, partner.id, points.total, review))
        elif points.total:
            batch.transfers.append(
                order_earning(
                    partner.id,
                    item.external_id,
                    points.total,
                    breakdown=breakdown,
                    parts=parts,
                    source=source,
                    placed_at=item.placed_at,
                )
            )
        batch.created(item, print_, given, held=bool(review))

    batch.write(
        "earning_order",
        _ORDER_COLUMNS,
        lines=("earning_orderline", _LINE_COLUMNS),
        reviewed_as="order_id",
        source=source,
    )
    announce_erp_records(kind="orders", partner_ids=(record[3] for record in batch.records))
    return batch.results


def order_earning(partner_id: int, order: str, amount: int, *, breakdown, parts, source, placed_at, **details):
    """An order's points, pending until its return window ends; keyed by the order, so they are given once."""
    return ledger.earning(
        partner_id,
        key=f"order:{order}",
        amount=amount,
        code=Code.ORDER,
        reason=f"Order {order}",
        pending=True,
        details={"breakdown": breakdown, "parts": parts, "about": OrderAbout(order).as_details(), **details},
        actor_label=source,
        ref_type="order",
        ref_id=order,
        effective_at=placed_at,
    )


def post_reviewed_order_points(review: Adjustment, details: dict) -> None:
    """Give what still waits of an approved review's order points, as pending points of the order (under the
    order's key, so approving twice gives them once), and record them on the order."""
    order = Order.objects.get(pk=review.order_id)
    if review.points:
        earned = sum(part.get("points", 0) for part in order.breakdown_parts)
        breakdown, parts = order.breakdown, order.breakdown_parts
        if review.points != earned:  # goods came back while the points waited
            breakdown = f"{earned:,} earned - {earned - review.points:,} returned goods"
            parts = [
                {"rule": Rule.PENDING, "points": earned},
                {"rule": Rule.RETURNED_GOODS, "points": review.points - earned},
            ]
        post_points(
            [
                order_earning(
                    order.partner_id,
                    order.external_id,
                    review.points,
                    breakdown=breakdown,
                    parts=parts,
                    source=review.requested_by_label,
                    placed_at=order.placed_at,
                    **details,
                )
            ]
        )
    Order.objects.filter(pk=order.pk).update(points=review.points)


def release_order_points(*, now: datetime | None = None, batch_size: int = MAX_BATCH) -> int:
    """Make available the points of orders whose return window has ended; safe to run twice.

    Each release is keyed by the pending transfer it posts, so a second run, or
    two runs at once, post each release once.
    """
    now = now or timezone.now()
    released = 0
    while True:
        due = list(
            open_pending()
            .filter(ref_type="order", code=Code.ORDER)
            .filter(ref_id__in=Order.objects.filter(points_release_at__lte=now).values("external_id"))
            .order_by("id")
            .values_list("key", "ref_id")[:batch_size]
        )
        if not due:
            return released
        release_at = dict(
            Order.objects.filter(external_id__in=[ref for _, ref in due]).values_list(
                "external_id", "points_release_at"
            )
        )
        results = ledger.post_transfers(
            [
                ledger.resolution(
                    f"{key}:released",
                    pending_key=key,
                    code=Code.ORDER,
                    reason=f"Order {ref}: return window over, points available",
                    details={"about": OrderReleasedAbout(ref).as_details()},
                    actor_label="return window",
                    ref_type="order",
                    ref_id=ref,
                    effective_at=release_at[ref],
                )
                for key, ref in due
            ]
        )
        released += sum(1 for r in results if r.status == "created")
        if len(due) < batch_size:
            return released
