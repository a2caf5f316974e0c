from datetime import timedelta

import pytest
from django.utils import timezone

from portal.earning import services
from portal.earning.models import CategoryMultiplier, EarningSettings, Order
from portal.ledger.models import Transfer
from portal.ledger.queries import balance_of, discrepancies

pytestmark = pytest.mark.django_db


def order(external_id, partner, *lines, placed_at=None, currency="USD"):
    return {
        "external_id": external_id,
        "partner": partner.external_id,
        "placed_at": (placed_at or timezone.now()).isoformat(),
        "currency": currency,
        "lines": [
            {"line_no": n, "sku": sku, "category": cat, "quantity": qty, "net_amount": amount}
            for n, (sku, cat, qty, amount) in enumerate(lines, start=1)
        ],
    }


def test_an_order_earns_pending_points_with_a_readable_breakdown(partner):
    CategoryMultiplier.objects.create(settings=EarningSettings.load(), category="Networking", multiplier="1.25")
    (result,) = services.record(
        "orders",
        [order("SO-1", partner, ("SW-1", "Switches", 2, "620.00"), ("NW-1", "Networking", 1, "1240.00"))],
        source="test",
    )
    assert result.status == "created"
    assert result.points == 620 + 1240 + 310
    assert balance_of(partner).pending == 2170
    assert balance_of(partner).available == 0
    assert Order.objects.get(external_id="SO-1").breakdown == "1,860 base + 310 Networking x1.25"
    assert discrepancies() == []


def test_replaying_a_batch_changes_nothing(partner):
    batch = [order(f"SO-{n}", partner, ("A", "Misc", 1, "100")) for n in range(5)]
    first = services.record("orders", batch, source="test")
    again = services.record("orders", batch, source="test")
    assert [r.status for r in first] == ["created"] * 5
    assert [r.status for r in again] == ["duplicate"] * 5
    assert [r.points for r in again] == [r.points for r in first]
    assert Transfer.objects.count() == 5
    assert balance_of(partner).pending == 500


def test_same_id_with_other_content_is_rejected_not_taken_as_duplicate(partner):
    services.record("orders", [order("SO-1", partner, ("A", "Misc", 1, "100"))], source="test")
    (result,) = services.record("orders", [order("SO-1", partner, ("A", "Misc", 2, "200"))], source="test")
    assert result.status == "rejected"
    assert result.errors[0].field == "external_id"
    assert "conflicts with the first" in result.errors[0].message


def test_a_batch_with_bad_items_applies_the_good_ones_and_names_the_bad(partner):
    results = services.record(
        "orders",
        [
            order("SO-1", partner, ("A", "Misc", 1, "100")),
            order("SO-2", partner, ("A", "Misc", 0, "100")),
            order("SO-3", partner, ("A", "Misc", 1, "100"), currency="EUR"),
            {**order("SO-4", partner, ("A", "Misc", 1, "100")), "partner": "NOBODY"},
            order("SO-5", partner, ("A", "Misc", 1, "100")),
        ],
        source="test",
    )
    assert [r.status for r in results] == ["created", "rejected", "rejected", "rejected", "created"]
    assert results[1].errors[0].field == "lines[0].quantity"
    assert results[2].errors[0].field == "currency"
    assert results[3].errors[0].field == "partner"
    assert set(Order.objects.values_list("external_id", flat=True)) == {"SO-1", "SO-5"}


def test_pending_points_become_available_once_after_the_return_window(partner):
    placed = timezone.now() - timedelta(days=40)
    services.record("orders", [order("SO-1", partner, ("A", "Misc", 1, "100"), placed_at=placed)], source="test")
    services.record("orders", [order("SO-2", partner, ("A", "Misc", 1, "50"))], source="test")
    assert services.release_order_points() == 1
    assert services.release_order_points() == 0
    balance = balance_of(partner)
    assert (balance.available, balance.pending) == (100, 50)
    assert discrepancies() == []


