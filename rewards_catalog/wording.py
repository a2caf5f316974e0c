"""How a redemption's ledger entries read: the hold, its capture, and its points given back.

``services`` stores a ``RedemptionAbout`` in each entry it posts (``details["about"]``); ``register()``
(from the app's ``ready()``) tells the ledger's registry how it reads, with the item's title in the
reader's language, and how the facts of older redemption entries read.
"""

from dataclasses import dataclass
from enum import StrEnum

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from portal.ledger.wording import About, number, register_about, register_facts


class Outcome(StrEnum):
    """Why a redemption's held points went back."""

    REJECTED = "rejected"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class RedemptionAbout(About):
    kind = "redemption"
    redemption: int
    quantity: int
    item: str  # the item's title in English
    item_he: str = ""  # and in Hebrew, if it has one
    outcome: str | None = None  # an Outcome, once the points went back

    def title(self) -> str:
        """The item's title in the current language, if it has one there."""
        return getattr(self, f"item_{get_language()}", "") or self.item


def _redemption(about: RedemptionAbout) -> str:
    text = _("Redemption #%(id)s: %(quantity)s × %(item)s") % {
        "id": about.redemption,
        "quantity": number(about.quantity),
        "item": about.title(),
    }
    if about.outcome == Outcome.REJECTED:
        text += ": " + _("rejected, points given back")
    elif about.outcome == Outcome.CANCELLED:
        text += ": " + _("cancelled, points given back")
    return text


def _item(details) -> str:
    """An older redemption entry's facts: the item, how many, and who asked for it."""
    if "item" not in details or "quantity" not in details:
        return ""
    text = _("%(quantity)s × %(item)s") % {"quantity": number(details["quantity"]), "item": details["item"]}
    if details.get("requested_by"):
        text += ", " + _("asked for by %(name)s") % {"name": details["requested_by"]}
    return text


def register() -> None:
    register_about(RedemptionAbout, _redemption)
    register_facts(_item, rank=50)
