"""Why taking a quiz or answering a form was refused.

Each is a subclass of Django's own PermissionDenied or ValidationError, with a stable `code` and a
translated message, so a form shows it and a view answers without a mapping of its own (``NotOffered``:
the Learn views answer 404, as for a page that does not exist).
"""

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import formats, timezone
from django.utils.translation import gettext as _


class NotOffered(PermissionDenied):
    """The item is not offered to the person's company: not its audience, outside its window, or not live."""

    code = "not_offered"

    def __init__(self):
        super().__init__(_("This item is not offered to your company."))


class NotAMember(PermissionDenied):
    """The person no longer belongs to the company (removed since the page was read), or is inactive."""

    code = "not_a_member"

    def __init__(self):
        super().__init__(_("You are not a member of this company."))


class AlreadyDone(ValidationError):
    """The person already passed this quiz or answered this form (in either language)."""

    def __init__(self):
        super().__init__(_("You have already completed this item."), code="already_done")


class RetryTooSoon(ValidationError):
    """The person failed this quiz a short while ago; `at` is when they may try again."""

    def __init__(self, at: datetime):
        self.at = at
        when = formats.date_format(timezone.localtime(at), "DATETIME_FORMAT")
        super().__init__(_("You may take this quiz again from %(when)s.") % {"when": when}, code="retry_too_soon")


class InvalidAnswers(ValidationError):
    """Answers that cannot be graded or stored; `error_dict` names each question (its field) and why."""
