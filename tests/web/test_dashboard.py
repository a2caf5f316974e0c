import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Partner
from portal.earning.models import EarningSettings
from portal.earning.services import release_order_points
from portal.ledger import services as ledger
from portal.ledger.models import Code
from rewards_catalog import services
from tests.factories import audience
from tests.rewards_catalog.factories import GoodsFactory, ItemFactory, company, give_points, tier
from tests.web.erp import send_invoice, send_order, send_payment, send_return

pytestmark = pytest.mark.django_db


def dashboard(client):
    response = client.get(reverse("web:dashboard"))
    assert response.status_code == 200
    return response.text


def post(*requests):
    for result in ledger.post_transfers(list(requests)):
        assert result.ok, result


def test_the_dashboard_shows_available_pending_and_held_points(client, partner, member):
    send_order(partner, "SO-1", ("A", "Misc", 1, "300"))  # 300 pending
    post(
        ledger.earning(partner.id, key="w", amount=1_500, code=Code.WELCOME, reason="Welcome"),
        ledger.spending(partner.id, key="r", amount=400, code=Code.REDEMPTION, reason="Gift card", hold=True),
    )
    client.force_login(member)
    page = dashboard(client)
    assert re.search(r'data-testid="available"[^>]*>1,100<', page)
    assert re.search(r'data-testid="pending"[^>]*>300<', page)
    assert re.search(r'data-testid="held"[^>]*>400<', page)


def test_the_latest_activity_says_why_each_entry_has_its_points(client, partner, member):
    send_order(partner, "SO-7", ("A", "Misc", 2, "1200"))
    post(
        ledger.earning(
            partner.id,
            key="pay",
            amount=217,
            code=Code.EARLY_PAYMENT,
            reason="Invoice INV-22 paid 20 days early",
            details={"amount": "21770.00", "currency": "ILS", "due_date": "2026-12-08", "paid_on": "2026-11-18"},
        )
    )
    client.force_login(member)
    page = dashboard(client)
    assert "Order SO-7" in page
    assert "1,200 base" in page  # the earning rule's own breakdown
    assert "invoice of 21,770.00 ILS due" in page  # facts put into words
    assert "Pending" in page  # until when: on the activity and orders pages


def test_a_negative_balance_is_explained(client, partner, member):
    placed = timezone.now() - timedelta(days=40)
    send_order(partner, "SO-1", ("A", "Misc", 2, "200"), placed_at=placed)
    release_order_points()
    post(ledger.spending(partner.id, key="r", amount=150, code=Code.REDEMPTION, reason="Gift"))
    send_return("RMA-1", "SO-1", (1, 2))
    client.force_login(member)
    page = dashboard(client)
    assert re.search(r'data-testid="available"[^>]*>-150<', page)
    assert "below zero" in page


# --- the chart --------------------------------------------------------------------------------


def test_the_chart_sums_each_month_by_source_pending_included_cancelled_not(client, partner, member):
    now = timezone.now()
    month_ago = now - timedelta(days=35)
    post(
        ledger.earning(partner.id, key="o1", amount=700, code=Code.ORDER, reason="Order", effective_at=now),
        ledger.earning(
            partner.id, key="o2", amount=300, code=Code.ORDER, reason="Order", effective_at=now, pending=True
        ),
        ledger.earning(partner.id, key="o3", amount=999, code=Code.ORDER, reason="Cancelled", pending=True),
        ledger.earning(partner.id, key="c1", amount=50, code=Code.CONTENT, reason="Quiz", effective_at=month_ago),
        ledger.earning(
            partner.id,
            key="old",
            amount=4_444,
            code=Code.REFERRAL,
            reason="Old",
            effective_at=now - timedelta(days=400),
        ),
    )
    post(ledger.resolution("o3:void", pending_key="o3", code=Code.CLAWBACK, reason="Order cancelled", void=True))
    post(ledger.spending(partner.id, key="spent", amount=500, code=Code.REDEMPTION, reason="Gift"))
    client.force_login(member)
    page = dashboard(client)
    start = page.index('<svg class="points-chart"')
    chart = page[start : page.index("</svg>", start)]
    assert '<title id="chart-title">Points earned per month' in chart
    assert '<desc id="chart-desc">1,050 points in the last 12 months' in chart
    assert ">1,000</text>" in chart  # this month: 700 posted + 300 pending, not the cancelled 999
    assert ">50</text>" in chart
    figure = page[page.index('<figure class="chart"') : page.index("</figure>")]
    assert "4,444" not in figure  # older than twelve months
    legend = page[page.index('class="legend"') : page.index("</ul>", page.index('class="legend"'))]
    assert "Order" in legend and "Learning" in legend and "Referral" not in legend
    assert chart.count('class="chart-row"') == 12


