"""The public application form (no sign-in), reached through a partner's referral link or on its own.

It is rate limited per client address (``ACCOUNT_RATE_LIMITS["referral_apply"]``: a 429 page that says
when to try again), has a honeypot (a bot that fills it is thanked and nothing is kept), and shows the
service's message beside each bad field."""

from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from referrals import rate_limits, services
from referrals.forms import HONEYPOT, ApplicationForm
from referrals.queries import code_owner

APPLY_ACTION = "referral_apply"


def rate_limited(request, *, seconds: int, what: str):
    """The 429 page: what was limited and in how many minutes it may be tried again."""
    minutes = max(1, -(-seconds // 60))
    response = render(request, "referrals/rate_limited.html", {"minutes": minutes, "what": what}, status=429)
    response["Retry-After"] = str(max(1, seconds))
    return response


@require_http_methods(["GET", "POST"])
def apply(request, code: str = ""):
    referrer = code_owner(code) if code else None
    if request.method == "GET":
        language = request.LANGUAGE_CODE if request.LANGUAGE_CODE in ("en", "he") else "en"
        form = ApplicationForm(initial={"code": code.upper()[:16], "language": language})
        return _page(request, form, referrer, code)
    form = ApplicationForm(request.POST)
    if not rate_limits.consume(request, action=APPLY_ACTION):
        seconds = rate_limits.seconds_until_allowed(request, action=APPLY_ACTION)
        return rate_limited(request, seconds=seconds, what=_("Applications from your address"))
    if not form.is_valid():
        return _page(request, form, referrer, code, status=400)
    data = form.cleaned_data
    if data[HONEYPOT]:
        return redirect("referrals:thanks")  # a bot: thanked like anyone, and nothing is kept
    try:
        services.submit_application(
            services.ApplicationForm(**{name: data[name] for name in services.ApplicationForm.__dataclass_fields__})
        )
    except ValidationError as error:
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return _page(request, form, referrer, code, status=400)
    return redirect("referrals:thanks")


def _page(request, form, referrer, code, status=200):
    context = {"form": form, "referrer": referrer, "unknown_code": bool(code) and referrer is None}
    return render(request, "referrals/apply.html", context, status=status)


def thanks(request):
    return render(request, "referrals/thanks.html")
