"""Why a transfer was refused: a code callers can branch on, a message people can read."""

from django.utils.translation import gettext_lazy as _

MESSAGES = {
    "amount_must_be_positive": _("The amount must be a whole number of points above zero."),
    "accounts_must_be_different": _("Points cannot move from an account to itself."),
    "account_not_found": _("The account does not exist."),
    "exceeds_available": _("Not enough points: {available} available, {amount} needed."),
    "exists_with_different_fields": _(
        "A transfer with key {key} already exists with different content; it conflicts with the first."
    ),
    "pending_transfer_not_found": _("There is no pending transfer {pending_key}."),
    "pending_transfer_not_pending": _("Transfer {pending_key} is not a pending transfer."),
    "pending_transfer_already_posted": _("Pending transfer {pending_key} has already been posted."),
    "pending_transfer_already_voided": _("Pending transfer {pending_key} has already been voided."),
    "pending_amount_exceeded": _("Cannot post {amount} points of a pending transfer of {pending_amount}."),
    "corrected_transfer_not_found": _("There is no transfer {corrects_key} to correct."),
}


class TransferRejected(Exception):
    """A transfer the ledger refused. `code` is stable; `message` is for people."""

    def __init__(self, code: str, **data):
        self.code = code
        self.data = data
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return str(MESSAGES[self.code]).format(**self.data)


class InsufficientPoints(TransferRejected):
    pass
