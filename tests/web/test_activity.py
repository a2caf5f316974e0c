import csv
import io
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portal.ledger import services as ledger
from portal.ledger.models import Code
from portal.ledger.queries import balance_of
from tests.web.erp import send_order

pytestmark = pytest.mark.django_db


def post(*requests):
    for result in ledger.post_transfers(list(requests)):
        assert result.ok, result


@pytest.fixture
def history(partner):
    """One entry of every kind: earned, spent, pending, held, and a cancelled pending order."""
    now = timezone.now()
    post(
        ledger.earning(partner.id, key="welcome", amount=1_000, code=Code.WELCOME, reason="Welcome aboard",
                       effective_at=now - timedelta(days=60)),
        ledger.earning(partner.id, key="quiz", amount=50, code=Code.CONTENT, reason="Passed the quiz",
                       effective_at=now - timedelta(days=20), details={"item": "g20", "score": 88}),
        ledger.spending(partner.id, key="gift", amount=300, code=Code.REDEMPTION, reason="Gift card",
                        effective_at=now - timedelta(days=10)),
        ledger.spending(partner.id, key="held", amount=200, code=Code.REDEMPTION, reason="Espresso machine",
                        hold=True, effective_at=now - timedelta(days=2)),
        ledger.earning(partner.id, key="cancel-me", amount=77, code=Code.ORDER, reason="Order SO-X", pending=True,
                       effective_at=now - timedelta(days=5)),
    )  # fmt: skip
    post(ledger.resolution("cancel-me:void", pending_key="cancel-me", code=Code.CLAWBACK, reason="Order SO-X cancelled",
                           void=True, effective_at=now - timedelta(days=4)))  # fmt: skip
    send_order(partner, "SO-9", ("A", "Misc", 1, "120"))  # 120 pending for the return window
    return partner


def activity(client, query=""):
    response = client.get(reverse("web:activity") + query)
    assert response.status_code == 200
    return response.text


def rows(page):
    return re.findall(r"<tr class=\"[^\"]*\">(.*?)</tr>", page, flags=re.S)


def test_every_entry_shows_its_date_source_reason_signed_points_and_status(client, history, member):
    client.force_login(member)
    page = activity(client)
    found = rows(page)
    assert len(found) == 7
    by_reason = {re.search(r'class="c-what"><bdi>([^<]*)', row)[1]: row for row in found}
    assert "+1,000</span>" in by_reason["Welcome aboard"] and "Available" in by_reason["Welcome aboard"]
    assert "-300</span>" in by_reason["Gift card"] and "Deducted" in by_reason["Gift card"]
    assert "-200</span>" in by_reason["Espresso machine"] and "Held" in by_reason["Espresso machine"]
    assert "+77</span>" in by_reason["Order SO-X"] and "Cancelled" in by_reason["Order SO-X"]
    assert "-77</span>" in by_reason["Order SO-X cancelled"]
    release = (timezone.localdate() + timedelta(days=30)).strftime("%m/%d/%Y")
    assert "+120</span>" in by_reason["Order SO-9"] and f"Pending · until {release}" in by_reason["Order SO-9"]
    assert "score 88" in by_reason["Passed the quiz"]
    assert ">Learning<" in by_reason["Passed the quiz"]


@pytest.mark.parametrize(
    ("query", "reasons"),
    [
        ("?kind=earned", {"Welcome aboard", "Passed the quiz"}),
        ("?kind=spent", {"Gift card"}),
        ("?kind=pending", {"Order SO-X", "Order SO-9"}),
        ("?kind=held", {"Espresso machine"}),
        ("?kind=cancelled", {"Order SO-X cancelled"}),
        ("?source=redemption", {"Gift card", "Espresso machine"}),
        ("?source=order&kind=pending", {"Order SO-X", "Order SO-9"}),
    ],
)
def test_the_activity_filters_by_kind_and_source(client, history, member, query, reasons):
    client.force_login(member)
    found = {re.search(r'class="c-what"><bdi>([^<]*)', row)[1] for row in rows(activity(client, query))}
    assert found == reasons


def test_the_activity_filters_by_date_range_both_ends_included(client, history, member):
    client.force_login(member)
    today = timezone.localdate()
    query = f"?date_from={today - timedelta(days=20)}&date_to={today - timedelta(days=4)}"
    found = {re.search(r'class="c-what"><bdi>([^<]*)', row)[1] for row in rows(activity(client, query))}
    assert found == {"Passed the quiz", "Gift card", "Order SO-X", "Order SO-X cancelled"}


def test_bad_filters_are_named_and_nothing_breaks(client, history, member):
    client.force_login(member)
    page = activity(client, "?date_from=2026-05-10&date_to=2026-05-01&kind=everything&before=nonsense")
    assert "The end date is before the start date." in page
    assert "Select a valid choice" in page
    assert "This page link is broken" in page
    assert len(rows(page)) == 7  # unfiltered, rather than a half-applied filter


