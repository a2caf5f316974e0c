"""How earning's ledger entries read: orders, their release and returns, early payments, adjustments.

The services store these ``About`` values in the entries they post (``details["about"]``) and the rules'
parts beside them; ``register()`` (from the app's ``ready()``) tells the ledger's registry how both read
in the reader's language, and how the facts of entries older than them read.
"""

from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from portal.earning.rules import Rule
from portal.languages import in_language
from portal.ledger.wording import (
    About,
    PartFacts,
    money,
    number,
    register_about,
    register_facts,
    register_part,
    stored_as,
)
from portal.ledger.wording import day as short_day

# --- What an entry is ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderAbout(About):
    """An order's points, pending inside its return window."""

    kind = "order"
    order: str


@dataclass(frozen=True)
class OrderReleasedAbout(About):
    """An order's return window is over: its pending points are posted."""

    kind = "order_released"
    order: str


@dataclass(frozen=True)
class OrderAfterReturnAbout(About):
    """What still waits of an order's pending points after a return took some back."""

    kind = "order_after_return"
    order: str
    return_id: str = stored_as("return")


@dataclass(frozen=True)
class ReturnAbout(About):
    """A return takes back its goods' points (from the pending hold, or by clawback)."""

    kind = "return"
    order: str
    return_id: str = stored_as("return")


@dataclass(frozen=True)
class EarlyPaymentAbout(About):
    kind = "early_payment"
    invoice: str
    days: int


@dataclass(frozen=True)
class AdjustmentAbout(About):
    """A person's adjustment of a partner's points, with the reason they gave."""

    kind = "adjustment"
    note: str


def _early_payment(about: EarlyPaymentAbout) -> str:
    text = ngettext(
        "Invoice %(invoice)s paid %(days)s day early", "Invoice %(invoice)s paid %(days)s days early", about.days
    )
    return text % {"invoice": about.invoice, "days": number(about.days)}


ABOUT_WORDS = [
    (OrderAbout, lambda a: _("Order %(order)s") % {"order": a.order}),
    (
        OrderReleasedAbout,
        lambda a: _("Order %(order)s: return window over, points available") % {"order": a.order},
    ),
    (
        OrderAfterReturnAbout,
        lambda a: _("Order %(order)s, after return %(return)s") % {"order": a.order, "return": a.return_id},
    ),
    (ReturnAbout, lambda a: _("Return %(return)s of order %(order)s") % {"order": a.order, "return": a.return_id}),
    (EarlyPaymentAbout, _early_payment),
    (AdjustmentAbout, lambda a: _("Adjustment: %(note)s") % {"note": a.note}),
]


# --- The earning rules' parts ----------------------------------------------------------------------------


def _tier(facts: PartFacts) -> str:
    """The tier's part ("1,250 Gold tier ×1.25") names the tier in the reader's language: Hebrew in Hebrew."""
    if not facts["name"]:
        return _("%(points)s tier ×%(factor)s") % facts
    name = in_language(facts["name"], facts.get("name_he", ""))
    return _("%(points)s %(name)s tier ×%(factor)s") % {**facts, "name": name}


PART_WORDS = {
    Rule.BASE: lambda f: _("%(points)s base") % f,
    Rule.CATEGORY: lambda f: _("%(points)s %(name)s ×%(factor)s") % f,
    Rule.CAMPAIGN: lambda f: _("%(points)s %(name)s ×%(factor)s") % f,
    Rule.TIER: _tier,
    Rule.BULK_BONUS: lambda f: _("%(points)s bulk bonus") % f,
    Rule.PUNCH_CARD: lambda f: _("%(points)s punch card (every %(count)s qualifying orders)") % f,
    Rule.CAMPAIGN_BONUS: lambda f: _("%(points)s %(name)s bonus") % f,
    Rule.EARLY_PAYMENT: lambda f: _("%(points)s for paying %(count)s days early") % f,
    Rule.RETURNED_GOODS: lambda f: _("%(points)s returned goods") % f,
    Rule.ORDER_BONUSES: lambda f: _("%(points)s order bonuses") % f,
    Rule.PENDING: lambda f: _("%(points)s pending") % f,
    Rule.NOT_ACTIVE: lambda f: _("no points: the partner's membership is not active"),
}
# Parts after the first are joined with " − " when negative (a return's goods), so they show without a sign.
SIGNLESS = {Rule.RETURNED_GOODS}


# --- The facts of entries older than both ---------------------------------------------------------------


def _order(details) -> str:
    if "net_amount" not in details:
        return ""
    text = _("order value %(amount)s") % {"amount": money(details["net_amount"], details.get("currency", ""))}
    if details.get("lines"):
        text += ", " + _("%(count)s lines") % {"count": number(details["lines"])}
    return text


def _bulk_bonus(details) -> str:
    if not details.get("bulk_bonus"):
        return ""
    return _("including a bulk bonus of %(points)s") % {"points": number(details["bulk_bonus"])}


def _invoice(details) -> str:
    if "due_date" not in details:
        return ""
    return _("invoice of %(amount)s due %(due)s, paid %(paid)s") % {
        "amount": money(details.get("amount", ""), details.get("currency", "")),
        "due": short_day(details["due_date"]),
        "paid": short_day(details.get("paid_on", "")),
    }


def _share_returned(details) -> str:
    if "share_returned" not in details:
        return ""
    try:
        percent = round(float(details["share_returned"]) * 100)
    except (TypeError, ValueError):
        return ""
    return _("%(percent)s%% of the order returned") % {"percent": percent}


def _return(details) -> str:
    return _("return %(id)s") % {"id": details["return"]} if details.get("return") else ""


def _ticket(details) -> str:
    return _("ticket %(id)s") % {"id": details["ticket"]} if details.get("ticket") else ""


# Ranked among the other sources' facts (portal.ledger.wording.register_facts).
FACTS = {_order: 10, _bulk_bonus: 20, _invoice: 30, _share_returned: 60, _return: 70, _ticket: 90}


def register() -> None:
    for about, words in ABOUT_WORDS:
        register_about(about, words)
    for rule, words in PART_WORDS.items():
        register_part(rule, words, signless=rule in SIGNLESS)
    for describe, rank in FACTS.items():
        register_facts(describe, rank=rank)
