import re

import pytest
from django.urls import reverse

from accounts.models import Membership
from portal.ledger import services
from portal.ledger.models import Code
from portal.web.templatetags.portal_web import url_or_none
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def nav_links(html):
    """(text, href, current) of the main navigation, as the wide screen shows it."""
    nav = re.search(r'<nav class="nav-wide"[^>]*>(.*?)</nav>', html, flags=re.S)[1]
    return [
        (text, href, bool(current))
        for href, current, text in re.findall(r'<a href="([^"]+)"( aria-current="page")?>([^<]+)</a>', nav)
    ]


def test_the_header_names_the_company_and_links_the_partners_pages(client, partner, member):
    client.force_login(member)
    html = client.get(reverse("web:activity")).text
    assert f'<span class="brand-company">{partner.name}</span>' in html
    links = nav_links(html)
    assert links[:4] == [
        ("Dashboard", "/", False),
        ("Activity", "/activity/", True),
        ("Orders &amp; invoices", "/orders/", False),
        ("Rewards", "/rewards/", False),
    ]
    assert nav_links(client.get(reverse("web:invoices")).text)[2] == ("Orders &amp; invoices", "/orders/", True)


def test_company_people_are_linked_for_owners_only_and_only_once_the_page_exists(client, partner, member):
    people, account = url_or_none("web:people"), url_or_none("web:account")
    client.force_login(member)
    owner_links = {href for _, href, _ in nav_links(client.get("/").text)}
    assert (people in owner_links) if people else not any("people" in href for href in owner_links)
    assert (account in owner_links) if account else True
    viewer = MembershipFactory(partner=partner, role=Membership.Role.VIEWER).user
    client.force_login(viewer)
    viewer_links = {href for _, href, _ in nav_links(client.get("/").text)}
    assert people is None or people not in viewer_links


def test_a_url_that_does_not_exist_yet_is_no_link_rather_than_an_error():
    assert url_or_none("web:no-such-page") is None
    assert url_or_none("web:dashboard") == "/"


def test_the_page_has_landmarks_a_skip_link_and_a_menu_that_needs_no_script(client, member):
    client.force_login(member)
    html = client.get("/").text
    assert '<a class="skip-link" href="#main">Skip to content</a>' in html
    assert '<main id="main" tabindex="-1">' in html
    assert '<header class="site-header">' in html and "<footer" in html
    assert '<details class="nav-menu">' in html and "<summary>Menu</summary>" in html
    assert html.count("<h1>") == 1
    assert "<script" not in html
    assert "http://" not in html and "https://" not in html  # no CDN, no external fonts


def test_the_language_switch_turns_the_page_right_to_left(client, partner, member):
    services.post_transfer(services.earning(partner.id, key="w", amount=12_345, code=Code.WELCOME, reason="Welcome"))
    client.force_login(member)
    html = client.get("/activity/").text
    form = re.search(r'<form class="language-switch" method="post" action="([^"]+)"', html)
    assert form[1] == "/i18n/setlang/"
    assert 'name="language" value="he"' in html and "עברית" in html
    assert '<html lang="en" dir="ltr">' in html
    response = client.post(form[1], {"language": "he"}, HTTP_REFERER="http://testserver/activity/?kind=held")
    assert response.status_code == 302 and response["Location"].endswith("/activity/?kind=held")
    html = client.get("/").text
    assert '<html lang="he" dir="rtl">' in html
    assert '<span data-testid="available" dir="ltr">12,345</span>' in html  # Hebrew groups thousands too
    assert 'value="he" lang="he" dir="rtl"\n    aria-pressed="true"' in html


def test_the_trivial_page_answers_ok_to_members_only(client, member):
    assert client.get(reverse("web:ping")).status_code == 302
    client.force_login(member)
    response = client.get(reverse("web:ping"))
    assert response.status_code == 200 and response.content == b"ok"
