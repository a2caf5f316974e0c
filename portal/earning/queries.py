"""Reads of what the ERP sent, for a partner's own pages: orders, returns, invoices, payments.

Every read starts from the partner, so a page can only ever reach its own
company's records. Lists annotate their sums in the same query, so a page of
fifty orders costs the same few queries as a page of five.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import BigIntegerField, Count, DecimalField, F, OuterRef, Prefetch, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from accounts.models import Partner
from portal.earning import rules
from portal.earning.models import EarningSettings, Invoice, Order, OrderLine, Payment, Return
from portal.earning.services import rates_of
from portal.ledger.models import Transfer
from portal.ledger.queries import open_pending_of

BIG = BigIntegerField()
ZERO_MONEY = Value(Decimal("0"), output_field=DecimalField(max_digits=14, decimal_places=2))


def orders_of(partner: Partner) -> QuerySet[Order]:
    """The partner's orders, newest first, with what their returns took back."""
    returns = Return.objects.filter(order=OuterRef("pk")).order_by().values("order")
    return (
        Order.objects.filter(partner=partner)
        .annotate(
            returns_count=Coalesce(Subquery(returns.annotate(n=Count("id")).values("n")), 0, output_field=BIG),
            points_returned=Coalesce(Subquery(returns.annotate(p=Sum("points")).values("p")), 0, output_field=BIG),
        )
        .order_by("-placed_at", "-id")
    )


def order_of(partner: Partner, external_id: str) -> Order | None:
    """One of the partner's orders with its lines (and how much of each came back) and its returns."""
    lines = OrderLine.objects.annotate(quantity_returned=Coalesce(Sum("returned__quantity"), 0, output_field=BIG))
    lines = lines.order_by("line_no")
    returns = Return.objects.prefetch_related("lines__order_line").order_by("returned_at", "id")
    return (
        orders_of(partner)
        .filter(external_id=external_id)
        .prefetch_related(Prefetch("lines", queryset=lines), Prefetch("returns", queryset=returns))
        .first()
    )


def returns_of(partner: Partner) -> QuerySet[Return]:
    return Return.objects.filter(order__partner=partner).select_related("order").order_by("-returned_at", "-id")


@dataclass(frozen=True)
class OrderPoints:
    """Where an order's points stand: how many are still pending, until when, and how many are available."""

    pending: int
    pending_until: datetime | None
    available: int


def order_points(orders: list[Order]) -> dict[int, OrderPoints]:
    """For each order (by id): one query for the whole page, whatever its length."""
    holds = open_pending_of("order", [order.external_id for order in orders])
    result = {}
    for order in orders:
        kept = order.points - getattr(order, "points_returned", 0)
        hold = holds.get(order.external_id)
        if hold is None:
            result[order.id] = OrderPoints(pending=0, pending_until=None, available=max(kept, 0))
        else:
            result[order.id] = OrderPoints(pending=hold.amount, pending_until=order.points_release_at, available=0)
    return result


def invoices_of(partner: Partner) -> QuerySet[Invoice]:
    """The partner's invoices, newest first, with what is paid, what is left and the points payments earned."""
    payments = Payment.objects.filter(invoice=OuterRef("pk")).order_by().values("invoice")
    return (
        Invoice.objects.filter(partner=partner)
        .annotate(
            paid=Coalesce(Subquery(payments.annotate(s=Sum("amount")).values("s")), ZERO_MONEY),
            points_earned=Coalesce(Subquery(payments.annotate(s=Sum("points")).values("s")), 0, output_field=BIG),
        )
        .annotate(unpaid=F("amount") - F("paid"))
        .prefetch_related(Prefetch("payments", queryset=Payment.objects.order_by("paid_on", "id")))
        .order_by("-issued_on", "-id")
    )


@dataclass(frozen=True)
class EarlyPaymentOffer:
    """Paying the rest of an invoice by `pay_by` earns `points`."""

    pay_by: date
    points: int


def early_payment_offer(invoice: Invoice, *, rates: rules.Rates, today: date) -> EarlyPaymentOffer | None:
    """What paying an open invoice's unpaid rest today earns, and the last day it still does.

    None when nothing is unpaid, the programme gives no early-payment points, or the day has passed.
    """
    unpaid = invoice.amount - invoice.paid
    if unpaid <= 0:
        return None
    pay_by = invoice.due_on - timedelta(days=rates.early_payment_min_days)
    if today > pay_by:
        return None
    points = rules.early_payment_points(unpaid, paid_on=today, due_on=invoice.due_on, rates=rates).total
    return EarlyPaymentOffer(pay_by=pay_by, points=points) if points else None


# The settings the earning rules read (rules.Rates), but the category multipliers.
_RATE_COLUMNS = [
    "points_per_unit",
    "bulk_threshold",
    "bulk_bonus_points",
    "punch_card_every",
    "punch_card_min_value",
    "punch_card_bonus_points",
    "early_payment_min_days",
    "early_payment_points_per_unit",
]


def invoices_to_pay_early(partner: Partner, *, today: date, limit: int) -> list[tuple[Invoice, EarlyPaymentOffer]]:
    """The partner's open invoices that still earn early-payment points, soonest deadline first.

    One query, the programme's rates included: the dashboard asks on every
    view, and the ORM took longer to build these statements than PostgreSQL
    to run them. Until the programme's settings exist (the first use of them
    creates them), there are no rates, so no offers.
    """
    rate_columns = ", ".join(f"s.{column} AS rate_{column}" for column in _RATE_COLUMNS)
    invoices = list(
        Invoice.objects.raw(
            f"""
            SELECT i.*, coalesce(p.paid, 0) AS paid, i.amount - coalesce(p.paid, 0) AS unpaid, {rate_columns},
                   (SELECT json_object_agg(m.category, m.multiplier::text) FROM earning_categorymultiplier m
                    WHERE m.settings_id = s.id) AS rate_multipliers
            FROM (SELECT * FROM earning_earningsettings ORDER BY id LIMIT 1) s
            JOIN earning_invoice i ON i.partner_id = %s AND i.due_on >= %s::date + s.early_payment_min_days
            LEFT JOIN LATERAL (SELECT sum(amount) AS paid FROM earning_payment WHERE invoice_id = i.id) p ON true
            WHERE i.amount > coalesce(p.paid, 0)
            ORDER BY i.due_on, i.id
            LIMIT %s
            """,
            [partner.id, today, limit],
        )
    )
    if not invoices:
        return []
    first = invoices[0]
    settings = EarningSettings(**{column: getattr(first, f"rate_{column}") for column in _RATE_COLUMNS})
    multipliers = {category: Decimal(value) for category, value in (first.rate_multipliers or {}).items()}
    rates = rates_of(settings, multipliers)
    offers = ((invoice, early_payment_offer(invoice, rates=rates, today=today)) for invoice in invoices)
    return [(invoice, offer) for invoice, offer in offers if offer]


def release_dates(transfers: list[Transfer]) -> dict[str, datetime]:
    """When the points of the orders these entries name become available, by order id: one query."""
    order_ids = {t.ref_id for t in transfers if t.ref_type == "order"}
    if not order_ids:
        return {}
    return dict(Order.objects.filter(external_id__in=order_ids).values_list("external_id", "points_release_at"))
