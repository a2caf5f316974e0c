"""How referrals' ledger entries read: a welcome bonus, and a referred business's first order (the demo
posts them today).

``register()`` (from the app's ``ready()``) tells the ledger's registry how they read in the reader's
language, and how an older entry's referred business reads.
"""

from dataclasses import dataclass

from django.utils.translation import gettext as _

from portal.ledger.wording import About, register_about, register_facts


@dataclass(frozen=True)
class WelcomeAbout(About):
    kind = "welcome"


@dataclass(frozen=True)
class ReferralAbout(About):
    kind = "referral"
    referred: str  # the business's name


def _referred(details) -> str:
    return _("referred %(name)s") % {"name": details["referred"]} if details.get("referred") else ""


def register() -> None:
    register_about(WelcomeAbout, lambda a: _("Welcome to the partner programme"))
    register_about(
        ReferralAbout, lambda a: _("Referral: %(referred)s placed its first order") % {"referred": a.referred}
    )
    register_facts(_referred, rank=80)
