"""The dashboard's tier card and expiring points, and the Tier page with the company's own tier history."""

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from portal.ledger import services as ledger
from portal.ledger.models import Code
from portal.tiers import rules, services
from portal.tiers.models import Tier, TierSettings
from portal.tiers.queries import programme_today
from portal.web.badges import contrast
from tests.factories import MembershipFactory, PartnerFactory, StaffFactory

pytestmark = pytest.mark.django_db


def at(day):
    return datetime.combine(day, time(12), tzinfo=ZoneInfo(settings.PROGRAMME_TIME_ZONE))


def earn(partner, key, amount, day):
    ledger.post_transfer(
        ledger.earning(partner.pk, key=key, amount=amount, code=Code.ORDER, reason=key, effective_at=at(day))
    )


@pytest.fixture
def tiers(db):
    return {
        "Member": Tier.objects.create(name="Member", name_he="חבר", threshold=0, colour="#e5e7eb"),
        "Silver": Tier.objects.create(
            name="Silver", name_he="כסף", threshold=10_000, multiplier="1.10", colour="#9ca3af",
            benefits="Priority support line", benefits_he="קו תמיכה מועדף",
        ),
        "Gold": Tier.objects.create(
            name="Gold", name_he="זהב", threshold=25_000, multiplier="1.25", colour="#1e3a5f",
            benefits="Free next-day shipping\nQuarterly business review",
            benefits_he="משלוח חינם למחרת\nסקירה עסקית רבעונית",
        ),
    }  # fmt: skip


def review(*partners, monthly=False):
    services.review_tiers([p.pk for p in partners], today=programme_today(), monthly=monthly)


def page(client, name="web:dashboard", language=None):
    if language:
        with translation.override(language):
            response = client.get(reverse(name))
    else:
        response = client.get(reverse(name))
    assert response.status_code == 200
    return response.text


def tier_card(html: str) -> str:
    return html[html.index('id="tier-title"') : html.index("</section>", html.index('id="tier-title"'))]


def test_the_card_shows_the_tier_its_benefits_and_the_way_to_the_next(client, partner, member, tiers):
    earn(partner, "a", 12_000, programme_today() - timedelta(days=20))
    review(partner)
    client.force_login(member)
    card = tier_card(page(client))
    badge = re.search(r'<span class="tier-badge" style="([^"]*)"[^>]*>([^<]*)</span>', card)
    assert badge[2] == "Silver"
    assert "--badge-bg: #9ca3af" in badge[1]
    assert "12,000</span> qualifying points in the last 12 months" in card
    assert "×1.1 order points" in card and "Priority support line" in card
    assert re.search(r'<progress max="100" value="48" aria-label="Progress to Gold: 12,000 of 25,000 qualifying', card)
    assert "<strong>13,000</strong> more qualifying points to reach Gold." in card
    assert "Gold gives:" in card and "×1.25 order points" in card and "Quarterly business review" in card
    assert 'href="/tier/"' in card
    assert "to keep" not in card and "Granted until" not in card


def test_the_badges_text_is_readable_on_any_colour(client, partner, member, tiers):
    for colour in ("#ff0000", "#777777", "#ffffff", "#e5e7eb", "#9ca3af", "#d4a017", "#1e3a5f", "#000000"):
        Tier.objects.filter(pk=tiers["Member"].pk).update(colour=colour)
        review(partner)
        client.force_login(member)
        style = re.search(r'class="tier-badge" style="([^"]*)"', page(client))[1]
        background, ink = re.findall(r"#[0-9a-f]{6}", style)
        assert contrast(background, ink) >= 4.5, colour


def test_the_highest_tier_says_so(client, partner, member, tiers):
    earn(partner, "a", 30_000, programme_today() - timedelta(days=5))
    review(partner)
    client.force_login(member)
    card = tier_card(page(client))
    assert ">Gold<" in card and "Your company holds the highest tier." in card and "<progress" not in card


def test_a_near_downgrade_says_how_many_points_by_when_keep_the_tier(client, partner, member, tiers):
    config = TierSettings.load()
    config.grace_months = 0
    config.save()
    today = programme_today()
    earn(partner, "old", 27_000, rules.add_months(today, -12))  # counts today, no longer at the next review
    earn(partner, "new", 4_000, today - timedelta(days=3))
    review(partner, monthly=True)
    client.force_login(member)
    card = tier_card(page(client))
    next_review = rules.first_of_next_month(today)
    by_day = (next_review - timedelta(days=1)).strftime("%m/%d/%Y")
    assert ">Gold<" in card
    assert f"Earn 21,000 more qualifying points by {by_day} to keep Gold." in card
    assert f"Otherwise your company moves to Member at the review on {next_review.strftime('%m/%d/%Y')}." in card


