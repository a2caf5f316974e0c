"""Per-request rules about the signed-in person: the language they chose, and staff's second factor."""

from functools import cached_property

from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.adapters import must_use_authenticator_app


class PersonLanguageMiddleware:
    """A signed-in person's saved language wins over the browser's and the cookie's (LocaleMiddleware,
    which runs before authentication, only knows those). The language switcher saves it on the person
    too (portal.web.account_views.set_language), so the two never disagree for long."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated and user.language in dict(settings.LANGUAGES):
            translation.activate(user.language)
            request.LANGUAGE_CODE = user.language
        return self.get_response(request)


class StaffTwoFactorMiddleware:
    """Staff without an authenticator app are sent to set one up before anything else, the CMS included.

    allauth asks for the app's code at sign-in once a person has one, but has no setting that makes one
    compulsory. So: a staff user (and anyone Wagtail would let into /cms/) without a TOTP authenticator
    reaches only allauth's own pages (setting up the app, re-entering the password that asks for,
    signing out), static files, the health check and the language switch; every other request is sent
    to the set-up page. Placed after AuthenticationMiddleware and allauth's AccountMiddleware.
    """

    ALWAYS_OPEN = ("/accounts/", "/health/", "/i18n/")

    def __init__(self, get_response):
        self.get_response = get_response

    @cached_property
    def open_prefixes(self) -> tuple[str, ...]:
        return (*self.ALWAYS_OPEN, settings.STATIC_URL)

    @cached_property
    def cms_prefix(self) -> str:
        return reverse("wagtailadmin_home")

    def __call__(self, request):
        if self._must_set_up_authenticator(request):
            messages.warning(
                request,
                _("Staff sign in with an authenticator app. Set one up to continue to the CMS."),
                fail_silently=True,
            )
            return redirect("mfa_activate_totp")
        return self.get_response(request)

    def _must_set_up_authenticator(self, request) -> bool:
        user = request.user
        if not user.is_authenticated or request.path_info.startswith(self.open_prefixes):
            return False
        # In this order, a partner's person outside the CMS costs no query.
        needs_one = must_use_authenticator_app(user) or (
            request.path_info.startswith(self.cms_prefix) and user.has_perm("wagtailadmin.access_admin")
        )
        return needs_one and not is_mfa_enabled(user, [Authenticator.Type.TOTP])
