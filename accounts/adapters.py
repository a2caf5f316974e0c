from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from django.utils import translation

from accounts import sign_in_limits
from accounts.models import User


class PortalAccountAdapter(DefaultAccountAdapter):
    """Partners join through an invitation or their account manager, never by open sign-up."""

    def is_open_for_signup(self, request):
        return False

    def send_mail(self, template_prefix, email, context):
        """allauth's e-mails (verification, password reset, security notices) in the recipient's language,
        not in the language of whoever's request caused them."""
        user = context.get("user") or User.objects.filter(email__iexact=email).first()
        language = getattr(user, "language", None) or translation.get_language()
        with translation.override(language):
            super().send_mail(template_prefix, email, context)

    def pre_authenticate(self, request, **credentials):
        """Failed sign-ins count per account and client address (accounts.sign_in_limits), not per account
        alone: a stranger's wrong passwords must not lock the partner's own people out."""
        email = credentials.get("email") or credentials.get("username") or ""
        self._login_failed_rl_usage = sign_in_limits.consume_attempt(request, email)
        if not self._login_failed_rl_usage:
            raise self.validation_error("too_many_login_attempts")

    def _delete_login_attempts_cached_email(self, request, **credentials):
        """allauth calls this when a password reset succeeds: the person proved the mailbox is theirs."""
        sign_in_limits.lift_lock(credentials.get("email") or "")

    def add_message(self, request, *args, **kwargs):
        """allauth's notices in the signed-in person's language: a sign-in request began in the browser's,
        and its "signed in" notice is read on the next page, in the person's own."""
        user = getattr(request, "user", None)
        language = user.language if user is not None and user.is_authenticated and user.language else None
        with translation.override(language or translation.get_language()):
            super().add_message(request, *args, **kwargs)


def must_use_authenticator_app(user) -> bool:
    """Vendor staff reach the CMS, and with it every partner's data: they sign in with a second factor."""
    return user.is_authenticated and (user.is_staff or user.is_superuser)


class PortalMFAAdapter(DefaultMFAAdapter):
    def can_delete_authenticator(self, authenticator):
        """Staff may not switch their authenticator app off: accounts.middleware requires it of them. A lost
        phone is what the recovery codes are for."""
        if authenticator.type == Authenticator.Type.TOTP and must_use_authenticator_app(authenticator.user):
            return False
        return super().can_delete_authenticator(authenticator)
