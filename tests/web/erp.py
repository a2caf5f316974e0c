"""What the ERP sends, for the page tests: through the earning services, as the API and the CSV import do."""

from datetime import date, datetime

from django.utils import timezone

from portal.earning import services


def _recorded(kind, item):
    (result,) = services.record(kind, [item], source="test")
    assert result.status == "created", result
    return result


def send_order(partner, external_id, *lines, placed_at: datetime | None = None):
    """lines: (sku, category, quantity, net amount); returns the order's points."""
    return _recorded(
        "orders",
        {
            "external_id": external_id,
            "partner": partner.external_id,
            "placed_at": (placed_at or timezone.now()).isoformat(),
            "currency": "USD",
            "lines": [
                {"line_no": n, "sku": sku, "category": category, "quantity": quantity, "net_amount": amount}
                for n, (sku, category, quantity, amount) in enumerate(lines, start=1)
            ],
        },
    ).points


def send_return(external_id, order_id, *lines, returned_at: datetime | None = None):
    """lines: (line number, quantity); returns the points taken back."""
    return _recorded(
        "returns",
        {
            "external_id": external_id,
            "order": order_id,
            "returned_at": (returned_at or timezone.now()).isoformat(),
            "lines": [{"line_no": n, "quantity": q} for n, q in lines],
        },
    ).points


def send_invoice(partner, external_id, amount, *, issued_on: date, due_on: date):
    _recorded(
        "invoices",
        {
            "external_id": external_id,
            "partner": partner.external_id,
            "amount": amount,
            "currency": "USD",
            "issued_on": issued_on.isoformat(),
            "due_on": due_on.isoformat(),
        },
    )


def send_payment(external_id, invoice_id, amount, *, paid_on: date):
    return _recorded(
        "payments",
        {"external_id": external_id, "invoice": invoice_id, "amount": amount, "paid_on": paid_on.isoformat()},
    ).points