def test_a_granted_tier_says_until_when(client, partner, member, tiers):
    manager = StaffFactory(is_superuser=True)
    ends_on = programme_today() + timedelta(days=60)
    review(partner)
    services.grant_tier(partner, tier=tiers["Gold"], ends_on=ends_on, reason="Status match", granted_by=manager)
    client.force_login(member)
    card = tier_card(page(client))
    assert ">Gold<" in card and f"Granted until {ends_on.strftime('%m/%d/%Y')}" in card
    assert "Status match" not in card  # the manager's reason is the CMS's


def test_no_standing_yet_is_said_plainly(client, partner, member, tiers):
    client.force_login(member)
    html = page(client)
    assert "Your company has no tier yet." in tier_card(html)
    assert "expiring-title" not in html


def test_points_expiring_in_the_next_90_days_are_listed_by_day(client, partner, member, tiers):
    config = TierSettings.load()
    config.expiry_months = 12
    config.save()
    today = programme_today()
    soon, later, far = (rules.add_months(today, -12) + timedelta(days=d) for d in (10, 45, 120))
    earn(partner, "soon", 700, soon)
    earn(partner, "later", 1_250, later)
    earn(partner, "far", 900, far)
    ledger.post_transfer(ledger.spending(partner.pk, key="r", amount=200, code=Code.REDEMPTION, reason="Mug"))
    client.force_login(member)
    html = page(client)
    section = html[html.index('id="expiring-title"') : html.index("</section>", html.index('id="expiring-title"'))]
    assert "Points expiring in the next 90 days" in section
    items = re.findall(
        r'<span class="expiring-day">([^<]+)</span>\s*<span class="points">\s*<span dir="ltr">([^<]+)</span>', section
    )
    assert items == [
        (rules.add_months(soon, 12).strftime("%m/%d/%Y"), "500"),  # the oldest points were spent first
        (rules.add_months(later, 12).strftime("%m/%d/%Y"), "1,250"),
    ]


def test_the_card_in_hebrew_is_hebrew_and_right_to_left(client, partner, member, tiers):
    config = TierSettings.load()
    config.grace_months, config.expiry_months = 0, 12
    config.save()
    today = programme_today()
    earn(partner, "old", 27_000, rules.add_months(today, -12) + timedelta(days=1))
    earn(partner, "new", 4_000, today - timedelta(days=3))
    review(partner, monthly=True)
    member.language = "he"
    member.save(update_fields=["language"])
    client.force_login(member)
    html = page(client, language="he")
    assert '<html lang="he" dir="rtl">' in html
    card = tier_card(html)
    assert ">זהב<" in card and "משלוח חינם למחרת" in card
    assert "נקודות מזכות ב-12 החודשים האחרונים" in card
    assert "כדי לשמור על זהב" in card
    assert "Earn" not in card and "qualifying" not in card and "Gold" not in card
    assert "נקודות שיפוגו ב-90 הימים הקרובים" in html and "Points expiring" not in html
    tier_page = page(client, "web:tier", language="he")
    assert "היסטוריית הדרגה" in tier_page and "חבר ← זהב" in tier_page and "Qualified" not in tier_page


def test_the_tier_page_lists_what_each_tier_gives_and_the_history(client, partner, member, tiers):
    earn(partner, "a", 12_000, programme_today() - timedelta(days=20))
    review(partner)
    client.force_login(member)
    html = page(client, "web:tier")
    assert "What each tier gives" in html
    for name in ("Member", "Silver", "Gold"):
        assert name in html
    history = html[html.index('data-testid="tier-history"') :]
    assert "Member → Silver" in history and "Qualified" in history and "Joined the programme" in history


def test_a_member_sees_only_its_own_companys_tier_history(client, tiers):
    """A sweep over several partners with histories of their own: each member's page shows its own alone."""
    manager = StaffFactory(is_superuser=True)
    companies = []
    for n in range(5):
        company = PartnerFactory(name=f"Company {n} Ltd")
        person = MembershipFactory(partner=company).user
        if n % 3:
            earn(company, f"e{n}", 11_000 * (n % 3), programme_today() - timedelta(days=n + 1))
        companies.append((company, person))
    review(*(company for company, _ in companies))
    for n, (company, _) in enumerate(companies):
        if n % 2:
            services.grant_tier(
                company, tier=tiers["Gold"], ends_on=programme_today() + timedelta(days=n), reason=f"Match {n}",
                granted_by=manager,
            )  # fmt: skip
    for n, (_company, person) in enumerate(companies):
        client.force_login(person)
        history = page(client, "web:tier")
        start = history.index('id="history-title"')
        history = history[start : history.index("</section>", start)]
        rows = re.findall(r"<tr>.*?</tr>", history[history.index("<tbody>") :], re.S)
        expected = 1 + (n % 3 > 0) + (n % 2)  # joined, qualified for Silver or Gold, granted
        assert len(rows) == expected, (n, rows)
        assert ("Granted" in history) == bool(n % 2)
        assert f"Match {n}" not in history
        assert ("Member → Silver" in history) == (n % 3 > 0)
        for other, _ in companies:
            assert other.name not in history
    client.logout()
    assert client.get(reverse("web:tier")).status_code == 302
