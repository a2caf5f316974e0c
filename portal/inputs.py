"""What the portal accepts from outside, checked once where it comes in.

Two limits of what lies beneath would otherwise surface as server errors: PostgreSQL cannot store a
NUL character in text, and Python's dates end at year 9999 and begin at year 1 (a return window
added to 9999-12-31, or 0001-01-01 with an offset moved to UTC, overflows). Every way in shares
these checks:

- the ERP's items, by the API and by CSV (``portal.earning.schemas``): `printable`, `calendar_day`,
  `calendar_moment`, each naming the field;
- the portal's forms: `CalendarDateField` (Django's own CharField already refuses NUL);
- anything in a URL, its query string or a form post, whatever view reads it:
  `RefuseNulMiddleware`, before any view runs.

The calendar is the programme's: no partner ordered before 2000 or will pay after 2099.
"""

from datetime import date, datetime
from http import HTTPStatus

from django import forms
from django.core.exceptions import BadRequest, ValidationError
from django.http import HttpRequest, JsonResponse, QueryDict
from django.utils.translation import gettext_lazy as _
from django.views.defaults import bad_request

EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2099, 12, 31)
NUL = "\x00"

# The ERP API's prefix: a refusal there is a problem document the ERP can read, not an HTML page.
API_PREFIX = "/api/"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def printable(value: str) -> str:
    """PostgreSQL cannot store NUL in text: refuse it here, naming the field, rather than fail in the database."""
    if NUL in value:
        raise ValueError("must not contain a NUL character")
    return value


def in_calendar(day: date) -> bool:
    return EARLIEST_DAY <= day <= LATEST_DAY


def calendar_day(day: date) -> date:
    if not in_calendar(day):
        raise ValueError(f"must be between {EARLIEST_DAY.isoformat()} and {LATEST_DAY.isoformat()}")
    return day


def calendar_moment(moment: datetime) -> datetime:
    """Checked on the moment's own calendar day, before any conversion to UTC can overflow."""
    calendar_day(moment.date())
    return moment


class CalendarDateField(forms.DateField):
    """A date a person types into a portal form: inside the programme's calendar, or a message saying so."""

    def validate(self, value):
        super().validate(value)
        if value and not in_calendar(value):
            raise ValidationError(
                _("Enter a date between %(earliest)s and %(latest)s."),
                code="outside_calendar",
                params={"earliest": EARLIEST_DAY.isoformat(), "latest": LATEST_DAY.isoformat()},
            )


def _has_nul(values: QueryDict) -> bool:
    return any(NUL in key or any(NUL in value for value in items) for key, items in values.lists())


def nul_in(request: HttpRequest) -> str | None:
    """Where a request carries a NUL character (its path, query string or form), or None."""
    if NUL in request.path:
        return "the address"
    if _has_nul(request.GET):
        return "the query string"
    # The API reads its body as JSON (its schemas check each field); parsing it as a form here would
    # leave the body unreadable for the API's own parser.
    form_post = request.method == "POST" and request.content_type in FORM_TYPES
    if form_post and not request.path.startswith(API_PREFIX) and _has_nul(request.POST):
        return "the form"
    return None


class RefuseNulMiddleware:
    """A NUL character in a URL or a form answers 400 before any view, form or query sees it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        where = nul_in(request)
        if where is None:
            return self.get_response(request)
        detail = f"{where[0].upper()}{where[1:]} contains a NUL character, which no field accepts."
        if request.path.startswith(API_PREFIX):
            status = HTTPStatus.BAD_REQUEST
            document = {"type": "about:blank", "title": status.phrase, "status": status, "detail": detail}
            return JsonResponse(document, status=status, content_type="application/problem+json")
        return bad_request(request, BadRequest(detail))