def test_without_points_the_chart_says_so(client, member):
    client.force_login(member)
    page = dashboard(client)
    assert "No points earned in the last 12 months yet." in page
    assert '<svg class="points-chart"' not in page


# --- what to do next ----------------------------------------------------------------------------


def test_an_open_invoice_suggests_paying_it_early_with_the_date_and_the_points(client, partner, member):
    today = timezone.localdate()
    send_invoice(partner, "INV-EARLY", "1000.00", issued_on=today, due_on=today + timedelta(days=30))
    send_payment("PAY-1", "INV-EARLY", "400.00", paid_on=today)  # 600 left: 300 points at 0.5 a unit
    send_invoice(partner, "INV-CLOSE", "800.00", issued_on=today, due_on=today + timedelta(days=5))
    send_invoice(partner, "INV-PAID", "500.00", issued_on=today, due_on=today + timedelta(days=40))
    send_payment("PAY-2", "INV-PAID", "500.00", paid_on=today)
    client.force_login(member)
    page = dashboard(client)
    page = page[page.index('id="next-title"') : page.index('id="tier-title"')]
    pay_by = (today + timedelta(days=20)).strftime("%m/%d/%Y")
    assert "Pay invoice INV-EARLY early: 300 points" in page
    assert f"Pay the 600.00 USD still open by {pay_by}." in page
    assert "INV-CLOSE" not in page
    assert "INV-PAID" not in page


def test_the_dashboard_is_honest_about_what_does_not_exist_yet(client, member):
    client.force_login(member)
    page = dashboard(client)
    assert "Your company has no tier yet." in page
    assert "expire" not in page.lower()
    assert "quiz" not in page.lower() and "referral link" not in page.lower()


# --- rewards to aim for ------------------------------------------------------------------------------------


def what_to_do_next(page: str) -> str:
    return page[page.index('id="next-title"') : page.index('id="tier-title"')]


def test_the_dashboard_suggests_the_costliest_reward_within_the_balance_and_the_next_goal(client, partner, member):
    give_points(partner, 500)
    ItemFactory(title="Mug", cost_points=300)
    redeemable = ItemFactory(title="Headset", cost_points=400)
    goal = ItemFactory(title="Espresso machine", cost_points=800)
    ItemFactory(title="Weekend away", cost_points=5_000)
    client.force_login(member)
    todo = what_to_do_next(dashboard(client))
    assert "Redeem Headset now: 400 points" in todo
    assert f'href="/rewards/items/{redeemable.pk}/"' in todo
    assert "300 more points for Espresso machine" in todo
    assert "You have 62% of the 800 points it costs." in todo
    assert 'value="62"' in todo and f'href="/rewards/items/{goal.pk}/"' in todo
    assert "Mug" not in todo and "Weekend away" not in todo


def test_a_reward_the_company_may_not_redeem_is_never_suggested(client, partner, member):
    give_points(partner, 1_000)
    tomorrow = timezone.now() + timedelta(days=1)
    ItemFactory(title="For distributors", cost_points=100, audience=audience(kinds=[Partner.Kind.DISTRIBUTOR]))
    ItemFactory(title="For Gold", cost_points=200, tiers=[tier("Gold")])
    GoodsFactory(title="Sold out", cost_points=300, stock=0)
    ItemFactory(title="Withdrawn", cost_points=400, is_active=False)
    ItemFactory(title="Not started", cost_points=500, active_from=tomorrow)
    ItemFactory(title="Too dear for now", cost_points=2_000, tiers=[tier("Platinum")])
    client.force_login(member)
    todo = what_to_do_next(dashboard(client))
    assert "Redeem" not in todo and "more points for" not in todo
    assert "Browse rewards" in todo

    ItemFactory(title="Cap", cost_points=150)
    assert "Redeem Cap now: 150 points" in what_to_do_next(dashboard(client))


