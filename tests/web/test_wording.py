"""A ledger entry is worded in the reader's language: what it is and how its points add up.

The ledger keeps the English text it was posted with (finance and the API read it); the pages word
the facts stored beside it, so a Hebrew partner reads Hebrew and an English one the same as before.
"""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from portal.earning.models import CategoryMultiplier, EarningSettings
from portal.earning.services import release_order_points
from portal.ledger import services as ledger
from portal.ledger.models import Code, Transfer
from portal.ledger.wording import parts_text
from rewards_catalog import services as catalog
from tests.rewards_catalog.factories import ItemFactory, company
from tests.web.erp import send_invoice, send_order, send_payment, send_return

pytestmark = pytest.mark.django_db


@pytest.fixture
def programme():
    settings = EarningSettings.load()
    settings.points_per_unit, settings.bulk_threshold, settings.bulk_bonus_points = Decimal("1"), Decimal("1000"), 500
    settings.save()
    CategoryMultiplier.objects.create(settings=settings, category="Networking", multiplier=Decimal("1.25"))
    return settings


def history(partner):
    """An order with a multiplier and a bulk bonus, a partial return, a released order, and an early payment."""
    send_order(partner, "SO-1", ("SW-1", "Networking", 1, "1240"))
    send_order(partner, "SO-2", ("A", "Misc", 3, "300"))
    send_return("RMA-1", "SO-2", (1, 1))
    send_order(partner, "SO-OLD", ("A", "Misc", 1, "50"), placed_at=timezone.now() - timedelta(days=45))
    release_order_points()
    today = timezone.localdate()
    send_invoice(partner, "INV-1", "200.00", issued_on=today - timedelta(days=5), due_on=today + timedelta(days=25))
    send_payment("PAY-1", "INV-1", "200.00", paid_on=today)


def activity(client, member, language):
    member.language = language
    member.save(update_fields=["language"])
    client.force_login(member)
    response = client.get(reverse("web:activity"))
    assert response.status_code == 200
    return response.text


def test_an_english_reader_sees_the_rules_at_work(client, partner, member, programme):
    history(partner)
    html = activity(client, member, "en")
    assert "Order SO-1" in html
    assert "1,240 base + 310 Networking ×1.25 + 500 bulk bonus" in html
    assert "Order SO-2, after return RMA-1" in html and "300 pending − 100 returned goods" in html
    assert "Order SO-OLD: return window over, points available" in html
    assert "Invoice INV-1 paid 25 days early" in html


def test_a_hebrew_reader_reads_every_entry_in_hebrew(client, partner, member, programme):
    history(partner)
    html = activity(client, member, "he")
    assert "הזמנה SO-1" in html
    assert "1,240 בסיס + 310 Networking ×1.25 + 500 בונוס כמות" in html
    assert "הזמנה SO-2, אחרי החזרה RMA-1" in html and "300 ממתינות − 100 סחורה שהוחזרה" in html
    assert "הזמנה SO-OLD: תקופת ההחזרה הסתיימה, הנקודות זמינות" in html
    assert "חשבונית INV-1 שולמה 25 ימים לפני המועד" in html
    for english in ("Order SO", "base", "bulk bonus", "returned goods", "days early", "return window"):
        assert english not in html, english

    orders = client.get(reverse("web:orders")).text
    assert "1,240 בסיס + 310 Networking ×1.25 + 500 בונוס כמות" in orders
    assert "100 סחורה שהוחזרה" in orders
    invoices = client.get(reverse("web:invoices")).text
    assert "100 על תשלום 25 ימים לפני המועד" in invoices

    export = client.get(reverse("web:activity_export"))
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig"))))
    assert any(row[3] == "הזמנה SO-1" for row in rows)


def test_the_ledger_keeps_the_english_it_was_posted_with(partner, programme):
    history(partner)
    order = Transfer.objects.get(key="order:SO-1")
    assert order.reason == "Order SO-1"
    assert order.details["breakdown"] == "1,240 base + 310 Networking x1.25 + 500 bulk bonus"
    assert Transfer.objects.get(key="payment:PAY-1").reason == "Invoice INV-1 paid 25 days early"


def test_an_entry_without_facts_shows_its_text_as_posted(client, partner, member):
    ledger.post_transfer(
        ledger.earning(
            partner.id,
            key="old",
            amount=40,
            code=Code.ORDER,
            reason="Imported before 2026",
            details={"breakdown": "40 legacy points"},
        )  # fmt: skip
    )
    html = activity(client, member, "he")
    assert "Imported before 2026" in html and "40 legacy points" in html


def test_a_redemption_and_its_cancellation_are_worded_in_hebrew_with_the_items_hebrew_title(client):
    owner = company(points=1_000)
    item = ItemFactory(title="Coffee machine", title_he="מכונת קפה", cost_points=300)
    redemption = catalog.redeem(item, member=owner, quantity=2)
    catalog.cancel(redemption, member=owner)
    html = activity(client, owner.user, "he")
    assert f"מימוש מס׳ {redemption.pk}: 2 × מכונת קפה" in html
    assert f"מימוש מס׳ {redemption.pk}: 2 × מכונת קפה: בוטל, הנקודות הוחזרו" in html
    english = activity(client, owner.user, "en")
    assert f"Redemption #{redemption.pk}: 2 × Coffee machine: cancelled, points given back" in english


def test_every_rule_a_part_can_name_is_worded_and_an_unknown_one_falls_back_to_the_english():
    parts = [
        {"rule": "base", "points": 1000},
        {"rule": "tier", "points": 100, "name": "Gold", "factor": "1.1"},
        {"rule": "tier", "points": 100, "factor": "1.1"},
        {"rule": "campaign_bonus", "points": 50, "name": "Spring"},
    ]
    with translation.override("en"):
        assert parts_text(parts) == "1,000 base + 100 Gold tier ×1.1 + 100 tier ×1.1 + 50 Spring bonus"
        assert parts_text([{"rule": "something new", "points": 5}], "5 as posted") == "5 as posted"
    with translation.override("he"):
        assert parts_text(parts) == "1,000 בסיס + 100 דרגת Gold ×1.1 + 100 דרגה ×1.1 + 50 בונוס Spring"
