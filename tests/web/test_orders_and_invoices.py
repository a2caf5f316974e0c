from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portal.earning.services import release_order_points
from tests.web.erp import send_invoice, send_order, send_payment, send_return

pytestmark = pytest.mark.django_db


def page(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return response.text


def row_of(html, words):
    """The table row that holds these words."""
    start = html.index(words)
    return html[html.rindex("<tr", 0, start) : html.index("</tr>", start)]


def day(value):
    return value.strftime("%m/%d/%Y")


def test_orders_show_their_points_pending_until_the_window_ends_or_available(client, partner, member):
    long_ago = timezone.now() - timedelta(days=45)
    send_order(partner, "SO-OLD", ("A", "Misc", 2, "250"), placed_at=long_ago)
    release_order_points()
    send_order(partner, "SO-NEW", ("B", "Misc", 1, "80"))
    client.force_login(member)
    html = page(client, reverse("web:orders"))
    old, new = row_of(html, "SO-OLD"), row_of(html, "SO-NEW")
    assert "250 available" in old and "+250" in old and "250 base" in old
    assert f"80 pending until {day(timezone.localdate() + timedelta(days=30))}" in new


def test_returns_show_what_they_took_back_on_the_list_and_the_order(client, partner, member):
    send_order(partner, "SO-1", ("A", "Misc", 4, "400"), ("B", "Misc", 1, "100"))
    send_return("RMA-1", "SO-1", (1, 1))
    client.force_login(member)
    html = page(client, reverse("web:orders"))
    assert "−100</span> in 1 return" in row_of(html, 'href="/orders/SO-1/"')
    assert "400 pending until" in row_of(html, 'href="/orders/SO-1/"')  # what is left stays pending
    returned = row_of(html, "RMA-1")
    assert "−100" in returned and "SO-1" in returned

    detail = page(client, reverse("web:order_detail", args=["SO-1"]))
    assert "Order SO-1" in detail
    line = row_of(detail, ">1</th>")
    assert "(1 returned)" in line and "400.00" in line
    assert "1 × A" in row_of(detail, "RMA-1")
    assert "Points entries for this order" in detail and "Return RMA-1 of order SO-1" in detail


def test_an_unknown_order_is_not_found(client, member):
    client.force_login(member)
    assert client.get(reverse("web:order_detail", args=["SO-NOPE"])).status_code == 404


def test_invoices_show_payments_points_and_the_last_day_to_pay_early(client, partner, member):
    today = timezone.localdate()
    send_invoice(partner, "INV-OPEN", "1000.00", issued_on=today, due_on=today + timedelta(days=25))
    send_invoice(partner, "INV-LATE", "300.00", issued_on=today - timedelta(days=40), due_on=today + timedelta(days=3))
    send_invoice(partner, "INV-PAID", "600.00", issued_on=today - timedelta(days=30), due_on=today + timedelta(days=30))
    send_payment("PAY-1", "INV-PAID", "600.00", paid_on=today - timedelta(days=1))
    client.force_login(member)
    html = page(client, reverse("web:invoices"))
    assert "at least 10 days before its due date" in html
    assert f"Pay by {day(today + timedelta(days=15))} to earn 500 points" in row_of(html, "INV-OPEN")
    assert "Too close to the due date" in row_of(html, "INV-LATE")
    paid = row_of(html, "INV-PAID")
    assert "+300</span> earned, available" in paid
    assert f"Paid 600.00 USD on {day(today - timedelta(days=1))}" in paid and "300 for paying 31 days early" in paid
    assert "Pay by" not in paid


def queries_for(client, url) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_lists_cost_the_same_queries_for_three_records_as_for_twenty(client, partner, member):
    today = timezone.localdate()

    def add(first, count):
        for n in range(first, first + count):
            send_order(partner, f"SO-{n}", ("A", "Misc", 2, "100"), ("B", "Misc", 1, "50"))
            send_return(f"RMA-{n}", f"SO-{n}", (1, 1))
            send_invoice(partner, f"INV-{n}", "500.00", issued_on=today, due_on=today + timedelta(days=30))
            send_payment(f"PAY-{n}", f"INV-{n}", "100.00", paid_on=today)

    client.force_login(member)
    add(0, 3)
    urls = [reverse("web:orders"), reverse("web:invoices"), reverse("web:order_detail", args=["SO-0"])]
    with_3 = [queries_for(client, url) for url in urls]
    add(3, 17)
    assert [queries_for(client, url) for url in urls] == with_3
