"""The Content Security Policy in a real browser: the portal, the CMS and the API's docs load and work with
scripts only from our own static files, and the browser reports no violation of the policy."""

import pytest
from allauth.account.models import EmailAddress
from django.test import Client

from accounts.models import Membership
from tests.factories import MembershipFactory, PartnerFactory, ProgrammeAdministratorFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Collected before any of the page's own scripts run (Playwright injects it outside the page's policy).
LISTEN = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__violations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${where}`);
});
"""


def signed_in_page(browser, live_server, user):
    client = Client()
    client.force_login(user)
    context = browser.new_context()
    cookie = client.cookies["sessionid"]
    context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": live_server.url}])
    context.add_init_script(LISTEN)
    page = context.new_page()
    console = []
    page.on("console", lambda message: console.append(message.text))
    page.on("pageerror", lambda error: console.append(f"page error: {error}"))
    return page, console


def violations(page, console) -> list[str]:
    return page.evaluate("window.__violations") + [m for m in console if "Content Security Policy" in m]


def visit(page, console, url, strict=False) -> list[str]:
    response = page.goto(url)
    assert response.status < 400, (url, response.status)
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors" in policy
    if strict:
        assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    page.wait_for_load_state("networkidle")
    return [f"{url}: {v}" for v in violations(page, console)] + [
        f"{url}: {m}" for m in console if m.startswith("page error")
    ]


CMS_PAGES = [
    "/cms/",
    "/cms/pages/",
    "/cms/partners/",
    "/cms/partners/new/",
    "/cms/people/",
    "/cms/campaigns/",
    "/cms/campaigns/new/",
    "/cms/adjustments/",
    "/cms/settings/earning/earningsettings/",
    "/cms/reports/site-history/",
    "/cms/images/",
    "/cms/documents/",
    "/cms/users/",
]


def a_page_to_edit() -> str:
    """The page editor (its scheduling dialog has date pickers); made here, since a test before this one
    may have emptied the tables that Wagtail's migrations filled."""
    from wagtail.models import Locale, Page

    Locale.objects.get_or_create(language_code="en")
    root = Page.get_first_root_node() or Page.add_root(instance=Page(title="Root", slug="root"))
    return f"/cms/pages/{root.add_child(instance=Page(title='Welcome', slug='welcome-csp')).pk}/edit/"


def test_the_cms_works_under_the_policy(browser, live_server):
    page, console = signed_in_page(browser, live_server, ProgrammeAdministratorFactory(is_superuser=True))
    seen = []
    for path in [*CMS_PAGES, a_page_to_edit()]:
        seen += visit(page, console, live_server.url + path)
        console.clear()
    assert seen == []


PORTAL_PAGES = ["/", "/activity/", "/orders/", "/invoices/", "/company/people/", "/account/", "/rewards/"]


def test_the_portal_and_the_api_docs_work_with_no_inline_script_at_all(browser, live_server):
    owner = MembershipFactory(partner=PartnerFactory(), role=Membership.Role.OWNER).user
    EmailAddress.objects.create(user=owner, email=owner.email, verified=True, primary=True)
    page, console = signed_in_page(browser, live_server, owner)
    seen = []
    for path in [*PORTAL_PAGES, "/api/v1/docs"]:
        seen += visit(page, console, live_server.url + path, strict=True)
        console.clear()
    assert seen == []
    # Swagger UI drew the API from its schema: its own scripts ran.
    page.goto(live_server.url + "/api/v1/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=10_000)
    assert violations(page, console) == []
