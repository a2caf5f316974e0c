"""The account managers' CMS shows each manager only their own portfolio, on every URL of every viewset.

Two managers, A and B, each hold one partner with one person. Every admin URL of the partner, people
and partner-chooser viewsets is requested by each manager with their own and with the other's ids.
"""

import json
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import get_resolver, reverse
from wagtail.admin.admin_url_finder import AdminURLFinder
from wagtail.permissions import policy_registry

from accounts.models import Membership, Partner, User
from portal.ledger import services as ledger
from portal.ledger.models import Code
from tests.factories import (
    AccountManagerFactory,
    MembershipFactory,
    PartnerFactory,
    ProgrammeAdministratorFactory,
    StaffFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Every portfolio makes four users; the real hasher would spend most of this module's time on them."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class Portfolio:
    manager: User
    partner: Partner
    membership: Membership
    marks: tuple[str, ...]  # text that identifies this portfolio wherever it is shown


def make_portfolio(word: str) -> Portfolio:
    manager = AccountManagerFactory(email=f"manager-{word.lower()}@vendor.example")
    partner = PartnerFactory(
        name=f"{word} Trading Ltd",
        external_id=f"ERP-{word.upper()}",
        registration_number=f"REG-{word.upper()}",
        account_manager=manager,
    )
    membership = MembershipFactory(
        partner=partner, user__email=f"owner@{word.lower()}.example", user__first_name=f"{word}owner"
    )
    return Portfolio(manager, partner, membership, (word, f"owner@{word.lower()}.example", f"ERP-{word.upper()}"))


@pytest.fixture
def alpha():
    return make_portfolio("Alpha")


@pytest.fixture
def bravo():
    return make_portfolio("Bravo")


@pytest.fixture
def administrator():
    return ProgrammeAdministratorFactory()


def target(portfolio: Portfolio, kind: str):
    return portfolio.partner if kind == "partner" else portfolio.membership


def body(response) -> str:
    return response.content.decode()


def assert_shows_nothing_of(response, portfolio: Portfolio):
    text = body(response)
    for mark in portfolio.marks:
        assert mark not in text, f"{mark!r} of another portfolio appears in {response.request['PATH_INFO']}"


# --- The URLs under test, and a check that they are every URL the viewsets have -------------------

OBJECT_URLS = [
    ("partner:edit", "partner"),
    ("partner:delete", "partner"),
    ("partner:inspect", "partner"),
    ("partner:history", "partner"),
    ("partner:history_results", "partner"),
    ("partner:usage", "partner"),
    ("partner_chooser:chosen", "partner"),
    ("membership:edit", "membership"),
    ("membership:delete", "membership"),
    ("membership:history", "membership"),
    ("membership:history_results", "membership"),
    ("membership:usage", "membership"),
]
LISTING_URLS = [
    "partner:index",
    "partner:index_results",
    "partner:add",
    "membership:index",
    "membership:index_results",
    "membership:add",
    "partner_chooser:choose",
    "partner_chooser:choose_results",
    "partner_chooser:chosen_multiple",
]


def url_names(namespace: str) -> set[str]:
    _, resolver = get_resolver().namespace_dict[namespace]
    return {f"{namespace}:{pattern.name}" for pattern in resolver.url_patterns}


def test_the_matrix_covers_every_url_of_the_partner_viewsets():
    """A view added by a Wagtail upgrade, or a feature switched on (copy, reorder), fails here until it is tested."""
    registered = url_names("partner") | url_names("membership") | url_names("partner_chooser")
    assert registered == {name for name, _ in OBJECT_URLS} | set(LISTING_URLS)


# --- Object URLs: the other portfolio's ids give 404 --------------------------------------------


@pytest.mark.parametrize(("url_name", "kind"), OBJECT_URLS)
def test_a_manager_opens_their_own_objects(client, alpha, url_name, kind):
    client.force_login(alpha.manager)
    response = client.get(reverse(url_name, args=[target(alpha, kind).pk]))
    assert response.status_code == 200


@pytest.mark.parametrize(("url_name", "kind"), OBJECT_URLS)
@pytest.mark.parametrize("viewer", ["alpha", "bravo"])
def test_a_manager_gets_404_for_the_other_portfolios_objects(client, alpha, bravo, viewer, url_name, kind):
    me, other = (alpha, bravo) if viewer == "alpha" else (bravo, alpha)
    client.force_login(me.manager)
    response = client.get(reverse(url_name, args=[target(other, kind).pk]))
    assert response.status_code == 404
    assert_shows_nothing_of(response, other)


@pytest.mark.parametrize(("url_name", "kind"), OBJECT_URLS)
def test_an_administrator_opens_every_portfolios_objects(client, alpha, bravo, administrator, url_name, kind):
    client.force_login(administrator)
    for portfolio in (alpha, bravo):
        assert client.get(reverse(url_name, args=[target(portfolio, kind).pk])).status_code == 200


@pytest.mark.parametrize("bad_id", ["999999", "not-a-number"])
def test_the_chooser_answers_404_for_ids_that_are_nobodys(client, alpha, bad_id):
    client.force_login(alpha.manager)
    assert client.get(reverse("partner_chooser:chosen", args=[bad_id])).status_code == 404


def test_staff_who_may_only_enter_the_cms_see_no_partner(client, alpha):
    staff = StaffFactory()
    staff.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(staff)
    assert client.get(reverse("partner:edit", args=[alpha.partner.pk])).status_code == 404
    # Without any CMS permission, the listing is refused outright (Wagtail sends them back to the dashboard).
    response = client.get(reverse("partner:index"))
    assert response.status_code == 302
    assert response.url == reverse("wagtailadmin_home")


# --- Listings: nothing of the other portfolio, whatever the query ---------------------------------

# Searches are in lower case: the search box echoes the query, and the marks are capitalised.
LISTING_QUERIES = {
    "partner:index": [
        "",
        "?q=bravo",
        "?q=erp-bravo",
        "?q=reg-bravo",
        "?kind=reseller&status=active",
        "?region__icontains=center",
    ],
    "partner:index_results": ["", "?q=bravo", "?q=trading"],
    "partner:add": [""],
    "membership:index": ["", "?q=bravo.example", "?q=owner", "?role=owner", "?partner={bravo_partner}"],
    "membership:index_results": ["", "?q=bravo.example", "?partner={bravo_partner}"],
    "membership:add": [""],
    "partner_chooser:choose": ["", "?q=bravo"],
    "partner_chooser:choose_results": ["", "?q=bravo", "?p=2"],
    "partner_chooser:chosen_multiple": ["?id={alpha_partner}&id={bravo_partner}"],
}


def test_every_listing_url_has_queries():
    assert set(LISTING_QUERIES) == set(LISTING_URLS)


@pytest.mark.parametrize(
    ("url_name", "query"), [(name, query) for name, queries in LISTING_QUERIES.items() for query in queries]
)
def test_listings_show_nothing_of_the_other_portfolio(client, alpha, bravo, url_name, query):
    client.force_login(alpha.manager)
    url = reverse(url_name) + query.format(alpha_partner=alpha.partner.pk, bravo_partner=bravo.partner.pk)
    response = client.get(url)
    assert response.status_code in (200, 404)  # a chooser page past the end is a 404
    assert_shows_nothing_of(response, bravo)
    assert "manager-bravo@vendor.example" not in body(response)


@pytest.mark.parametrize("url_name", ["partner:index", "membership:index", "partner_chooser:choose"])
def test_listings_show_the_managers_own_portfolio(client, alpha, bravo, url_name):
    client.force_login(alpha.manager)
    response = client.get(reverse(url_name))
    assert response.status_code == 200
    assert "Alpha Trading Ltd" in body(response)


def test_chosen_multiple_returns_only_the_managers_partners(client, alpha, bravo):
    client.force_login(alpha.manager)
    response = client.get(reverse("partner_chooser:chosen_multiple"), {"id": [alpha.partner.pk, bravo.partner.pk]})
    assert [item["id"] for item in json.loads(response.content)["result"]] == [str(alpha.partner.pk)]


@pytest.mark.parametrize("url_name", ["partner:index", "membership:index", "partner_chooser:choose"])
def test_a_listing_costs_the_same_queries_for_one_row_or_many(client, alpha, url_name):
    client.force_login(alpha.manager)
    client.get(reverse(url_name))  # warm Wagtail's per-process caches (content types, site)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse(url_name)).status_code == 200
        return len(captured)

    one_row = queries()
    for _ in range(5):
        MembershipFactory(partner=PartnerFactory(account_manager=alpha.manager))
    assert queries() == one_row


@pytest.mark.parametrize("url_name", ["partner:index", "membership:index", "partner_chooser:choose"])
def test_an_administrator_lists_every_portfolio(client, alpha, bravo, administrator, url_name):
    client.force_login(administrator)
    text = body(client.get(reverse(url_name)))
    assert "Alpha Trading Ltd" in text
    assert "Bravo Trading Ltd" in text


def test_a_manager_can_only_name_themselves_account_manager(client, alpha, bravo, administrator):
    client.force_login(alpha.manager)
    form = client.get(reverse("partner:add")).context["form"]
    assert list(form.fields["account_manager"].queryset) == [alpha.manager]
    client.force_login(administrator)
    form = client.get(reverse("partner:add")).context["form"]
    assert {alpha.manager, bravo.manager, administrator} <= set(form.fields["account_manager"].queryset)


# --- Writes: POSTs to another portfolio's objects change nothing ----------------------------------


def partner_form_data(partner: Partner, **changes) -> dict:
    data = {
        "name": partner.name,
        "external_id": partner.external_id,
        "registration_number": partner.registration_number,
        "kind": partner.kind,
        "region": partner.region,
        "language": partner.language,
        "status": partner.status,
        "account_manager": partner.account_manager_id or "",
        "tags": "",
    }
    return {**data, **changes}


def membership_form_data(membership: Membership, **changes) -> dict:
    user = membership.user
    return {"first_name": user.first_name, "last_name": user.last_name, "role": membership.role, **changes}


def test_a_manager_cannot_edit_the_other_portfolios_partner(client, alpha, bravo):
    client.force_login(alpha.manager)
    data = partner_form_data(bravo.partner, name="Taken over", account_manager=alpha.manager.pk)
    response = client.post(reverse("partner:edit", args=[bravo.partner.pk]), data)
    assert response.status_code == 404
    bravo.partner.refresh_from_db()
    assert (bravo.partner.name, bravo.partner.account_manager) == ("Bravo Trading Ltd", bravo.manager)


def test_the_same_edit_works_for_an_administrator(client, bravo, administrator):
    """Proves the refused POST above was a valid edit, refused only for its portfolio."""
    client.force_login(administrator)
    data = partner_form_data(bravo.partner, name="Renamed by the administrator")
    response = client.post(reverse("partner:edit", args=[bravo.partner.pk]), data)
    assert response.status_code == 302
    bravo.partner.refresh_from_db()
    assert bravo.partner.name == "Renamed by the administrator"


def test_a_manager_edits_their_own_partner_and_it_is_in_its_history(client, alpha):
    client.force_login(alpha.manager)
    data = partner_form_data(alpha.partner, name="Alpha Trading Group", tags="vip, north")
    assert client.post(reverse("partner:edit", args=[alpha.partner.pk]), data).status_code == 302
    alpha.partner.refresh_from_db()
    assert alpha.partner.name == "Alpha Trading Group"
    assert set(alpha.partner.tags.names()) == {"vip", "north"}
    history = client.get(reverse("partner:history", args=[alpha.partner.pk]))
    assert alpha.manager.email in body(history) or str(alpha.manager) in body(history)


def test_a_manager_cannot_hand_their_partner_to_another_manager(client, alpha, bravo):
    client.force_login(alpha.manager)
    data = partner_form_data(alpha.partner, account_manager=bravo.manager.pk)
    response = client.post(reverse("partner:edit", args=[alpha.partner.pk]), data)
    assert response.status_code == 200
    assert "account_manager" in response.context["form"].errors
    alpha.partner.refresh_from_db()
    assert alpha.partner.account_manager == alpha.manager


def test_a_manager_cannot_delete_the_other_portfolios_partner(client, alpha, bravo):
    client.force_login(alpha.manager)
    assert client.post(reverse("partner:delete", args=[bravo.partner.pk])).status_code == 404
    assert Partner.objects.filter(pk=bravo.partner.pk).exists()


def test_a_manager_deletes_their_own_partner(client, alpha):
    client.force_login(alpha.manager)
    assert client.post(reverse("partner:delete", args=[alpha.partner.pk])).status_code == 302
    assert not Partner.objects.filter(pk=alpha.partner.pk).exists()


def test_a_partner_with_points_is_not_deleted_but_the_manager_is_told_why(client, alpha):
    ledger.post_transfer(
        ledger.earning(alpha.partner.pk, key="test-order:alpha", amount=10, code=Code.ORDER, reason="Order")
    )
    client.force_login(alpha.manager)
    response = client.post(reverse("partner:delete", args=[alpha.partner.pk]), follow=True)
    assert response.status_code == 200
    assert "cannot be deleted" in body(response)
    assert Partner.objects.filter(pk=alpha.partner.pk).exists()


def test_a_manager_cannot_edit_the_other_portfolios_person(client, alpha, bravo):
    client.force_login(alpha.manager)
    data = membership_form_data(bravo.membership, role=Membership.Role.VIEWER, first_name="Changed")
    assert client.post(reverse("membership:edit", args=[bravo.membership.pk]), data).status_code == 404
    bravo.membership.refresh_from_db()
    assert bravo.membership.role == Membership.Role.OWNER
    assert bravo.membership.user.first_name == "Bravoowner"


def test_a_manager_edits_their_own_person(client, alpha):
    MembershipFactory(partner=alpha.partner, role=Membership.Role.OWNER)  # the company keeps an owner
    client.force_login(alpha.manager)
    data = membership_form_data(alpha.membership, role=Membership.Role.VIEWER, first_name="Changed")
    assert client.post(reverse("membership:edit", args=[alpha.membership.pk]), data).status_code == 302
    alpha.membership.refresh_from_db()
    assert alpha.membership.role == Membership.Role.VIEWER
    assert alpha.membership.user.first_name == "Changed"


def test_a_manager_cannot_remove_a_companys_last_owner(client, alpha):
    client.force_login(alpha.manager)
    response = client.post(reverse("membership:delete", args=[alpha.membership.pk]), follow=True)
    assert "last owner" in body(response)
    assert Membership.objects.filter(pk=alpha.membership.pk).exists()


def test_a_manager_cannot_remove_the_other_portfolios_person(client, alpha, bravo):
    client.force_login(alpha.manager)
    assert client.post(reverse("membership:delete", args=[bravo.membership.pk])).status_code == 404
    assert Membership.objects.filter(pk=bravo.membership.pk).exists()


def test_a_manager_removes_their_own_person_and_the_user_stays(client, alpha):
    MembershipFactory(partner=alpha.partner, role=Membership.Role.OWNER)  # the company keeps an owner
    client.force_login(alpha.manager)
    assert client.post(reverse("membership:delete", args=[alpha.membership.pk])).status_code == 302
    assert not Membership.objects.filter(pk=alpha.membership.pk).exists()
    assert User.objects.filter(pk=alpha.membership.user_id).exists()


# --- Creating partners and people through the CMS ---------------------------------------------------


def new_partner_data(**changes) -> dict:
    data = {
        "name": "Charlie Kiosk",
        "external_id": "ERP-CHARLIE",
        "registration_number": "REG-CHARLIE",
        "kind": Partner.Kind.POINT_OF_SALE,
        "region": "North",
        "language": Partner.Language.HEBREW,
        "status": Partner.Status.APPLIED,
        "tags": "",
    }
    return {**data, **changes}


def test_a_manager_creates_a_partner_in_their_portfolio(client, alpha):
    client.force_login(alpha.manager)
    response = client.post(reverse("partner:add"), new_partner_data(account_manager=alpha.manager.pk))
    assert response.status_code == 302
    assert Partner.objects.get(external_id="ERP-CHARLIE").account_manager == alpha.manager


@pytest.mark.parametrize("account_manager", ["bravo", "nobody"])
def test_a_manager_cannot_create_a_partner_outside_their_portfolio(client, alpha, bravo, account_manager):
    client.force_login(alpha.manager)
    chosen = bravo.manager.pk if account_manager == "bravo" else ""
    response = client.post(reverse("partner:add"), new_partner_data(account_manager=chosen))
    assert response.status_code == 200
    assert "account_manager" in response.context["form"].errors
    assert not Partner.objects.filter(external_id="ERP-CHARLIE").exists()


def test_an_administrator_creates_a_partner_for_any_manager(client, bravo, administrator):
    client.force_login(administrator)
    response = client.post(reverse("partner:add"), new_partner_data(account_manager=bravo.manager.pk))
    assert response.status_code == 302
    assert Partner.objects.get(external_id="ERP-CHARLIE").account_manager == bravo.manager


def new_person_data(partner: Partner, **changes) -> dict:
    data = {
        "email": "Dana.Buyer@Alpha.example",
        "first_name": "Dana",
        "last_name": "Buyer",
        "partner": partner.pk,
        "role": Membership.Role.PURCHASER,
    }
    return {**data, **changes}


def test_creating_a_person_creates_their_user_and_membership(client, alpha):
    client.force_login(alpha.manager)
    response = client.post(reverse("membership:add"), new_person_data(alpha.partner))
    assert response.status_code == 302
    user = User.objects.get(email="dana.buyer@alpha.example")
    assert (user.first_name, user.last_name, user.is_staff) == ("Dana", "Buyer", False)
    assert not user.has_usable_password()
    assert (user.membership.partner, user.membership.role) == (alpha.partner, Membership.Role.PURCHASER)


def test_a_manager_cannot_create_a_person_in_the_other_portfolios_partner(client, alpha, bravo):
    client.force_login(alpha.manager)
    response = client.post(reverse("membership:add"), new_person_data(bravo.partner))
    assert response.status_code == 200
    assert "partner" in response.context["form"].errors
    assert not User.objects.filter(email="dana.buyer@alpha.example").exists()
    assert list(bravo.partner.memberships.all()) == [bravo.membership]
    assert_shows_nothing_of(response, bravo)


def test_a_person_of_another_company_cannot_be_moved_in_by_creating_them_again(client, alpha, bravo):
    client.force_login(alpha.manager)
    data = new_person_data(alpha.partner, email="owner@bravo.example")
    response = client.post(reverse("membership:add"), data)
    assert response.status_code == 200
    assert "email" in response.context["form"].errors
    bravo.membership.refresh_from_db()
    assert bravo.membership.partner == bravo.partner


def test_an_existing_user_without_company_joins_with_their_account(client, alpha):
    former = UserFactory(email="former@alpha.example", first_name="Former")
    client.force_login(alpha.manager)
    response = client.post(reverse("membership:add"), new_person_data(alpha.partner, email="FORMER@alpha.example"))
    assert response.status_code == 302
    former.refresh_from_db()
    assert former.membership.partner == alpha.partner
    assert former.has_usable_password()


# --- Wagtail's own machinery asks the same permission policy ------------------------------------------


def test_wagtail_offers_edit_links_only_within_the_portfolio(alpha, bravo):
    finder = AdminURLFinder(alpha.manager)
    assert finder.get_edit_url(alpha.partner) == reverse("partner:edit", args=[alpha.partner.pk])
    assert finder.get_edit_url(alpha.membership) == reverse("membership:edit", args=[alpha.membership.pk])
    assert finder.get_edit_url(bravo.partner) is None
    assert finder.get_edit_url(bravo.membership) is None


@pytest.mark.parametrize("url_name", ["wagtailadmin_reports:site_history", "wagtailadmin_reports:site_history_results"])
def test_the_site_history_report_is_for_administrators_only(client, alpha, bravo, administrator, url_name):
    client.force_login(administrator)
    client.post(reverse("partner:edit", args=[bravo.partner.pk]), partner_form_data(bravo.partner))
    assert client.get(reverse(url_name)).status_code == 200
    client.force_login(alpha.manager)
    response = client.get(reverse(url_name))
    assert response.status_code == 403
    assert_shows_nothing_of(response, bravo)
    assert reverse("wagtailadmin_reports:site_history") not in body(client.get(reverse("wagtailadmin_home")))


# --- Wagtail's own Users admin is for administrators only --------------------------------------------


@pytest.mark.parametrize("url_name", ["wagtailusers_users:index", "wagtailusers_users:add"])
def test_account_managers_have_no_users_admin(client, alpha, url_name):
    client.force_login(alpha.manager)
    response = client.get(reverse(url_name))
    assert response.status_code == 302
    assert response.url == reverse("wagtailadmin_home")


def test_users_admin_stays_closed_to_a_manager_given_user_permissions_by_mistake(client, alpha):
    alpha.manager.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="accounts", codename__endswith="_user")
    )
    client.force_login(User.objects.get(pk=alpha.manager.pk))
    assert client.get(reverse("wagtailusers_users:index")).status_code == 302
    assert client.get(reverse("wagtailusers_users:edit", args=[alpha.membership.user_id])).status_code == 302
    assert reverse("wagtailusers_users:index") not in body(client.get(reverse("wagtailadmin_home")))


