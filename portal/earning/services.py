"""Recording what the ERP sends and posting the points it earns.

Each ``record_*`` takes a batch of validated items (``schemas.py``) and answers
one ``ItemResult`` per item, in order: ``created``, ``duplicate`` (the same id
with the same content was recorded before: nothing changes) or ``rejected``
(with the field and the reason; nothing of that item is written). An order or a
payment above the programme's limits (``EarningSettings.review_*``) is
recorded, but its points wait for a person (``held_for_review``): they are the
points of an ``Adjustment`` that reviews the record, and reach the partner only
when someone approves it (``post_reviewed_points``). A batch is
one transaction with one statement per table, and its ledger entries are one
``post_transfers`` call, so the API, the CSV import, the demo seed and the
benchmark all go through the same fast path.

Locks, in this order everywhere: partners (orders, payments' invoices'
partners), then orders or invoices, then the ledger's accounts (taken by the
ledger itself, last).
"""

import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Literal

from django.db import transaction
from django.db.models import F, Sum
from django.db.models.functions import Greatest
from django.utils import timezone
from pydantic import BaseModel, ValidationError
from taggit.models import TaggedItem

from accounts.models import Partner
from portal.bulk import batch_cursor, insert_rows
from portal.earning import rules
from portal.earning.models import Adjustment, Campaign, EarningSettings, Invoice, Order, OrderLine, Payment, Return
from portal.earning.rules import Rule
from portal.earning.schemas import InvoiceIn, OrderIn, PaymentIn, ReturnIn
from portal.earning.wording import EarlyPaymentAbout, OrderAbout, OrderAfterReturnAbout, OrderReleasedAbout, ReturnAbout
from portal.ledger import services as ledger
from portal.ledger.models import Code, Transfer
from portal.ledger.queries import open_pending, open_pending_of

MAX_BATCH = 1_000
MAX_MONEY = Decimal("999999999999.99")  # what a money column (14 digits, 2 decimals) holds
MAX_POINTS = 2**63 - 1  # what a points column (bigint) holds


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


@dataclass(frozen=True)
class ItemResult:
    external_id: str
    status: Literal["created", "duplicate", "rejected"]
    points: int | None = None
    errors: tuple[FieldError, ...] = ()
    held_for_review: bool = False  # recorded, but its points wait for a person's approval


def rejected(external_id: str, field: str, message: str) -> ItemResult:
    return ItemResult(external_id, "rejected", errors=(FieldError(field, message),))


# --- Validation of raw items (the API and the CSV import share it) -----------------------


def parse_items(raw_items: Sequence, schema: type[BaseModel]) -> list[BaseModel | ItemResult]:
    """Validate each raw item on its own: a model, or a rejected result naming each bad field."""
    parsed = []
    for raw in raw_items:
        try:
            parsed.append(schema.model_validate(raw))
        except ValidationError as error:
            external_id = str(raw.get("external_id", "")) if isinstance(raw, dict) else ""
            errors = tuple(FieldError(field_path(e["loc"]), e["msg"]) for e in error.errors())
            parsed.append(ItemResult(external_id, "rejected", errors=errors))
    return parsed


def field_path(loc: Sequence) -> str:
    """('lines', 2, 'quantity') -> 'lines[2].quantity'"""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "item"


def fingerprint(item: BaseModel) -> str:
    """The item's content as the schema normalised it (money in cents, moments in UTC), hashed."""
    return hashlib.sha256(item.model_dump_json().encode()).hexdigest()


def record(kind: str, raw_items: Sequence, *, source: str) -> list[ItemResult]:
    """Validate and record a batch of raw items of one kind ('orders', 'returns', 'invoices', 'payments')."""
    schema, recorder = RECORDERS[kind]
    parsed = parse_items(raw_items, schema)
    valid = [item for item in parsed if not isinstance(item, ItemResult)]
    recorded = iter(recorder(valid, source=source))
    return [item if isinstance(item, ItemResult) else next(recorded) for item in parsed]


