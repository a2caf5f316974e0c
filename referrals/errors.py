"""Referrals' refusals: each a ValidationError or PermissionDenied with a stable code and a translated message."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext_lazy as _


class InvalidTransition(ValidationError):
    """A step the application's status does not allow (the workflow's refusal)."""


class NotAllowedToReview(PermissionDenied):
    def __init__(self, message=None):
        super().__init__(message or _("Only the referring partner's account manager or an administrator may decide."))


class NotAMember(PermissionDenied):
    def __init__(self, message=None):
        super().__init__(message or _("Only the company's people may send its referral link."))