def test_a_reward_for_a_segment_is_suggested_to_the_partners_in_it(client, partner, member):
    give_points(partner, 1_000)
    ItemFactory(title="Preview unit", cost_points=600, audience=audience(tags=["pioneers"]))
    ItemFactory(title="Cap", cost_points=150)
    client.force_login(member)
    assert "Redeem Cap now" in what_to_do_next(dashboard(client))

    partner.tags.add("pioneers")
    assert "Redeem Preview unit now: 600 points" in what_to_do_next(dashboard(client))


def test_a_reward_at_its_limit_for_the_company_is_not_suggested_until_the_next_period(client):
    membership = company(points=1_000)
    mug = GoodsFactory(title="Mug", cost_points=100, stock=5, limit_per_period=1, limit_period="month")
    client.force_login(membership.user)
    assert "Redeem Mug now: 100 points" in what_to_do_next(dashboard(client))

    services.redeem(mug, member=membership, shipping_address="Herzl 1, Haifa")
    assert "Mug" not in what_to_do_next(dashboard(client))


def test_pending_points_that_will_cover_the_next_goal_say_so(client, partner, member):
    give_points(partner, 100)
    post(ledger.earning(partner.id, key="pending-order", amount=300, code=Code.ORDER, reason="Order", pending=True))
    ItemFactory(title="Backpack", cost_points=350)
    client.force_login(member)
    todo = what_to_do_next(dashboard(client))
    assert "250 more points for Backpack" in todo
    assert "Your pending points will cover it once they become available." in todo


def test_a_hebrew_reader_sees_the_rewards_hebrew_title(client, partner, member):
    member.language = "he"
    member.save(update_fields=["language"])
    give_points(partner, 1_000)
    ItemFactory(title="Headset", title_he="אוזניות", cost_points=400)
    client.force_login(member)
    todo = what_to_do_next(dashboard(client))
    assert "אוזניות" in todo and "Headset" not in todo


# --- cost -----------------------------------------------------------------------------------------


def queries_for(client, url) -> int:
    client.get(url)  # warm per-process caches (content types, settings)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def earn(partner, first, count):
    now = timezone.now()
    requests = []
    for n in range(first, first + count):
        moment = now - timedelta(days=n % 360)
        code = [Code.ORDER, Code.CONTENT, Code.EARLY_PAYMENT][n % 3]
        requests.append(
            ledger.earning(partner.id, key=f"q:{n}", amount=10, code=code, reason=f"Entry {n}", effective_at=moment,
                           pending=n % 7 == 0, details={"breakdown": f"{n} base"})
        )  # fmt: skip
    for start in range(0, len(requests), 1_000):
        post(*requests[start : start + 1_000])


def test_the_dashboard_needs_as_many_queries_for_2000_entries_as_for_10(client, partner, member):
    today = timezone.localdate()
    send_invoice(partner, "INV-1", "1000.00", issued_on=today, due_on=today + timedelta(days=30))
    send_order(partner, "SO-1", ("A", "Misc", 1, "100"))
    ItemFactory(title="Mug", cost_points=30)
    ItemFactory(title="Headset", cost_points=100_000)
    client.force_login(member)
    earn(partner, 0, 10)
    with_10 = queries_for(client, reverse("web:dashboard"))
    earn(partner, 10, 1_990)
    with_2000 = queries_for(client, reverse("web:dashboard"))
    assert with_2000 == with_10


def test_the_early_payment_offer_follows_the_programmes_settings(client, partner, member):
    settings = EarningSettings.load()
    settings.early_payment_min_days, settings.early_payment_points_per_unit = 15, Decimal("2")
    settings.save()
    today = timezone.localdate()
    send_invoice(partner, "INV-SOON", "100.00", issued_on=today, due_on=today + timedelta(days=14))
    send_invoice(partner, "INV-LATER", "100.00", issued_on=today, due_on=today + timedelta(days=16))
    client.force_login(member)
    page = dashboard(client)
    page = page[page.index('id="next-title"') : page.index('id="tier-title"')]
    assert "INV-SOON" not in page  # 14 days before its due date is too late for 15
    assert "Pay invoice INV-LATER early: 200 points" in page
    assert f"by {(today + timedelta(days=1)).strftime('%m/%d/%Y')}." in page