# --- The programme's numbers, read once per batch ------------------------------------------


@dataclass(frozen=True)
class Programme:
    currency: str
    return_window: timedelta
    rates: rules.Rates
    campaigns: list[rules.CampaignRule]
    review: rules.ReviewLimits


def load_programme(placed_from: datetime | None = None, placed_until: datetime | None = None) -> Programme:
    settings = EarningSettings.load()
    campaigns = Campaign.objects.all()
    if placed_from and placed_until:
        campaigns = campaigns.filter(starts_at__lte=placed_until, ends_at__gt=placed_from)
    return Programme(
        currency=settings.currency,
        return_window=timedelta(days=settings.return_window_days),
        rates=rates_of(settings, {m.category: m.multiplier for m in settings.category_multipliers.all()}),
        campaigns=[
            rules.CampaignRule(
                name=c.name,
                starts_at=c.starts_at,
                ends_at=c.ends_at,
                partner_kinds=frozenset(c.partner_kinds),
                regions=frozenset(c.regions),
                tags=frozenset(c.tags),
                categories=frozenset(c.categories),
                skus=frozenset(c.skus),
                multiplier=c.multiplier,
                bonus_points=c.bonus_points,
            )
            for c in campaigns
        ],
        review=rules.ReviewLimits(
            order_above=settings.review_order_above,
            invoice_above=settings.review_invoice_above,
            points_above=settings.review_points_above,
        ),
    )


def rates_of(settings: EarningSettings, category_multipliers: dict[str, Decimal]) -> rules.Rates:
    """The earning rules' numbers, from the programme's settings and its category multipliers."""
    return rules.Rates(
        points_per_unit=settings.points_per_unit,
        category_multipliers=category_multipliers,
        bulk_threshold=settings.bulk_threshold,
        bulk_bonus_points=settings.bulk_bonus_points,
        punch_card_every=settings.punch_card_every,
        punch_card_min_value=settings.punch_card_min_value,
        punch_card_bonus_points=settings.punch_card_bonus_points,
        early_payment_min_days=settings.early_payment_min_days,
        early_payment_points_per_unit=settings.early_payment_points_per_unit,
    )


def tier_multipliers(partner_ids: Sequence[int]) -> dict[int, tuple[str, Decimal]]:
    """The tier each partner earns at, as (tier name, multiplier).

    The hook through which tiers multiply order points. Until the programme
    has tiers, every partner earns at x1 and this answers nothing.
    """
    return {}


# --- Orders ------------------------------------------------------------------------------


class _Raced(Exception):
    """A concurrent batch recorded one of our ids after we looked: retry, and see it as a duplicate."""


def _retrying(work):
    for attempt in range(3):
        try:
            with transaction.atomic():
                return work()
        except _Raced:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def record_orders(items: Sequence[OrderIn], *, source: str) -> list[ItemResult]:
    return _retrying(lambda: _record_orders(list(items), source))


def _known(model, items, *, reviewed=False) -> dict[str, tuple[str, int, bool]]:
    """(fingerprint, points, whether they wait for review) of the items already recorded, by ERP id."""
    ids = [item.external_id for item in items]
    rows = model.objects.filter(external_id__in=ids)
    if not reviewed:
        return {e: (f, p, False) for e, f, p in rows.values_list("external_id", "fingerprint", "points")}
    return {
        e: (f, p, review == Adjustment.Status.AWAITING_APPROVAL)
        for e, f, p, review in rows.values_list("external_id", "fingerprint", "points", "points_review__status")
    }


def _seen_before(item, print_, known: dict, batch: dict) -> ItemResult | None:
    """A duplicate or a conflict, if this id was recorded before or earlier in the batch."""
    first = known.get(item.external_id) or batch.get(item.external_id)
    if first is None:
        return None
    first_print, points, held = first
    if first_print == print_:
        return ItemResult(item.external_id, "duplicate", points=points, held_for_review=held)
    return rejected(item.external_id, "external_id", "conflicts with the first item sent with this id")


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


