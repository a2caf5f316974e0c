"""The downgrade and expiry warnings: through the outbox, once, to the people who want them, in the company's
language, with the ledger's figures."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse

from portal.ledger import services as ledger
from portal.ledger.models import Code
from portal.notices.services import deliver_pending
from portal.tiers import rules, services
from portal.tiers.models import Tier, TierSettings
from portal.tiers.queries import programme_today
from tests.factories import MembershipFactory, PartnerFactory

pytestmark = pytest.mark.django_db


def at(day):
    return datetime.combine(day, time(12), tzinfo=ZoneInfo(settings.PROGRAMME_TIME_ZONE))


def earn(partner, key, amount, day):
    ledger.post_transfer(
        ledger.earning(partner.pk, key=key, amount=amount, code=Code.ORDER, reason=key, effective_at=at(day))
    )


def short(day, language="en"):
    return day.strftime("%d/%m/%Y" if language == "he" else "%m/%d/%Y")


@pytest.fixture
def programme(db):
    Tier.objects.create(name="Member", name_he="חבר", threshold=0)
    Tier.objects.create(name="Gold", name_he="זהב", threshold=25_000, multiplier="1.25")
    config = TierSettings.load()
    config.grace_months, config.expiry_months, config.expiry_warning_days = 0, 12, 30
    config.save()
    return config


def company(language="en"):
    """A company with two people who want the alerts, one who does not, and one who left."""
    partner = PartnerFactory(language=language)
    wants = [MembershipFactory(partner=partner, user__email=f"wants{n}-{partner.pk}@example.com").user for n in (1, 2)]
    MembershipFactory(partner=partner, user__email=f"not-{partner.pk}@example.com", user__email_points_alerts=False)
    MembershipFactory(partner=partner, user__email=f"left-{partner.pk}@example.com", user__is_active=False)
    return partner, wants


def near_downgrade(partner):
    today = programme_today()
    earn(partner, f"old-{partner.pk}", 27_000, rules.add_months(today, -12))  # out of the window by the next review
    earn(partner, f"new-{partner.pk}", 4_000, today - timedelta(days=3))
    services.review_tiers([partner.pk], today=today, monthly=True)


def test_the_downgrade_warning_goes_once_to_those_who_want_it(programme):
    partner, wants = company()
    near_downgrade(partner)
    deliver_pending()
    assert sorted(m.to[0] for m in mail.outbox) == sorted(p.email for p in wants)
    by_day = rules.first_of_next_month(programme_today()) - timedelta(days=1)
    message = mail.outbox[0]
    assert message.subject == f"Keep your Gold tier: 21,000 points by {short(by_day)}"
    assert "needs 21,000 more qualifying points by" in message.body
    assert "Otherwise it moves to Member." in message.body
    assert message.body.startswith(f"Hello {partner.name} team,")
    services.review_tiers([partner.pk], today=programme_today(), monthly=True)  # the same review again
    services.review_tiers([partner.pk], today=programme_today(), monthly=False)
    deliver_pending()
    assert len(mail.outbox) == 2


def test_the_downgrade_warning_is_in_the_companys_language(programme):
    partner, wants = company(language="he")
    near_downgrade(partner)
    deliver_pending()
    assert len(mail.outbox) == 2
    by_day = rules.first_of_next_month(programme_today()) - timedelta(days=1)
    message = mail.outbox[0]
    assert message.subject == f"שמרו על דרגת זהב: 21,000 נקודות עד {short(by_day, 'he')}"
    assert "עליה לצבור עוד 21,000 נקודות מזכות" in message.body
    assert "אחרת היא תעבור לדרגת חבר." in message.body
    assert "Gold" not in message.body and "points" not in message.body


def test_a_company_that_earned_enough_meanwhile_hears_nothing(programme):
    partner, _ = company()
    near_downgrade(partner)
    earn(partner, "enough", 25_000, programme_today())
    deliver_pending()
    assert mail.outbox == []


def expiring_soon(partner):
    """700 points that expire in ten days, 200 of them spent since (oldest first): 500 expire."""
    today = programme_today()
    earned_on = rules.add_months(today, -12) + timedelta(days=10)
    earn(partner, f"soon-{partner.pk}", 700, earned_on)
    earn(partner, f"later-{partner.pk}", 900, today - timedelta(days=5))
    ledger.post_transfer(
        ledger.spending(partner.pk, key=f"r-{partner.pk}", amount=200, code=Code.REDEMPTION, reason="Mug")
    )
    return rules.add_months(earned_on, 12)


def test_the_expiry_warning_goes_once_with_the_points_that_will_expire(programme):
    partner, wants = company()
    expires_on = expiring_soon(partner)
    services.run_expiry([partner.pk], today=programme_today())
    deliver_pending()
    assert sorted(m.to[0] for m in mail.outbox) == sorted(p.email for p in wants)
    message = mail.outbox[0]
    assert message.subject == f"500 points expire on {short(expires_on)}"
    assert f"500 of your company's points expire on {short(expires_on)}." in message.body
    assert "/rewards/" in message.body
    services.run_expiry([partner.pk], today=programme_today())
    services.run_expiry([partner.pk], today=programme_today() + timedelta(days=1))
    deliver_pending()
    assert len(mail.outbox) == 2


def test_the_expiry_warning_is_in_the_companys_language(programme):
    partner, _ = company(language="he")
    expires_on = expiring_soon(partner)
    services.run_expiry([partner.pk], today=programme_today())
    deliver_pending()
    assert len(mail.outbox) == 2
    message = mail.outbox[0]
    assert message.subject == f"תוקפן של 500 נקודות יפוג ב-{short(expires_on, 'he')}"
    assert f"תוקפן של 500 מנקודות החברה שלכם יפוג ב-{short(expires_on, 'he')}." in message.body
    assert "points" not in message.body


def test_points_spent_before_the_warning_goes_mean_no_warning(programme):
    partner, _ = company()
    expiring_soon(partner)
    services.run_expiry([partner.pk], today=programme_today())
    ledger.post_transfer(ledger.spending(partner.pk, key="all", amount=1_400, code=Code.REDEMPTION, reason="TV"))
    deliver_pending()
    assert mail.outbox == []


def test_a_person_who_unticks_the_preference_on_the_account_page_gets_no_warning(client, programme):
    partner, (first, second) = company()
    client.force_login(first)
    assert client.get(reverse("web:account")).content.decode().count('name="email_points_alerts"') == 1
    response = client.post(
        reverse("web:account"),
        {"first_name": "Noa", "last_name": "Cohen", "language": "en", "email_statements": "on"},
    )
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.email_points_alerts is False and first.email_statements is True
    expiring_soon(partner)
    services.run_expiry([partner.pk], today=programme_today())
    deliver_pending()
    assert [m.to for m in mail.outbox] == [[second.email]]
    client.post(
        reverse("web:account"),
        {"first_name": "Noa", "last_name": "Cohen", "language": "en", "email_points_alerts": "on"},
    )
    first.refresh_from_db()
    assert first.email_points_alerts is True
