"""Two-factor authentication: required of staff before any CMS page, optional for partners, and no way
in to the CMS that skips it."""

import time
from itertools import count

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.adapter import get_adapter as get_mfa_adapter
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Permission
from django.urls import reverse

from tests.factories import (
    AccountManagerFactory,
    MembershipFactory,
    ProgrammeAdministratorFactory,
    StaffFactory,
    give_authenticator_app,
)

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # tests.factories.give_authenticator_app's
SET_UP = "/accounts/2fa/totp/activate/"
_addresses = count(10)


@pytest.fixture
def client(client):
    """Each test signs in from its own address, so allauth's per-address limits never leak between tests."""
    client.defaults["REMOTE_ADDR"] = f"10.20.{next(_addresses) % 250}.{next(_addresses) % 250}"
    return client


def code_now(secret: str = SECRET) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // mfa_settings.TOTP_PERIOD))


def verified(user):
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def sign_in_with_password(client, user):
    return client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})


# --- staff without an authenticator app reach nothing but its set-up ---------------------------------


@pytest.mark.parametrize(
    "make_staff",
    [
        lambda: StaffFactory(authenticator_app=False),
        lambda: AccountManagerFactory(authenticator_app=False),
        lambda: ProgrammeAdministratorFactory(authenticator_app=False, is_superuser=True),
    ],
    ids=["staff", "account manager", "administrator"],
)
def test_staff_without_an_authenticator_app_are_sent_to_set_one_up_first(client, make_staff):
    client.force_login(make_staff())
    for path in ["/cms/", "/cms/pages/", "/cms/reports/site-history/", "/cms/login/", "/", "/company/people/"]:
        response = client.get(path)
        assert (response.status_code, response["Location"]) == (302, SET_UP), path
    assert client.post("/cms/pages/").status_code == 302


def test_while_setting_up_staff_still_reach_allauths_pages_the_health_check_and_signing_out(client):
    client.force_login(StaffFactory(authenticator_app=False))
    assert client.get(reverse("health")).status_code == 200
    assert client.get(reverse("account_reauthenticate")).status_code == 200
    assert client.get(reverse("mfa_index")).status_code == 200
    assert client.get(reverse("account_logout")).status_code == 200
    assert client.post(reverse("account_logout")).status_code == 302
    assert client.get("/cms/").url.startswith(reverse("account_login"))


def test_staff_set_up_the_app_and_then_reach_the_cms(client):
    staff = verified(AccountManagerFactory(authenticator_app=False))
    assert sign_in_with_password(client, staff)["Location"] == "/"
    assert client.get("/cms/")["Location"] == SET_UP
    # allauth asks for the password again before an authenticator is added
    assert client.get(SET_UP)["Location"].startswith(reverse("account_reauthenticate"))
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    secret = client.get(SET_UP).context["form"].secret
    response = client.post(SET_UP, {"code": code_now(secret)})
    assert response.status_code == 302, response.context["form"].errors
    assert Authenticator.objects.filter(user=staff, type=Authenticator.Type.TOTP).exists()
    assert client.get("/cms/").status_code == 200


def test_someone_the_cms_lets_in_without_being_staff_needs_the_app_for_the_cms_only(client):
    person = MembershipFactory().user
    person.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(person)
    assert client.get("/cms/")["Location"] == SET_UP
    assert client.get(reverse("web:account")).status_code == 200


def test_partners_need_no_authenticator_app(client, member):
    client.force_login(member)
    assert client.get(reverse("web:account")).status_code == 200
    assert client.get(reverse("web:people")).status_code == 200


def test_staff_cannot_switch_their_app_off_and_partners_can():
    staff_app = give_authenticator_app(StaffFactory(authenticator_app=False))
    partner_app = give_authenticator_app(MembershipFactory().user)
    adapter = get_mfa_adapter()
    assert not adapter.can_delete_authenticator(staff_app)
    assert adapter.can_delete_authenticator(partner_app)


def test_the_deactivation_page_refuses_staff(client):
    staff = verified(StaffFactory())
    client.force_login(staff)
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    response = client.post(reverse("mfa_deactivate_totp"))
    assert response.status_code == 200
    assert "You cannot deactivate two-factor authentication." in response.text
    assert Authenticator.objects.filter(user=staff, type=Authenticator.Type.TOTP).exists()


# --- signing in asks for the code, on every path to the CMS -----------------------------------------


def test_after_the_password_the_cms_stays_closed_until_the_code_is_given(client):
    staff = verified(AccountManagerFactory())
    response = sign_in_with_password(client, staff)
    assert response["Location"] == reverse("mfa_authenticate")
    assert client.get("/cms/")["Location"].startswith(reverse("account_login"))
    assert client.get("/")["Location"].startswith(reverse("account_login"))

    wrong = client.post(reverse("mfa_authenticate"), {"code": "000000" if code_now() != "000000" else "111111"})
    assert wrong.status_code == 200 and "Incorrect code." in wrong.text
    assert client.get("/cms/")["Location"].startswith(reverse("account_login"))

    assert client.post(reverse("mfa_authenticate"), {"code": code_now()}).status_code == 302
    assert client.get("/cms/").status_code == 200


def test_wagtails_own_sign_in_sends_to_allauths(client):
    staff = verified(StaffFactory())
    response = client.get("/cms/login/?next=/cms/pages/")
    assert response.status_code == 302 and response["Location"] == reverse("account_login") + "?next=/cms/pages/"
    posted = client.post("/cms/login/", {"username": staff.email, "password": PASSWORD})
    assert posted.status_code == 302 and posted["Location"].startswith(reverse("account_login"))
    assert client.get("/cms/")["Location"].startswith(reverse("account_login"))  # posting there signed no one in


def test_wagtails_front_end_sign_in_sends_to_allauths(client):
    staff = verified(StaffFactory())
    response = client.post("/pages/_util/login/", {"username": staff.email, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
    assert client.get("/cms/")["Location"].startswith(reverse("account_login"))


def test_wagtails_password_reset_and_change_are_closed(client):
    assert client.get("/cms/password_reset/").status_code == 404
    assert not settings.WAGTAIL_PASSWORD_MANAGEMENT_ENABLED


def test_django_admin_is_not_installed(client):
    assert not apps.is_installed("django.contrib.admin")
    assert client.get("/admin/").status_code == 404


def test_allauth_has_no_other_way_in_switched_on():
    """Each of these would be a path to a session that this file does not test."""
    assert not getattr(settings, "ACCOUNT_LOGIN_BY_CODE_ENABLED", False)
    assert not getattr(settings, "ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION", False)
    assert not settings.ACCOUNT_LOGIN_ON_PASSWORD_RESET
    assert not getattr(settings, "MFA_TRUST_ENABLED", False)
    assert not getattr(settings, "MFA_PASSKEY_LOGIN_ENABLED", False)
    assert "webauthn" not in settings.MFA_SUPPORTED_TYPES
    for app in ["allauth.headless", "allauth.socialaccount", "allauth.usersessions", "django.contrib.admin"]:
        assert not apps.is_installed(app), app