def _partner_tags(partner_ids) -> dict[int, frozenset[str]]:
    tags = defaultdict(set)
    rows = TaggedItem.objects.filter(
        content_type__app_label="accounts", content_type__model="partner", object_id__in=partner_ids
    ).values_list("object_id", "tag__name")
    for partner_id, name in rows:
        tags[partner_id].add(name)
    return {pid: frozenset(names) for pid, names in tags.items()}


def _record_orders(items: list[OrderIn], source: str) -> list[ItemResult]:
    if not items:
        return []
    partners = _lock_partners(item.partner for item in items)
    known = _known(Order, items, reviewed=True)
    placed = [item.placed_at for item in items]
    programme = load_programme(min(placed), max(placed))
    tags = _partner_tags([p.id for p in partners.values()])
    tiers = tier_multipliers([p.id for p in partners.values()])
    punched = _punches_so_far([p.id for p in partners.values()])

    results, orders, lines, transfers, reviews, batch = [], [], [], [], [], {}
    now = timezone.now()
    for item in items:
        print_ = fingerprint(item)
        seen = _seen_before(item, print_, known, batch)
        if seen:
            results.append(seen)
            continue
        partner = partners.get(item.partner)
        if partner is None:
            results.append(rejected(item.external_id, "partner", f"no partner has the ERP id {item.partner!r}"))
            continue
        if item.currency != programme.currency:
            results.append(
                rejected(
                    item.external_id, "currency", f"the programme counts in {programme.currency}, not {item.currency}"
                )
            )
            continue
        order_lines = [rules.Line(line.sku, line.category, line.quantity, line.net_amount) for line in item.lines]
        net_total = sum((line.net_amount for line in item.lines), Decimal(0))
        if net_total > MAX_MONEY:
            results.append(rejected(item.external_id, "lines", f"the lines add up to {net_total:,}: beyond any order"))
            continue
        if partner.status == Partner.Status.ACTIVE:
            tier_name, tier_multiplier = tiers.get(partner.id, ("", rules.ONE))
            points = rules.order_points(
                order_lines,
                placed_at=item.placed_at,
                partner=rules.PartnerProfile(partner.kind, partner.region, tags.get(partner.id, frozenset())),
                rates=programme.rates,
                campaigns=programme.campaigns,
                qualifying_orders_before=punched[partner.id],
                tier_multiplier=tier_multiplier,
                tier_name=tier_name,
            )
            breakdown, parts = points.breakdown, points.parts_data
            if points.total > MAX_POINTS:
                results.append(
                    rejected(item.external_id, "lines", f"the lines earn {points.total:,} points: beyond any order")
                )
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
        orders.append(
            (item.external_id, print_, now, partner.id, item.placed_at, item.currency, net_total, given,
             breakdown[:500], json.dumps(parts), bulk, points.total - sum(points.line_points) - bulk, release_at,
             punch_number)
        )  # fmt: skip
        lines.extend(
            (item.external_id, line.line_no, line.sku, line.category, line.quantity, line.net_amount, line_points)
            for line, line_points in zip(item.lines, points.line_points, strict=True)
        )
        if review:
            reviews.append((item.external_id, partner.id, points.total, review))
        elif points.total:
            transfers.append(
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
        batch[item.external_id] = (print_, given, bool(review))
        results.append(ItemResult(item.external_id, "created", points=given, held_for_review=bool(review)))

    with batch_cursor() as cursor:
        order_ids = _insert_records(cursor, "earning_order", _ORDER_COLUMNS, orders)
        insert_rows(cursor, "earning_orderline", _LINE_COLUMNS, [(order_ids[o], *rest) for o, *rest in lines])
    _post(transfers)
    _hold_for_review(
        [Adjustment(order_id=order_ids[o], partner_id=p, points=n, reason=why) for o, p, n, why in reviews], source
    )
    return results


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


def _insert_records(cursor, table: str, columns, rows) -> dict[str, int]:
    """Insert a batch's new ERP records; their ids by ERP id. A record another batch inserted since we
    looked means we decided on stale facts: the whole batch is retried, and then sees it as a duplicate."""
    inserted = dict(
        insert_rows(cursor, table, columns, rows, on_conflict="(external_id) DO NOTHING", returning="external_id, id")
    )
    if len(inserted) != len(rows):
        raise _Raced()
    return inserted


_RECORD_COLUMNS = [("external_id", "text"), ("fingerprint", "text"), ("received_at", "timestamptz")]
_ORDER_COLUMNS = [
    *_RECORD_COLUMNS,
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
_RETURN_COLUMNS = [
    *_RECORD_COLUMNS,
    ("order_id", "bigint"),
    ("returned_at", "timestamptz"),
    ("points", "bigint"),
    ("breakdown", "text"),
    ("breakdown_parts", "jsonb"),
]
_INVOICE_COLUMNS = [
    *_RECORD_COLUMNS,
    ("partner_id", "bigint"),
    ("amount", "numeric"),
    ("currency", "text"),
    ("issued_on", "date"),
    ("due_on", "date"),
]
_PAYMENT_COLUMNS = [
    *_RECORD_COLUMNS,
    ("invoice_id", "bigint"),
    ("amount", "numeric"),
    ("paid_on", "date"),
    ("points", "bigint"),
    ("breakdown", "text"),
    ("breakdown_parts", "jsonb"),
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


def _hold_for_review(reviews: list[Adjustment], source: str) -> None:
    """Put the points of records above the programme's limits in the account managers' approval queue."""
    if not reviews:
        return
    from portal.earning.adjustments import notify_deciders  # adjustments posts through this module

    for review in reviews:
        review.status = Adjustment.Status.AWAITING_APPROVAL
        review.requested_by_label = source[:200]
    created = Adjustment.objects.bulk_create(reviews)
    notify_deciders([review.pk for review in created])  # in the outbox with the records: sent after commit


def post_reviewed_points(review: Adjustment, *, approved_by_id: int) -> None:
    """Give the points of an approved review: what still waits, under the key the record would have used, so
    approving twice gives them once. The caller holds the record's lock (orders: before the review's)."""
    details = {"review": review.pk, "approved_by": approved_by_id}
    if review.order_id:
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
            _post(
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
    else:
        payment = Payment.objects.select_related("invoice").get(pk=review.payment_id)
        _post(
            [
                early_payment_earning(
                    payment.invoice,
                    payment.external_id,
                    review.points,
                    paid_on=payment.paid_on,
                    breakdown=payment.breakdown,
                    parts=payment.breakdown_parts,
                    source=review.requested_by_label,
                    **details,
                )
            ]
        )
        Payment.objects.filter(pk=payment.pk).update(points=review.points)


def _post(transfers: list[ledger.TransferRequest]) -> None:
    """Post the batch's points; the ledger refusing an earning is a bug, never a partner's problem."""
    failed = [r for r in ledger.post_transfers(transfers) if r.status == "failed"]
    if failed:
        raise RuntimeError(f"the ledger refused {failed[0].key}: {failed[0].error.message}")


# --- Pending order points and returns -----------------------------------------------------


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


def record_returns(items: Sequence[ReturnIn], *, source: str) -> list[ItemResult]:
    return _retrying(lambda: _record_returns(list(items), source))


def _record_returns(items: list[ReturnIn], source: str) -> list[ItemResult]:
    if not items:
        return []
    orders = {
        o.external_id: o
        for o in Order.objects.filter(external_id__in={i.order for i in items})
        .select_related("partner")
        .order_by("partner_id", "id")
        .select_for_update(of=("self",), no_key=True)
    }
    known = _known(Return, items)
    order_lines = defaultdict(dict)
    for line in OrderLine.objects.filter(order__in=orders.values()).annotate(
        returned_before=Sum("returned__quantity", default=0)
    ):
        order_lines[line.order_id][line.line_no] = line
    holds = open_pending_of("order", orders)  # the pending transfer that holds each order's points, if any
    rates = load_programme().rates
    # Orders whose points were never given (waiting for review, or refused): a return takes nothing from the
    # balance; while they wait it lowers what waits. Locked after the orders, as an approval locks them.
    unreviewed = dict(
        Adjustment.objects.filter(order__in=orders.values())
        .exclude(status=Adjustment.Status.POSTED)
        .values_list("order_id", "status")
    )
    waiting_less = defaultdict(int)

    results, transfers, batch = [], [], {}
    returns, return_lines = [], []
    now = timezone.now()
    for item in items:
        print_ = fingerprint(item)
        seen = _seen_before(item, print_, known, batch)
        if seen:
            results.append(seen)
            continue
        order = orders.get(item.order)
        if order is None:
            results.append(rejected(item.external_id, "order", f"no order has the ERP id {item.order!r}"))
            continue
        problem = _check_return_lines(item, order_lines[order.id])
        if problem:
            results.append(problem)
            continue
        lines = order_lines[order.id]
        returned = [
            rules.ReturnedLine(
                lines[r.line_no].points, lines[r.line_no].quantity, lines[r.line_no].returned_before, r.quantity
            )
            for r in item.lines
        ]
        kept_before = _kept_value(lines.values())
        for r in item.lines:
            lines[r.line_no].returned_before += r.quantity
        points = rules.returned_points(
            returned,
            kept_before=kept_before,
            kept_after=_kept_value(lines.values()),
            bulk_bonus=order.bulk_bonus_points,
            other_bonuses=order.other_bonus_points,
            rates=rates,
        )
        if order.id in unreviewed:
            if unreviewed[order.id] == Adjustment.Status.AWAITING_APPROVAL:
                waiting_less[order.id] += points.total
            points = rules.Points()
        taken = points.total
        transfers.extend(_take_back(order, item, points, holds, source))
        returns.append(
            (item.external_id, print_, now, order.id, item.returned_at, taken, points.breakdown[:500],
             json.dumps(points.parts_data))
        )  # fmt: skip
        return_lines.extend((item.external_id, lines[r.line_no].id, r.quantity) for r in item.lines)
        batch[item.external_id] = (print_, taken, False)
        results.append(ItemResult(item.external_id, "created", points=taken))

    with batch_cursor() as cursor:
        return_ids = _insert_records(cursor, "earning_return", _RETURN_COLUMNS, returns)
        insert_rows(
            cursor,
            "earning_returnline",
            [("order_return_id", "bigint"), ("order_line_id", "bigint"), ("quantity", "integer")],
            [(return_ids[r], line_id, qty) for r, line_id, qty in return_lines],
        )
    _post(transfers)
    for order_id, less in waiting_less.items():
        Adjustment.objects.filter(order_id=order_id, status=Adjustment.Status.AWAITING_APPROVAL).update(
            points=Greatest(F("points") - less, 0)
        )
    return results


def _kept_value(lines) -> Decimal:
    """The net value of what the partner keeps of an order, after the returns so far."""
    return sum((line.net_amount * (line.quantity - line.returned_before) / line.quantity for line in lines), Decimal(0))


def _check_return_lines(item: ReturnIn, lines: dict[int, OrderLine]) -> ItemResult | None:
    seen = set()
    for index, returned in enumerate(item.lines):
        line = lines.get(returned.line_no)
        if line is None:
            return rejected(item.external_id, f"lines[{index}].line_no", f"the order has no line {returned.line_no}")
        if returned.line_no in seen:
            return rejected(item.external_id, f"lines[{index}].line_no", "a line may appear once in a return")
        seen.add(returned.line_no)
        left = line.quantity - line.returned_before
        if returned.quantity > left:
            return rejected(
                item.external_id,
                f"lines[{index}].quantity",
                f"only {left} of line {returned.line_no} can still be returned",
            )
    return None


def _take_back(order: Order, item: ReturnIn, points: rules.Points, holds: dict, source: str):
    """Take back a return's points: from the pending hold while the window is open, else by clawback."""
    taken = points.total
    if not taken:
        return []
    meta = {
        "actor_label": source,
        "ref_type": "order",
        "ref_id": order.external_id,
        "effective_at": item.returned_at,
        "details": {
            "breakdown": points.breakdown,
            "parts": points.parts_data,
            "return": item.external_id,
            "about": ReturnAbout(order.external_id, item.external_id).as_details(),
        },
    }
    hold = holds.get(order.external_id)
    if hold is None:
        return [
            ledger.spending(
                order.partner_id,
                key=f"return:{item.external_id}",
                amount=taken,
                code=Code.CLAWBACK,
                reason=f"Return {item.external_id} of order {order.external_id}",
                **meta,
            )
        ]
    # A pending transfer is posted or voided whole: void it and hold what is left anew.
    remaining = hold.amount - taken
    requests = [
        ledger.resolution(
            f"return:{item.external_id}:void",
            pending_key=hold.key,
            code=Code.CLAWBACK,
            reason=f"Return {item.external_id} of order {order.external_id}",
            void=True,
            **meta,
        )
    ]
    if remaining > 0:
        new_hold = ledger.earning(
            order.partner_id,
            key=f"return:{item.external_id}:remaining",
            amount=remaining,
            code=Code.ORDER,
            reason=f"Order {order.external_id}, after return {item.external_id}",
            pending=True,
            **{
                **meta,
                "details": {
                    "breakdown": f"{hold.amount:,} pending - {taken:,} returned goods",
                    "parts": [
                        {"rule": Rule.PENDING, "points": hold.amount},
                        {"rule": Rule.RETURNED_GOODS, "points": -taken},
                    ],
                    "return": item.external_id,
                    "about": OrderAfterReturnAbout(order.external_id, item.external_id).as_details(),
                },
            },
        )
        requests.append(new_hold)
        holds[order.external_id] = Transfer(key=new_hold.key, amount=remaining, ref_id=order.external_id)
    else:
        holds.pop(order.external_id)
    return requests


# --- Invoices and payments ----------------------------------------------------------------


def record_invoices(items: Sequence[InvoiceIn], *, source: str) -> list[ItemResult]:
    return _retrying(lambda: _record_invoices(list(items), source))


def _record_invoices(items: list[InvoiceIn], source: str) -> list[ItemResult]:
    if not items:
        return []
    partners = dict(Partner.objects.filter(external_id__in={i.partner for i in items}).values_list("external_id", "id"))
    known = {
        e: (f, 0, False)
        for e, f in Invoice.objects.filter(external_id__in=[i.external_id for i in items]).values_list(
            "external_id", "fingerprint"
        )
    }
    currency = EarningSettings.load().currency
    results, rows, batch = [], [], {}
    now = timezone.now()
    for item in items:
        print_ = fingerprint(item)
        seen = _seen_before(item, print_, known, batch)
        if seen:
            results.append(seen)
        elif item.partner not in partners:
            results.append(rejected(item.external_id, "partner", f"no partner has the ERP id {item.partner!r}"))
        elif item.currency != currency:
            results.append(
                rejected(item.external_id, "currency", f"the programme counts in {currency}, not {item.currency}")
            )
        else:
            rows.append(
                (item.external_id, print_, now, partners[item.partner], item.amount, item.currency, item.issued_on,
                 item.due_on)
            )  # fmt: skip
            batch[item.external_id] = (print_, 0, False)
            results.append(ItemResult(item.external_id, "created", points=0))
    with batch_cursor() as cursor:
        _insert_records(cursor, "earning_invoice", _INVOICE_COLUMNS, rows)
    return results


def record_payments(items: Sequence[PaymentIn], *, source: str) -> list[ItemResult]:
    return _retrying(lambda: _record_payments(list(items), source))


def _record_payments(items: list[PaymentIn], source: str) -> list[ItemResult]:
    if not items:
        return []
    invoices = {
        i.external_id: i
        for i in Invoice.objects.filter(external_id__in={p.invoice for p in items})
        .order_by("id")
        .select_for_update(no_key=True)
    }
    # Read under the lock: a concurrent payment of the same invoice has committed by now.
    paid = dict(
        Payment.objects.filter(invoice__in=invoices.values())
        .values_list("invoice_id")
        .annotate(total=Sum("amount"))
        .values_list("invoice_id", "total")
    )
    known = _known(Payment, items, reviewed=True)
    programme = load_programme()
    active = set(
        Partner.objects.filter(
            pk__in=[i.partner_id for i in invoices.values()], status=Partner.Status.ACTIVE
        ).values_list("pk", flat=True)
    )
    results, rows, transfers, reviews, batch = [], [], [], [], {}
    now = timezone.now()
    for item in items:
        print_ = fingerprint(item)
        seen = _seen_before(item, print_, known, batch)
        if seen:
            results.append(seen)
            continue
        invoice = invoices.get(item.invoice)
        if invoice is None:
            results.append(rejected(item.external_id, "invoice", f"no invoice has the ERP id {item.invoice!r}"))
            continue
        outstanding = invoice.amount - paid.get(invoice.id, Decimal(0))
        if item.amount > outstanding:
            results.append(
                rejected(item.external_id, "amount", f"only {outstanding} of invoice {invoice.external_id} is unpaid")
            )
            continue
        paid[invoice.id] = paid.get(invoice.id, Decimal(0)) + item.amount
        points = (
            rules.early_payment_points(item.amount, paid_on=item.paid_on, due_on=invoice.due_on, rates=programme.rates)
            if invoice.partner_id in active
            else rules.Points()
        )
        review = rules.review_reason(
            f"Payment {item.external_id} of invoice {invoice.external_id}",
            invoice.amount,
            points.total,
            amount_above=programme.review.invoice_above,
            points_above=programme.review.points_above,
            currency=invoice.currency,
        )
        given = 0 if review else points.total  # the payment's points column: what the partner was given
        rows.append(
            (item.external_id, print_, now, invoice.id, item.amount, item.paid_on, given, points.breakdown,
             json.dumps(points.parts_data))
        )  # fmt: skip
        if review:
            reviews.append((item.external_id, invoice.partner_id, points.total, review))
        elif points.total:
            transfers.append(
                early_payment_earning(
                    invoice,
                    item.external_id,
                    points.total,
                    paid_on=item.paid_on,
                    breakdown=points.breakdown,
                    parts=points.parts_data,
                    source=source,
                )
            )
        batch[item.external_id] = (print_, given, bool(review))
        results.append(ItemResult(item.external_id, "created", points=given, held_for_review=bool(review)))
    with batch_cursor() as cursor:
        payment_ids = _insert_records(cursor, "earning_payment", _PAYMENT_COLUMNS, rows)
    _post(transfers)
    _hold_for_review(
        [Adjustment(payment_id=payment_ids[e], partner_id=p, points=n, reason=why) for e, p, n, why in reviews], source
    )
    return results


def early_payment_earning(invoice: Invoice, payment: str, amount: int, *, paid_on, breakdown, parts, source, **details):
    """A payment's early-payment points, keyed by the payment, so they are given once."""
    days_early = (invoice.due_on - paid_on).days
    return ledger.earning(
        invoice.partner_id,
        key=f"payment:{payment}",
        amount=amount,
        code=Code.EARLY_PAYMENT,
        reason=f"Invoice {invoice.external_id} paid {days_early} days early",
        details={
            "breakdown": breakdown,
            "parts": parts,
            "payment": payment,
            "about": EarlyPaymentAbout(invoice.external_id, days_early).as_details(),
            **details,
        },
        actor_label=source,
        ref_type="invoice",
        ref_id=invoice.external_id,
        effective_at=datetime.combine(paid_on, datetime.min.time(), tzinfo=UTC),
    )


RECORDERS = {
    "orders": (OrderIn, record_orders),
    "returns": (ReturnIn, record_returns),
    "invoices": (InvoiceIn, record_invoices),
    "payments": (PaymentIn, record_payments),
}
