"""Returns: the points of the returned goods taken back, from the order's pending points while its return
window is open, by clawback after."""

import json
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from django.db.models import F, Sum
from django.db.models.functions import Greatest
from django.utils import timezone

from portal.earning import rules
from portal.earning.models import Adjustment, Order, OrderLine, Return
from portal.earning.recording.common import (
    RECORD_COLUMNS,
    Batch,
    ItemResult,
    load_programme,
    recorded_before,
    rejected,
    retrying,
)
from portal.earning.rules import Rule
from portal.earning.schemas import ReturnIn
from portal.earning.wording import OrderAfterReturnAbout, ReturnAbout
from portal.ledger import services as ledger
from portal.ledger.models import Code, Transfer
from portal.ledger.queries import open_pending_of

_RETURN_COLUMNS = [
    *RECORD_COLUMNS,
    ("order_id", "bigint"),
    ("returned_at", "timestamptz"),
    ("points", "bigint"),
    ("breakdown", "text"),
    ("breakdown_parts", "jsonb"),
]
_LINE_COLUMNS = [("order_return_id", "bigint"), ("order_line_id", "bigint"), ("quantity", "integer")]


def record_returns(items: Sequence[ReturnIn], *, source: str) -> list[ItemResult]:
    return retrying(lambda: _record_returns(list(items), source))


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
    batch = Batch(recorded_before(Return, items))
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

    now = timezone.now()
    for item, print_ in batch.new(items):
        order = batch.referred(item, "order", orders)
        if order is None:
            continue
        problem = _check_return_lines(item, order_lines[order.id])
        if problem:
            batch.results.append(problem)
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
        batch.transfers.extend(_take_back(order, item, points, holds, source))
        batch.records.append(
            (item.external_id, print_, now, order.id, item.returned_at, taken, points.breakdown[:500],
             json.dumps(points.parts_data))
        )  # fmt: skip
        batch.lines.extend((item.external_id, lines[r.line_no].id, r.quantity) for r in item.lines)
        batch.created(item, print_, taken)

    batch.write("earning_return", _RETURN_COLUMNS, lines=("earning_returnline", _LINE_COLUMNS), source=source)
    for order_id, less in waiting_less.items():
        Adjustment.objects.filter(order_id=order_id, status=Adjustment.Status.AWAITING_APPROVAL).update(
            points=Greatest(F("points") - less, 0)
        )
    return batch.results


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