def test_a_return_takes_back_pending_points_and_leaves_the_rest_pending(partner):
    services.record("orders", [order("SO-1", partner, ("A", "Misc", 4, "400"))], source="test")
    (result,) = services.record(
        "returns",
        [
            {
                "external_id": "R-1",
                "order": "SO-1",
                "returned_at": timezone.now().isoformat(),
                "lines": [{"line_no": 1, "quantity": 1}],
            }
        ],
        source="test",
    )
    assert result.points == 100
    assert balance_of(partner).pending == 300
    still_pending = Transfer.objects.get(key="return:R-1:remaining")
    assert still_pending.details["breakdown"] == "400 pending - 100 returned goods"
    assert services.release_order_points(now=timezone.now() + timedelta(days=31)) == 1
    assert balance_of(partner).available == 300
    assert discrepancies() == []


def test_a_return_after_release_claws_back_and_may_go_below_zero(partner):
    placed = timezone.now() - timedelta(days=40)
    services.record("orders", [order("SO-1", partner, ("A", "Misc", 2, "200"), placed_at=placed)], source="test")
    services.release_order_points()
    returns = [
        {
            "external_id": f"R-{n}",
            "order": "SO-1",
            "returned_at": timezone.now().isoformat(),
            "lines": [{"line_no": 1, "quantity": 1}],
        }
        for n in (1, 2, 3)
    ]
    results = services.record("returns", returns, source="test")
    assert [r.status for r in results] == ["created", "created", "rejected"]
    assert results[2].errors[0].field == "lines[0].quantity"
    assert balance_of(partner).available == 0
    assert discrepancies() == []


def test_early_payment_earns_points_and_late_payment_nothing(partner):
    today = timezone.now().date()
    services.record(
        "invoices",
        [
            {"external_id": "INV-1", "partner": partner.external_id, "amount": "1000.00", "currency": "USD",
             "issued_on": str(today - timedelta(days=5)), "due_on": str(today + timedelta(days=10))},
            {"external_id": "INV-2", "partner": partner.external_id, "amount": "1000.00", "currency": "USD",
             "issued_on": str(today - timedelta(days=5)), "due_on": str(today + timedelta(days=9))},
        ],
        source="test",
    )  # fmt: skip
    results = services.record(
        "payments",
        [
            {"external_id": "P-1", "invoice": "INV-1", "amount": "1000.00", "paid_on": str(today)},
            {"external_id": "P-2", "invoice": "INV-2", "amount": "1000.00", "paid_on": str(today)},
            {"external_id": "P-3", "invoice": "INV-2", "amount": "0.01", "paid_on": str(today)},
        ],
        source="test",
    )
    assert [(r.status, r.points) for r in results[:2]] == [("created", 500), ("created", 0)]
    assert results[2].status == "rejected" and results[2].errors[0].field == "amount"
    assert balance_of(partner).available == 500
    assert Transfer.objects.get(key="payment:P-1").reason == "Invoice INV-1 paid 10 days early"


def test_the_punch_card_counts_qualifying_orders_across_batches(partner):
    def send(n, amount):
        (result,) = services.record("orders", [order(f"SO-{n}", partner, ("A", "Misc", 1, amount))], source="test")
        return result.points

    earned = [send(n, "500") for n in range(1, 5)] + [send(5, "499.99"), send(6, "500")]
    assert earned == [500, 500, 500, 500, 499, 500 + 250]
    assert list(Order.objects.order_by("external_id").values_list("punch_number", flat=True)) == [1, 2, 3, 4, None, 5]


def test_the_release_task_run_twice_makes_one_change(partner):
    from portal.earning.tasks import release_order_points_task

    placed = timezone.now() - timedelta(days=31)
    services.record("orders", [order("SO-1", partner, ("A", "Misc", 1, "100"), placed_at=placed)], source="test")
    assert release_order_points_task.delay().get() == 1
    assert release_order_points_task.delay().get() == 0
    assert balance_of(partner).available == 100
    assert Transfer.objects.filter(key="order:SO-1:released").count() == 1


def test_a_nul_character_is_refused_with_its_field_not_a_database_error(partner):
    item = order("SO-1", partner, ("A\x00", "Misc", 1, "100"))
    (result,) = services.record("orders", [item], source="test")
    assert result.status == "rejected"
    assert result.errors[0].field == "lines[0].sku"
