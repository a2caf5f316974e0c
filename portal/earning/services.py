"""The earning app's entry point for what the ERP sends: ``record`` a batch of one kind, and give the
points of a reviewed record. The recording itself, and its contract, are in ``portal.earning.recording``;
the names callers use are here, so they need not know how it is laid out."""

from collections.abc import Sequence

from portal.earning.models import Adjustment
from portal.earning.recording.common import (
    MAX_BATCH,
    MAX_MONEY,
    MAX_POINTS,
    FieldError,
    ItemResult,
    Programme,
    field_path,
    fingerprint,
    load_programme,
    parse_items,
    rates_of,
    rejected,
)
from portal.earning.recording.orders import (
    order_earning,
    post_reviewed_order_points,
    record_orders,
    release_order_points,
    tier_multipliers,
)
from portal.earning.recording.payments import (
    early_payment_earning,
    post_reviewed_payment_points,
    record_invoices,
    record_payments,
)
from portal.earning.recording.returns import record_returns
from portal.earning.schemas import InvoiceIn, OrderIn, PaymentIn, ReturnIn

__all__ = [
    "MAX_BATCH",
    "MAX_MONEY",
    "MAX_POINTS",
    "RECORDERS",
    "FieldError",
    "ItemResult",
    "Programme",
    "early_payment_earning",
    "field_path",
    "fingerprint",
    "load_programme",
    "order_earning",
    "parse_items",
    "post_reviewed_points",
    "rates_of",
    "record",
    "record_invoices",
    "record_orders",
    "record_payments",
    "record_returns",
    "rejected",
    "release_order_points",
    "tier_multipliers",
]

RECORDERS = {
    "orders": (OrderIn, record_orders),
    "returns": (ReturnIn, record_returns),
    "invoices": (InvoiceIn, record_invoices),
    "payments": (PaymentIn, record_payments),
}


def record(kind: str, raw_items: Sequence, *, source: str) -> list[ItemResult]:
    """Validate and record a batch of raw items of one kind ('orders', 'returns', 'invoices', 'payments')."""
    schema, recorder = RECORDERS[kind]
    parsed = parse_items(raw_items, schema)
    valid = [item for item in parsed if not isinstance(item, ItemResult)]
    recorded = iter(recorder(valid, source=source))
    return [item if isinstance(item, ItemResult) else next(recorded) for item in parsed]


def post_reviewed_points(review: Adjustment, *, approved_by_id: int) -> None:
    """Give the points of an approved review: what still waits, under the key the record would have used, so
    approving twice gives them once. The caller holds the record's lock (orders: before the review's)."""
    details = {"review": review.pk, "approved_by": approved_by_id}
    if review.order_id:
        post_reviewed_order_points(review, details)
    else:
        post_reviewed_payment_points(review, details)