def test_the_cms_menu_offers_partners_and_people_but_not_users(client, alpha):
    client.force_login(alpha.manager)
    dashboard = body(client.get(reverse("wagtailadmin_home")))
    assert reverse("partner:index") in dashboard
    assert reverse("membership:index") in dashboard
    assert reverse("wagtailusers_users:index") not in dashboard


def test_only_administrators_count_as_users_admins(alpha):
    superuser = User.objects.create_superuser("root@vendor.example")
    alpha.manager.user_permissions.add(
        Permission.objects.get(content_type__app_label="accounts", codename="change_user")
    )
    assert list(policy_registry.get_by_type(User).users_with_any_permission(["change"])) == [superuser]


def test_a_superuser_keeps_the_users_admin(client, alpha):
    client.force_login(StaffFactory(email="root@vendor.example", is_superuser=True))
    response = client.get(reverse("wagtailusers_users:index"))
    assert response.status_code == 200
    assert "owner@alpha.example" in body(response)


# --- Signing in to the CMS goes through allauth -------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/cms/login/", "/accounts/login/"),
        ("/cms/login/?next=/cms/partners/", "/accounts/login/?next=/cms/partners/"),
    ],
)
def test_the_cms_login_redirects_to_allauth(client, path, expected):
    response = client.get(path)
    assert response.status_code in (301, 302)
    assert response.url == expected
    page = client.get(response.url)
    assert page.status_code == 200
    assert "wagtailadmin/login.html" not in [template.name for template in page.templates]
    assert 'name="login"' in body(page)  # allauth's e-mail field
    if "next=" in expected:
        assert 'value="/cms/partners/"' in body(page)


def test_posting_credentials_to_the_cms_login_signs_nobody_in(client, alpha):
    response = client.post("/cms/login/", {"username": alpha.manager.email, "password": "correct horse battery staple"})
    assert response.status_code in (301, 302)
    assert response.url.startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session


def test_an_anonymous_visit_to_the_cms_goes_to_allauths_login(client):
    response = client.get("/cms/partners/")
    assert response.status_code == 302
    assert response.url == "/accounts/login/?next=/cms/partners/"