def test_the_activity_pages_through_every_entry_once(client, partner, member):
    moment = timezone.now()
    post(*[
        ledger.earning(partner.id, key=f"e{n}", amount=n + 1, code=Code.CONTENT, reason=f"Entry {n}",
                       effective_at=moment - timedelta(hours=n // 3))  # ties on the moment, told apart by id
        for n in range(123)
    ])  # fmt: skip
    client.force_login(member)
    seen, url, pages = [], reverse("web:activity"), 0
    while url:
        page = client.get(url).text
        seen += [re.search(r'class="c-what"><bdi>([^<]*)', row)[1] for row in rows(page)]
        older = re.search(r'href="([^"]*)" rel="next"', page)
        url = older[1].replace("&amp;", "&") if older else None
        pages += 1
    assert pages == 3
    assert len(seen) == len(set(seen)) == 123


# --- CSV export ------------------------------------------------------------------------------------


def export(client, query=""):
    response = client.get(reverse("web:activity_export") + query)
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="points-activity-')
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_the_export_has_every_entry_with_the_filters_of_the_page(client, history, member):
    client.force_login(member)
    header, *body = export(client)
    assert header == [
        "Date", "Source", "Kind", "Reason", "Details", "Points", "Change to available points", "Status",
        "Available from", "Reference",
    ]  # fmt: skip
    assert len(body) == 7
    welcome = next(row for row in body if row[3] == "Welcome aboard")
    assert welcome[1:3] == ["Welcome bonus", "Earned"] and welcome[5:8] == ["1000", "1000", "Available"]
    pending = next(row for row in body if row[3] == "Order SO-9")
    assert pending[5:8] == ["120", "0", "Pending"]
    assert pending[8] == (timezone.localdate() + timedelta(days=30)).isoformat()
    assert pending[9] == "order SO-9"
    _, *held = export(client, "?kind=held")
    assert [row[3] for row in held] == ["Espresso machine"]


def test_the_changes_to_available_points_add_up_to_the_balance(client, history, member):
    settle = ledger.resolution("held:ok", pending_key="held", code=Code.REDEMPTION, reason="Espresso machine sent")
    post(settle)
    client.force_login(member)
    _, *body = export(client)
    assert sum(int(row[6]) for row in body) == balance_of(history).available == 1_000 + 50 - 300 - 200
    settled = next(row for row in body if row[3] == "Espresso machine sent")
    assert settled[5:8] == ["-200", "0", "Hold settled"]
    page = activity(client)
    assert "Spent" in next(row for row in rows(page) if "Espresso machine<" in row)


def test_the_export_escapes_text_a_spreadsheet_would_run_and_keeps_numbers_numbers(client, partner, member):
    dangerous = ['=HYPERLINK("http://evil.example","click")', "+1+1", "-2+3", "@SUM(A1)", "\tTab", "\rReturn"]
    post(*[
        ledger.earning(partner.id, key=f"d{n}", amount=100, code=Code.ADJUSTMENT, reason=reason,
                       details={"breakdown": reason})
        for n, reason in enumerate(dangerous)
    ])  # fmt: skip
    post(ledger.spending(partner.id, key="neg", amount=250, code=Code.ADJUSTMENT, reason="Correction"))
    client.force_login(member)
    _, *body = export(client)
    reasons = {row[3] for row in body}
    assert reasons == {"'" + reason for reason in dangerous} | {"Correction"}
    assert all(row[4] == row[3] for row in body if row[3] != "Correction")  # details escaped too
    correction = next(row for row in body if row[3] == "Correction")
    assert correction[5] == "-250"  # a negative number stays a number, not text with a quote
    assert {row[5] for row in body} == {"100", "-250"}
    assert correction[6] == "-250"


def test_the_export_streams_a_long_history(client, partner, member):
    requests = [
        ledger.earning(partner.id, key=f"l{n}", amount=1, code=Code.ORDER, reason=f"Order {n}") for n in range(5_000)
    ]
    for start in range(0, len(requests), 1_000):
        post(*requests[start : start + 1_000])
    client.force_login(member)
    response = client.get(reverse("web:activity_export"))
    chunks = list(response.streaming_content)
    assert len(chunks) > 5_000  # one chunk per row: nothing is built up in memory first
    assert b"".join(chunks).decode().count("\n") == 5_001


def test_a_page_of_activity_costs_the_same_queries_for_a_short_and_a_long_history(client, partner, member):
    def earn(first, count):
        post(*[
            ledger.earning(partner.id, key=f"h{n}", amount=5, code=Code.ORDER, reason=f"Order H-{n}",
                           pending=n % 4 == 0, ref_type="order", ref_id=f"H-{n}")
            for n in range(first, first + count)
        ])  # fmt: skip

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("web:activity")).status_code == 200
        return len(captured)

    client.force_login(member)
    earn(0, 10)
    client.get(reverse("web:activity"))
    short = queries()
    earn(10, 990)
    assert queries() == short
