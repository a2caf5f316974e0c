"""A person's own account: name, language, e-mail preferences, and links to allauth's password and
two-factor pages; signing out everywhere. Changes go through accounts.services."""

from allauth.account.adapter import get_adapter
from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django import forms
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from accounts import services
from accounts.decorators import member_required
from accounts.models import User


class AccountForm(forms.ModelForm):
    class Meta:
        model = User
        fields = [
            "first_name",
            "last_name",
            "language",
            "email_statements",
            "email_redemption_updates",
            "email_programme_news",
            "email_points_alerts",
        ]
        labels = {
            "language": gettext_lazy("Language of the portal and of your e-mails"),
            "email_statements": gettext_lazy("E-mail me the monthly statement"),
            "email_redemption_updates": gettext_lazy("E-mail me about my redemptions"),
            "email_programme_news": gettext_lazy("E-mail me programme news and offers"),
            "email_points_alerts": gettext_lazy("E-mail me before points expire and when our tier changes"),
        }
        widgets = {"language": forms.RadioSelect}


@member_required
def account(request):
    user = request.user
    form = AccountForm(request.POST or None, instance=user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        services.update_account(
            user,
            first_name=data["first_name"],
            last_name=data["last_name"],
            language=data["language"],
            email_statements=data["email_statements"],
            email_redemption_updates=data["email_redemption_updates"],
            email_programme_news=data["email_programme_news"],
            email_points_alerts=data["email_points_alerts"],
            acting_user=user,
        )
        translation.activate(data["language"])
        messages.success(request, _("Your account settings are saved."))
        return remember_language(redirect("web:account"), data["language"])
    if request.method == "POST":
        user.refresh_from_db()  # the form wrote its invalid values onto request.user
    context = {
        "form": form,
        "has_authenticator_app": is_mfa_enabled(user, [Authenticator.Type.TOTP]),
        "membership": request.membership,
    }
    return render(request, "web/account/index.html", context, status=400 if form.errors else 200)


@require_POST
@member_required
def sign_out_everywhere(request):
    services.sign_out_everywhere(request.user, acting_user=request.user)
    get_adapter(request).logout(request)
    messages.success(request, _("You are signed out on every device, this one included."))
    return redirect("account_login")


def set_language(request):
    """Django's language switch, which also saves the choice on a signed-in person's account: their saved
    language is what accounts.middleware.PersonLanguageMiddleware applies to each of their requests."""
    response = django_set_language(request)
    language = request.POST.get("language")
    if request.method == "POST" and request.user.is_authenticated and language in dict(settings.LANGUAGES):
        services.change_language(request.user, language=language, acting_user=request.user)
    return response


def remember_language(response, language: str):
    """Set the language cookie as Django's set_language does, so the choice outlives the session."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response
