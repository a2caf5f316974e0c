"""Why a redemption, a decision or a code upload was refused.

Each is a subclass of Django's own PermissionDenied or ValidationError, so a form shows it and a view
answers 403 without a mapping of its own; each has a stable `code` for callers and a translated message.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from rewards_catalog.rules import Unavailable


class NotAllowedToRedeem(PermissionDenied):
    """The person is not a member of the company, or their role does not let them redeem."""

    code = "not_allowed_to_redeem"

    def __init__(self, message=None):
        super().__init__(message or _("Your role in the company does not let you redeem rewards."))


class NotAllowedToDecide(PermissionDenied):
    """The staff user may not decide this redemption (no permission, or not their portfolio)."""

    code = "not_allowed_to_decide"

    def __init__(self):
        super().__init__(_("You may not decide redemptions of this partner."))


class ItemNotAvailable(ValidationError):
    """The item may not be redeemed by this company now; `reason` says why (rules.why_unavailable)."""

    def __init__(self, reason: Unavailable):
        self.reason = reason
        super().__init__(reason.message, code=reason.code)


class NotEnoughPoints(ValidationError):
    """The company's available points do not cover the redemption (the ledger's floor)."""

    def __init__(self, *, available: int, needed: int):
        self.available = available
        self.needed = needed
        message = _("Not enough points: your company has %(available)s available and this needs %(needed)s.") % {
            "available": f"{available:,}",
            "needed": f"{needed:,}",
        }
        super().__init__(message, code="not_enough_points")


class InvalidRedemption(ValidationError):
    """A quantity, shipping address or cause that cannot be accepted; `error_dict` names the field."""


class InvalidTransition(ValidationError):
    """The redemption's status does not allow this step (approving a rejected one, cancelling a shipped one)."""

    def __init__(self, message, *, code):
        super().__init__(message, code=code)


class CodeUploadRefused(ValidationError):
    """A file of gift-card codes with mistakes; `rows` lists (row number, message), and nothing was added."""

    def __init__(self, message, *, rows=(), code="invalid_file"):
        self.rows = list(rows)
        super().__init__(message, code=code)
