"""What earning tells other apps (portal.signals.erp_records_recorded): after each batch, the kind and the
partners whose records it created; nothing for duplicates or rejected items. Referrals listens to it."""

import pytest
from django.utils import timezone

from portal.earning import services
from portal.signals import erp_records_recorded
from tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard():
    calls = []

    def listener(sender, **kwargs):
        calls.append((kwargs["kind"], kwargs["partner_ids"]))

    erp_records_recorded.connect(listener, dispatch_uid="test-listener")
    yield calls
    erp_records_recorded.disconnect(dispatch_uid="test-listener")


def order(partner, number):
    return {"external_id": number, "partner": partner.external_id, "placed_at": "2026-11-02T10:00:00+00:00",
            "currency": "USD", "lines": [{"line_no": 1, "sku": "A", "category": "Coffee", "quantity": 1,
                                          "net_amount": "100.00"}]}  # fmt: skip


def test_each_batch_names_the_partners_whose_records_it_created(heard):
    first, second = PartnerFactory(), PartnerFactory()
    today = timezone.localdate().isoformat()

    services.record("orders", [order(first, "SO-1"), order(second, "SO-2"), {"external_id": "bad"}], source="t")
    services.record("orders", [order(first, "SO-1")], source="t")  # a duplicate: nothing new
    services.record(
        "invoices",
        [
            {
                "external_id": "INV-1",
                "partner": second.external_id,
                "amount": "100.00",
                "currency": "USD",
                "issued_on": today,
                "due_on": today,
            }
        ],  # fmt: skip
        source="t",
    )
    services.record(
        "payments", [{"external_id": "PAY-1", "invoice": "INV-1", "amount": "100.00", "paid_on": today}], source="t"
    )

    assert heard == [
        ("orders", frozenset({first.pk, second.pk})),
        ("invoices", frozenset({second.pk})),
        ("payments", frozenset({second.pk})),
    ]
