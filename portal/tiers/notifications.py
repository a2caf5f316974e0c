"""E-mails of the tier and expiry runs, in the company's language, through the programme's outbox.

The runs queue a notice per partner and what it announces (a downgrade day, an expiry day); the outbox
delivers each once. The sender reads the figures when it sends, so a company that earned enough, or spent
its points, meanwhile hears the truth (or nothing): the points the e-mail names are the ledger's now.
"""

from datetime import date

from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.models import Partner, User
from portal.ledger.wording import day as short_day
from portal.ledger.wording import number
from portal.notices.services import link
from portal.tiers import queries


def recipients(partner: Partner) -> list[User]:
    """The company's active people who want e-mail about expiring points and tier changes."""
    return list(
        User.objects.filter(is_active=True, email_points_alerts=True, membership__partner=partner).order_by("pk")
    )


def deliver_downgrade_warning(payload: dict) -> int:
    partner = Partner.objects.filter(pk=payload["partner"]).first()
    if partner is None:
        return 0
    downgrade_on = date.fromisoformat(payload["downgrade_on"])
    with translation.override(partner.language):
        card = queries.tier_card(partner, today=queries.programme_today())
        keep = card.keep if card else None
        if keep is None or keep.downgrade_on != downgrade_on or keep.points_needed <= 0:
            return 0  # it earned enough meanwhile, or a later review decides anew
        subject = _("Keep your %(tier)s tier: %(points)s points by %(day)s") % {
            "tier": card.tier.display_name,
            "points": number(keep.points_needed),
            "day": short_day(keep.by_day.isoformat()),
        }
        body = render_to_string(
            "tiers/email/downgrade_warning.txt",
            {"partner": partner, "card": card, "keep": keep, "link": link(reverse("web:dashboard"))},
        )
    return _send(subject, body, recipients(partner))


def deliver_expiry_warning(payload: dict) -> int:
    partner = Partner.objects.filter(pk=payload["partner"]).first()
    if partner is None:
        return 0
    expires_on = date.fromisoformat(payload["expires_on"])
    points = sum(e.points for e in queries.expiring_soon(partner, until=expires_on) if e.expires_on == expires_on)
    if points <= 0:
        return 0  # spent meanwhile: nothing will expire that day
    with translation.override(partner.language):
        subject = _("%(points)s points expire on %(day)s") % {
            "points": number(points),
            "day": short_day(expires_on.isoformat()),
        }
        body = render_to_string(
            "tiers/email/expiry_warning.txt",
            {
                "partner": partner,
                "points": points,
                "expires_on": expires_on,
                "link": link(reverse("rewards_catalog:catalog")),
            },
        )
    return _send(subject, body, recipients(partner))


def _send(subject: str, body: str, people: list[User]) -> int:
    """One message per person (addresses are not shared); an error raises, and the outbox tries again."""
    return sum(send_mail(subject, body, None, [person.email]) for person in people)
