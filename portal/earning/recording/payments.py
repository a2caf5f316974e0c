"""Invoices and their payments: an invoice earns nothing by itself; a payment made early enough earns
points on what it pays."""

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from accounts.models import Partner
from portal.earning import rules
from portal.earning.models import Adjustment, EarningSettings, Invoice, Payment
from portal.earning.recording.common import (
    RECORD_COLUMNS,
    Batch,
    ItemResult,
    load_programme,
    post_points,
    recorded_before,
    retrying,
)
from portal.earning.schemas import InvoiceIn, PaymentIn
from portal.earning.wording import EarlyPaymentAbout
from portal.ledger import services as ledger
from portal.ledger.models import Code
from portal.signals import announce_erp_records

_INVOICE_COLUMNS = [
    *RECORD_COLUMNS,
    ("partner_id", "bigint"),
    ("amount", "numeric"),
    ("currency", "text"),
    ("issued_on", "date"),
    ("due_on", "date"),
]
_PAYMENT_COLUMNS = [
    *RECORD_COLUMNS,
    ("invoice_id", "bigint"),
    ("amount", "numeric"),
    ("paid_on", "date"),
    ("points", "bigint"),
    ("breakdown", "text"),
    ("breakdown_parts", "jsonb"),
]


def record_invoices(items: Sequence[InvoiceIn], *, source: str) -> list[ItemResult]:
    return retrying(lambda: _record_invoices(list(items), source))


def _record_invoices(items: list[InvoiceIn], source: str) -> list[ItemResult]:
    if not items:
        return []
    partners = dict(Partner.objects.filter(external_id__in={i.partner for i in items}).values_list("external_id", "id"))
    batch = Batch(recorded_before(Invoice, items, earns=False))
    currency = EarningSettings.load().currency
    now = timezone.now()
    for item, print_ in batch.new(items):
        partner_id = batch.referred(item, "partner", partners)
        if partner_id is None:
            continue
        if item.currency != currency:
            batch.reject(item, "currency", f"the programme counts in {currency}, not {item.currency}")
            continue
        batch.records.append(
            (item.external_id, print_, now, partner_id, item.amount, item.currency, item.issued_on, item.due_on)
        )
        batch.created(item, print_, 0)
    batch.write("earning_invoice", _INVOICE_COLUMNS, source=source)
    announce_erp_records(kind="invoices", partner_ids=(record[3] for record in batch.records))
    return batch.results


def record_payments(items: Sequence[PaymentIn], *, source: str) -> list[ItemResult]:
    return retrying(lambda: _record_payments(list(items), source))


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
    batch = Batch(recorded_before(Payment, items, reviewed=True))
    programme = load_programme()
    active = set(
        Partner.objects.filter(
            pk__in=[i.partner_id for i in invoices.values()], status=Partner.Status.ACTIVE
        ).values_list("pk", flat=True)
    )
    now = timezone.now()
    for item, print_ in batch.new(items):
        invoice = batch.referred(item, "invoice", invoices)
        if invoice is None:
            continue
        outstanding = invoice.amount - paid.get(invoice.id, Decimal(0))
        if item.amount > outstanding:
            batch.reject(item, "amount", f"only {outstanding} of invoice {invoice.external_id} is unpaid")
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
        batch.records.append(
            (item.external_id, print_, now, invoice.id, item.amount, item.paid_on, given, points.breakdown,
             json.dumps(points.parts_data))
        )  # fmt: skip
        if review:
            batch.reviews.append((item.external_id, invoice.partner_id, points.total, review))
        elif points.total:
            batch.transfers.append(
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
        batch.created(item, print_, given, held=bool(review))
    batch.write("earning_payment", _PAYMENT_COLUMNS, reviewed_as="payment_id", source=source)
    partner_of_invoice = {invoice.id: invoice.partner_id for invoice in invoices.values()}
    announce_erp_records(kind="payments", partner_ids=(partner_of_invoice[record[3]] for record in batch.records))
    return batch.results


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


def post_reviewed_payment_points(review: Adjustment, details: dict) -> None:
    """Give an approved review's early-payment points (under the payment's key, so approving twice gives them
    once), and record them on the payment."""
    payment = Payment.objects.select_related("invoice").get(pk=review.payment_id)
    post_points(
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
