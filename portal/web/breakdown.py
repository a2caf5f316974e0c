"""What an entry is and why it has the points it has, in words a partner reads, in the partner's language.

The ledger keeps each entry's reason and breakdown in English, as written when
it was posted: the record that finance and the API read, never changed. For the
pages, the source also stores facts in the entry's details: ``about`` (what the
entry is: an order, a return, a redemption, with their ids) and ``parts`` (the
earning rules' parts: {"rule": "category", "name": "Networking", "factor":
"1.25", "points": 310}). They are worded here, in the current language; an
entry without them (older imports) shows its English text, or the facts it
carries (an order's value, a quiz's score) put into a sentence.
"""

from datetime import date
from decimal import Decimal, InvalidOperation

from django.utils import formats
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _


def breakdown_of(details: dict | None) -> str:
    if not details:
        return ""
    if details.get("parts"):
        return parts_text(details["parts"])
    if details.get("breakdown"):
        return str(details["breakdown"])
    parts = [part for describe in _FACTS for part in [describe(details)] if part]
    return " · ".join(parts)


def _money(value, currency) -> str:
    try:
        amount = formats.number_format(Decimal(str(value)), 2, use_l10n=True, force_grouping=True)
    except (InvalidOperation, ValueError):
        return str(value)
    return f"{amount} {currency}".strip()


def _day(value) -> str:
    try:
        return formats.date_format(date.fromisoformat(str(value)), "SHORT_DATE_FORMAT")
    except ValueError:
        return str(value)


def _number(value) -> str:
    return formats.number_format(value, use_l10n=True, force_grouping=True)


def _order(details) -> str:
    if "net_amount" not in details:
        return ""
    text = _("order value %(amount)s") % {"amount": _money(details["net_amount"], details.get("currency", ""))}
    if details.get("lines"):
        text += ", " + _("%(count)s lines") % {"count": _number(details["lines"])}
    return text


def _bulk_bonus(details) -> str:
    if not details.get("bulk_bonus"):
        return ""
    return _("including a bulk bonus of %(points)s") % {"points": _number(details["bulk_bonus"])}


def _invoice(details) -> str:
    if "due_date" not in details:
        return ""
    return _("invoice of %(amount)s due %(due)s, paid %(paid)s") % {
        "amount": _money(details.get("amount", ""), details.get("currency", "")),
        "due": _day(details["due_date"]),
        "paid": _day(details.get("paid_on", "")),
    }


def _score(details) -> str:
    return _("score %(score)s") % {"score": details["score"]} if "score" in details else ""


def _item(details) -> str:
    if "item" not in details or "quantity" not in details:
        return ""
    text = _("%(quantity)s × %(item)s") % {"quantity": _number(details["quantity"]), "item": details["item"]}
    if details.get("requested_by"):
        text += ", " + _("asked for by %(name)s") % {"name": details["requested_by"]}
    return text


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


def _referred(details) -> str:
    return _("referred %(name)s") % {"name": details["referred"]} if details.get("referred") else ""


def _ticket(details) -> str:
    return _("ticket %(id)s") % {"id": details["ticket"]} if details.get("ticket") else ""


_FACTS = [_order, _bulk_bonus, _invoice, _score, _item, _share_returned, _return, _referred, _ticket]


# --- The earning rules' parts ---------------------------------------------------------------------------


def parts_text(parts: list[dict] | None, fallback: str = "") -> str:
    """The rules' parts in the current language ("1,240 base + 310 Networking ×1.25 + 500 bulk bonus");
    `fallback` (the English breakdown) for a record written before parts were stored, or with a part not
    known here."""
    if not parts:
        return fallback
    worded = [_part(part) for part in parts]
    if None in worded:
        return fallback or " + ".join(f"{_number(p.get('points', 0))} {p.get('rule', '')}" for p in parts)
    text = ""
    for part, words in zip(parts, worded, strict=True):
        if text:
            text += " − " if part.get("points", 0) < 0 else " + "
        text += words
    return text


def _part(part: dict) -> str | None:
    rule = part.get("rule")
    points = part.get("points", 0)
    if rule == "not_active":
        return _("no points: the partner's membership is not active")
    facts = {
        "points": _number(abs(points) if rule in _SIGNLESS else points),
        "name": part.get("name", ""),
        "factor": part.get("factor", ""),
        "count": part.get("count", 0),
    }
    if rule == "tier" and not facts["name"]:
        return _("%(points)s tier ×%(factor)s") % facts
    words = _PART_WORDS.get(rule)
    return words() % facts if words else None


# Parts after the first are joined with " − " when negative (a return's goods), so they show without a sign.
_SIGNLESS = {"returned_goods"}
_PART_WORDS = {
    "base": lambda: _("%(points)s base"),
    "category": lambda: _("%(points)s %(name)s ×%(factor)s"),
    "campaign": lambda: _("%(points)s %(name)s ×%(factor)s"),
    "tier": lambda: _("%(points)s %(name)s tier ×%(factor)s"),
    "bulk_bonus": lambda: _("%(points)s bulk bonus"),
    "punch_card": lambda: _("%(points)s punch card (every %(count)s qualifying orders)"),
    "campaign_bonus": lambda: _("%(points)s %(name)s bonus"),
    "early_payment": lambda: _("%(points)s for paying %(count)s days early"),
    "returned_goods": lambda: _("%(points)s returned goods"),
    "order_bonuses": lambda: _("%(points)s order bonuses"),
    "pending": lambda: _("%(points)s pending"),
}


# --- What an entry is -------------------------------------------------------------------------------------


def reason_of(reason: str, details: dict | None) -> str:
    """The entry's reason in the current language, from the facts its source stored; else as written."""
    about = (details or {}).get("about")
    if not isinstance(about, dict):
        return reason
    words = _REASON_WORDS.get(about.get("kind"))
    if words is None:
        return reason
    try:
        return words(about)
    except (KeyError, TypeError, ValueError):
        return reason


def _redemption(about: dict) -> str:
    text = _("Redemption #%(id)s: %(quantity)s × %(item)s") % {
        "id": about["redemption"],
        "quantity": _number(about["quantity"]),
        "item": about.get(f"item_{get_language()}") or about["item"],  # the item's title in the language, if it has one
    }
    if about.get("outcome") == "rejected":
        text += ": " + _("rejected, points given back")
    elif about.get("outcome") == "cancelled":
        text += ": " + _("cancelled, points given back")
    return text


_REASON_WORDS = {
    "order": lambda a: _("Order %(order)s") % a,
    "order_released": lambda a: _("Order %(order)s: return window over, points available") % a,
    "order_after_return": lambda a: _("Order %(order)s, after return %(return)s") % a,
    "return": lambda a: _("Return %(return)s of order %(order)s") % a,
    "early_payment": lambda a: (
        ngettext(
            "Invoice %(invoice)s paid %(days)s day early", "Invoice %(invoice)s paid %(days)s days early", a["days"]
        )
        % {"invoice": a["invoice"], "days": _number(a["days"])}
    ),
    "redemption": _redemption,
    "adjustment": lambda a: _("Adjustment: %(note)s") % a,
    "welcome": lambda a: _("Welcome to the partner programme"),
    "referral": lambda a: _("Referral: %(referred)s placed its first order") % a,
    "quiz": lambda a: _("Passed the quiz “%(title)s” (%(person)s)") % a,
    "questionnaire": lambda a: _("Answered “%(title)s” (%(person)s)") % a,
}
