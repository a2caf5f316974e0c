"""The Content Security Policy and the language cookie, as an attacker meets them.

An injected <script> (or onclick=...) in a page must not run: every response carries a policy whose
script-src allows only our own static files, the portal's pages carry no inline script that would need
more, and no page can be framed by another site. The language cookie travels as the session cookie does.
"""

import re
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.urls import reverse

from accounts.models import Membership
from tests.factories import MembershipFactory, ProgrammeAdministratorFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
# <script> with no src that is not a JSON data block; any on...= event-handler attribute; javascript: URLs.
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*\btype=[\"']application/(?:ld\+)?json[\"'])[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)
JAVASCRIPT_URL = re.compile(r"""(?:href|src|action)\s*=\s*["']\s*javascript:""", re.I)

PORTAL_PAGES = ["web:dashboard", "web:activity", "web:orders", "web:invoices", "web:people", "web:account"]


def directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in header.split(";") if part.strip())}


@pytest.fixture(params=[False, True], ids=["DEBUG off", "DEBUG on"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


@pytest.fixture
def owner(partner):
    person = MembershipFactory(partner=partner, role=Membership.Role.OWNER).user
    EmailAddress.objects.create(user=person, email=person.email, verified=True, primary=True)
    return person


def inline_scripts(html: str) -> list[str]:
    return INLINE_SCRIPT.findall(html) + EVENT_HANDLER.findall(html) + JAVASCRIPT_URL.findall(html)


def test_every_page_forbids_inline_and_foreign_scripts_and_framing(client, owner, debug):
    client.force_login(owner)
    for url in ["/accounts/login/", reverse("web:dashboard"), "/api/v1/docs", reverse("web:people")]:
        policy = directives(client.get(url))
        assert policy["script-src"] == ["'self'"], url
        assert policy["default-src"] == ["'self'"] and policy["object-src"] == ["'none'"]
        assert policy["frame-ancestors"] == ["'none'"]
        assert not any("http" in value or value == "*" for values in policy.values() for value in values)


def test_the_signed_out_sign_in_page_has_the_policy_too(client, debug):
    assert directives(client.get(reverse("account_login")))["script-src"] == ["'self'"]


def test_the_portals_pages_carry_no_inline_script(client, owner):
    client.force_login(owner)
    for name in PORTAL_PAGES:
        response = client.get(reverse(name))
        assert response.status_code == 200, name
        assert inline_scripts(response.text) == [], name
    for url in ["/rewards/", "/api/v1/docs", "/accounts/login/"]:
        assert inline_scripts(client.get(url).text) == [], url


def test_the_projects_own_templates_carry_no_inline_script_nor_event_handler():
    """The CMS pages we add (catalog, adjustments, imports...) included: the static JS files do the work."""
    templates = [
        path
        for path in ROOT.rglob("*.html")
        if "templates" in path.parts and not {".venv", "var", "node_modules", "test-artifacts"} & set(path.parts)
    ]
    assert templates
    offending = {str(path.relative_to(ROOT)): inline_scripts(path.read_text()) for path in templates}
    assert {path: found for path, found in offending.items() if found} == {}


def test_the_cms_keeps_every_rule_but_inline_scripts_which_wagtail_still_writes(client, debug):
    client.force_login(ProgrammeAdministratorFactory())
    policy = directives(client.get(reverse("wagtailadmin_home")))
    assert policy["script-src"] == ["'self'", "'unsafe-inline'"]
    assert policy["connect-src"] == ["'self'"] and policy["frame-ancestors"] == ["'none'"]


def test_only_a_view_that_asks_for_same_origin_framing_may_be_framed_by_our_own_pages(rf):
    from django.http import HttpResponse

    from portal.content_security import ContentSecurityPolicyMiddleware

    def framed_view(request):
        response = HttpResponse("preview")
        response["X-Frame-Options"] = "SAMEORIGIN"  # as Wagtail's preview does
        return response

    response = ContentSecurityPolicyMiddleware(framed_view)(rf.get("/pages/preview/"))
    assert directives(response)["frame-ancestors"] == ["'self'"]


def test_the_language_cookie_is_http_only_and_same_site(client):
    response = client.post(reverse("set_language"), {"language": "he", "next": "/"})
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "he"
    assert cookie["httponly"] is True and cookie["samesite"] == "Lax"
    assert bool(cookie["secure"]) == settings.SESSION_COOKIE_SECURE


def test_in_production_the_language_cookie_is_secure_like_the_session_cookie():
    from tests.test_deploy_check import PRODUCTION, manage

    run = manage(
        "shell",
        "-c",
        "from django.conf import settings as s; "
        "print(s.LANGUAGE_COOKIE_SECURE, s.SESSION_COOKIE_SECURE, s.LANGUAGE_COOKIE_SAMESITE, "
        "s.LANGUAGE_COOKIE_HTTPONLY)",
        **PRODUCTION,
        SECRET_KEY="x" * 64,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1].split() == ["True", "True", "Lax", "True"]
