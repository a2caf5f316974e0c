"""Why an entry has the points it has, in words a partner reads.

An earning rule writes its own breakdown ("1,240 base + 310 Networking x1.25")
into the entry's details; entries made elsewhere (redemptions, adjustments,
older imports) carry facts instead (an order's value, an invoice's due date, a
quiz's score), which are put into a sentence here in the partner's language.
"""

from datetime import date
from decimal import Decimal, InvalidOperation

from django.utils import formats
from django.utils.translation import gettext as _


def breakdown_of(details: dict | None) -> str:
    if not details:
        return ""
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
