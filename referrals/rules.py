"""Pure rules of referrals: the Israeli company number's check digit, e-mail domains, and the fraud signals
as reasons a reviewer reads (the facts come from ``queries``)."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal


def is_valid_company_number(number: str) -> bool:
    """An Israeli company number: 9 digits whose check digit makes the Luhn-like sum divisible by 10.

    The same algorithm as the Israeli ID number: the digits weighted 1, 2, 1, 2, ... from the left, a
    product above 9 counted as the sum of its digits (i.e. less 9), the total divisible by 10.
    """
    if len(number) != 9 or not number.isascii() or not number.isdigit():
        return False
    total = 0
    for position, digit in enumerate(number):
        product = int(digit) * (1 + position % 2)
        total += product - 9 if product > 9 else product
    return total % 10 == 0


def normalise_company_number(raw: str) -> str:
    """What people type: spaces and dashes dropped (51-123456-7)."""
    return "".join(raw.split()).replace("-", "")


def email_domain(email: str) -> str:
    return email.rsplit("@", 1)[-1].strip().lower()


def is_free_mail(domain: str, free_mail_domains) -> bool:
    """A mailbox anyone can open (gmail.com...): sharing it says nothing about being one company."""
    return domain.lower() in {d.lower() for d in free_mail_domains}


@dataclass(frozen=True)
class Signal:
    """One reason to look twice at an application; ``code`` is stable, ``reason`` is for people."""

    code: str
    reason: str

    def as_dict(self) -> dict:
        return {"code": self.code, "reason": self.reason}


# Signals that refuse an approval outright: the company is a partner already (the registration number is
# unique), so approving could only fail or credit the referrer for an existing partner.
REFUSING = frozenset({"self_referral_number", "registered_partner"})
# Signals that keep the referrer's reward back even where a note let the approval through.
NO_REFERRAL_REWARD = frozenset({"self_referral_number", "self_referral_domain", "registered_partner"})


@dataclass(frozen=True)
class Qualification:
    """What the programme asks of a referred business: a first order worth `min_order_value` or more
    within `window` of its approval, and its first invoice paid."""

    min_order_value: Decimal
    window: timedelta

    def deadline(self, approved_at: datetime) -> datetime:
        return approved_at + self.window
