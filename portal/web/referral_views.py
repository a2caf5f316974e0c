"""Referrals in the portal: the company's link and code, sending the link to an address (rate limited per
company and per person), and the status of each business the company referred with the points it earned.
Every person of the company may refer; what they see is their own company's (request.membership)."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.decorators import member_required
from referrals import queries, rate_limits, services
from referrals.views import rate_limited

LINK_ACTION = "referral_link"


class SendLinkForm(forms.Form):
    email = forms.CharField(
        label=gettext_lazy("E-mail address of the business"),
        max_length=320,
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "off", "dir": "ltr"}),
    )


def _refer_page(request, form, status=200):
    partner = request.membership.partner
    code = services.referral_code_for(partner)
    referrals = queries.referrals_of(partner)
    context = {
        "partner": partner,
        "code": code.code,
        "link": services.referral_link(code.code),
        "form": form,
        "recent": referrals[:3],
        "count": referrals.count(),
    }
    return render(request, "web/referrals/refer.html", context, status=status)


@member_required
def refer(request):
    return _refer_page(request, SendLinkForm())


@require_POST
@member_required
def send_link(request):
    form = SendLinkForm(request.POST)
    if not form.is_valid():
        return _refer_page(request, form, status=400)
    key = f"partner:{request.membership.partner_id}"
    if not rate_limits.consume(request, action=LINK_ACTION, key=key, user=request.user):
        seconds = rate_limits.seconds_until_allowed(request, action=LINK_ACTION, key=key, user=request.user)
        return rate_limited(request, seconds=seconds, what=_("Referral links sent by you or your company"))
    try:
        email = services.send_referral_link(
            request.membership, email=form.cleaned_data["email"], acting_user=request.user
        )
    except ValidationError as error:
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return _refer_page(request, form, status=400)
    except PermissionDenied as refused:
        form.add_error(None, str(refused))
        return _refer_page(request, form, status=403)
    messages.success(request, _("Your referral link is on its way to %(email)s.") % {"email": email})
    return redirect("web:refer")


@member_required
def referral_status(request):
    partner = request.membership.partner
    referrals = list(queries.referrals_of(partner))
    earned = sum(referral.referrer_points for referral in referrals)
    context = {"partner": partner, "referrals": referrals, "earned": earned}
    return render(request, "web/referrals/status.html", context)
