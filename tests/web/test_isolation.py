"""A partner's people see their own company and nothing of any other, whatever they put in the URL.

The URLs come from walking portal.web's resolver, so a page added later is
covered here without anyone remembering to add it. A URL that takes ids is
tried with the other company's ids (its transfers, the company, its people)
and, where it takes text, with the ERP ids of its orders, returns, invoices
and payments.
"""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, converters, get_resolver, reverse
from django.urls.resolvers import RoutePattern
from django.utils import timezone

from accounts.models import Membership
from portal.ledger import services
from portal.ledger.models import Account, Code
from portal.ledger.queries import balance_of, transfers_of
from tests.factories import MembershipFactory, PartnerFactory, StaffFactory, UserFactory
from tests.web.erp import send_invoice, send_order, send_payment, send_return

pytestmark = pytest.mark.django_db

# Pages of portal.web that anyone may open without being a partner's member: the invitation link
# (tested with other companies' invitations in tests/web/test_people.py).
PUBLIC_URL_NAMES: frozenset[str] = frozenset({"web:invitation"})

NO_COMPANY = "Your account is not linked to a company"


class Company:
    """A partner with an owner and some points, and the words that give it away on a page."""

    def __init__(self, name, erp_id, points, reasons):
        self.partner = PartnerFactory(name=name, external_id=erp_id)
        self.owner = MembershipFactory(partner=self.partner, user__email=f"owner@{erp_id.lower()}.example").user
        requests = [
            services.earning(self.partner.id, key=f"{erp_id}:{n}", amount=amount, code=Code.ORDER, reason=reason)
            for n, (reason, amount) in enumerate(zip(reasons, points, strict=True))
        ]
        services.post_transfers(requests)
        self.erp_ids = self._send_erp(erp_id)
        self.transfer_ids = list(transfers_of(self.partner).values_list("id", flat=True))
        available = balance_of(self.partner).available
        self.on_dashboard = [name, *reasons, f"{available:,}"]
        self.markers = [*self.on_dashboard, erp_id, self.owner.email, str(available), *self.erp_ids]

    def _send_erp(self, erp_id) -> list[str]:
        """An order with a return, and an invoice paid in part: what the orders and invoices pages show."""
        order, rma, invoice, payment = (f"{kind}-{erp_id}-A" for kind in ("SO", "RMA", "INV", "PAY"))
        send_order(self.partner, order, (f"SKU-{erp_id}", "Misc", 3, "900"))
        send_return(rma, order, (1, 1))
        today = timezone.localdate()
        send_invoice(self.partner, invoice, "2000.00", issued_on=today, due_on=today + timedelta(days=30))
        send_payment(payment, invoice, "500.00", paid_on=today)
        return [order, rma, invoice, payment, f"SKU-{erp_id}"]

    def ids(self) -> list[int]:
        """Every id of this company a URL might take."""
        account = Account.objects.get(partner=self.partner)
        memberships = Membership.objects.filter(partner=self.partner)
        return [
            self.partner.id,
            account.id,
            *self.transfer_ids,
            *memberships.values_list("id", flat=True),
            *memberships.values_list("user_id", flat=True),
        ]

    def external_ids(self) -> list[str]:
        """Every text id of this company a URL might take: its ERP records' ids."""
        return self.erp_ids

    def state(self):
        """What another company's visit must never change."""
        people = Membership.objects.filter(partner=self.partner)
        return balance_of(self.partner), transfers_of(self.partner).count(), sorted(people.values_list("id", "role"))


@pytest.fixture
def ours():
    return Company("Own Coffee Co", "ERP-OURS", [1_200, 345], ["Order SO-OURS-1", "Order SO-OURS-2"])


@pytest.fixture
def theirs():
    reasons = ["Order SO-THEIRS-1", "Invoice INV-THEIRS-9 paid 12 days early", "Order SO-THEIRS-2"]
    return Company("Foreign Roasters Ltd", "ERP-THEIRS", [987_000, 600, 54], reasons)


def assert_nothing_of(company: Company, response, url):
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = body.decode(errors="replace")
    for marker in company.markers:
        assert marker not in text, f"{url} shows {marker!r} of another company"


# --- the URLs of the portal, walked from the resolver -------------------------------------


def portal_urls():
    """(name, {kwarg: converter}) for every named page under portal.web's URLs."""
    found = []

    def walk(patterns, namespace, inherited):
        for entry in patterns:
            found_converters = {**inherited, **converters_of(entry.pattern)}
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, ":".join(filter(None, [namespace, entry.namespace])), found_converters)
            elif isinstance(entry, URLPattern):
                assert entry.name, f"give {entry.pattern} a name so the isolation tests can reach it"
                found.append((f"{namespace}:{entry.name}", found_converters))

    walk(get_resolver("portal.web.urls").url_patterns, "web", {})
    return found


def converters_of(pattern) -> dict:
    if isinstance(pattern, RoutePattern):
        return dict(pattern.converters)
    return {name: converters.StringConverter() for name in pattern.regex.groupindex}  # a regex pattern


def url_with(converters_by_kwarg: dict, name: str, value: int | str) -> str | None:
    """The URL with `value` in each of its parameters; None when a parameter cannot take it."""
    kwargs = {}
    for kwarg, converter in converters_by_kwarg.items():
        if isinstance(converter, converters.IntConverter):
            if not isinstance(value, int):
                return None
            kwargs[kwarg] = value
        elif isinstance(converter, converters.UUIDConverter):
            kwargs[kwarg] = uuid.uuid4()
        else:
            kwargs[kwarg] = str(value)
    return reverse(name, kwargs=kwargs)


def every_url(company: Company) -> list[tuple[str, bool]]:
    """Each portal URL once per id of `company` (or once, when it takes none); True when it names an id."""
    urls = []
    for name, found_converters in portal_urls():
        if name in PUBLIC_URL_NAMES:
            continue
        if not found_converters:
            urls.append((reverse(name), False))
        else:
            for some_id in [*company.ids(), *company.external_ids()]:
                url = url_with(found_converters, name, some_id)
                if url is not None:
                    urls.append((url, True))
    return urls


QUERY_KEYS = ["partner", "partner_id", "company", "pk", "id", "account", "transfer", "member", "user", "as"]


def snooping_queries(company: Company) -> list[str]:
    """Query strings that try to name the other company."""
    queries = [f"?{key}={company.partner.id}" for key in QUERY_KEYS]
    queries += [f"?transfer={t}&id={t}" for t in company.transfer_ids]
    queries.append(f"?external_id={company.partner.external_id}&page=2&partner={company.partner.id}")
    return queries


# --- the member sees their own company only ---------------------------------------------------


def test_the_resolver_walk_finds_the_dashboard():
    assert ("web:dashboard", {}) in portal_urls()


def test_the_dashboard_shows_the_members_company(client, ours, theirs):
    client.force_login(ours.owner)
    response = client.get(reverse("web:dashboard"))
    assert response.status_code == 200
    for words in ours.on_dashboard:
        assert words in response.text
    assert_nothing_of(theirs, response, "/")


def test_the_dashboard_ignores_whatever_the_query_string_names(client, ours, theirs):
    client.force_login(ours.owner)
    for query in snooping_queries(theirs):
        response = client.get(reverse("web:dashboard") + query)
        assert response.status_code == 200, query
        assert "Own Coffee Co" in response.text, query
        assert_nothing_of(theirs, response, query)


def test_no_portal_url_shows_or_changes_another_companys_data(client, ours, theirs):
    client.force_login(ours.owner)
    before = theirs.state()
    for url, names_an_id in every_url(theirs):
        for query in ["", *snooping_queries(theirs)[:3]]:
            response = client.get(url + query)
            assert response.status_code in (200, 302, 403, 404, 405), (url + query, response.status_code)
            if names_an_id and response.status_code == 200:
                assert response["Content-Type"].startswith("text/html"), f"{url} served another company's file"
            assert_nothing_of(theirs, response, url + query)
        posted = {"partner": theirs.partner.id, "partner_id": theirs.partner.id, "transfer": theirs.transfer_ids[0]}
        response = client.post(url, posted)
        assert response.status_code in (200, 302, 400, 403, 404, 405), (url, response.status_code)
        assert_nothing_of(theirs, response, url)
    assert theirs.state() == before


def test_the_sweep_reaches_the_order_pages_with_the_other_companys_erp_ids(theirs):
    urls = [url for url, _ in every_url(theirs)]
    assert reverse("web:order_detail", args=[theirs.erp_ids[0]]) in urls


def test_another_companys_order_is_not_found(client, ours, theirs):
    client.force_login(ours.owner)
    assert client.get(reverse("web:order_detail", args=[ours.erp_ids[0]])).status_code == 200
    for erp_id in theirs.erp_ids:
        response = client.get(reverse("web:order_detail", args=[erp_id]))
        assert response.status_code == 404, erp_id
        assert_nothing_of(theirs, response, erp_id)


def test_the_lists_and_the_export_hold_the_members_company_only(client, ours, theirs):
    client.force_login(ours.owner)
    pages = {
        "web:activity": ["Order SO-OURS-1", "Order SO-ERP-OURS-A"],
        "web:orders": ["SO-ERP-OURS-A", "RMA-ERP-OURS-A"],
        "web:invoices": ["INV-ERP-OURS-A"],
        "web:activity_export": ["Order SO-OURS-1", "INV-ERP-OURS-A"],
    }
    for name, own_words in pages.items():
        for query in ["", *snooping_queries(theirs)]:
            response = client.get(reverse(name) + query)
            assert response.status_code == 200, (name, query)
            body = b"".join(response.streaming_content) if response.streaming else response.content
            for words in own_words:
                assert words in body.decode(), (name, query, words)
            assert_nothing_of(theirs, response, name + query)


# --- everyone who is not a member of a company -----------------------------------------------


def test_a_person_without_a_company_gets_the_no_company_page(client, ours):
    client.force_login(UserFactory())
    for url, _ in every_url(ours):
        response = client.get(url)
        assert response.status_code in (403, 405), url
        if response.status_code == 403:
            assert NO_COMPANY in response.text, url
        assert_nothing_of(ours, response, url)


def test_staff_are_sent_to_the_cms(client, ours):
    client.force_login(StaffFactory())
    for url, _ in every_url(ours):
        response = client.get(url)
        assert response.status_code in (302, 405), url
        if response.status_code == 302:
            assert response["Location"] == reverse("wagtailadmin_home"), url


def test_anonymous_visitors_are_sent_to_sign_in(client, ours):
    for url, _ in every_url(ours):
        response = client.get(url)
        assert response.status_code in (302, 405), url
        if response.status_code == 302:
            assert response["Location"].startswith(reverse("account_login") + "?next="), url


# --- the dashboard's cost does not grow with the history -------------------------------------


def dashboard_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("web:dashboard")).status_code == 200
    return len(queries)


def earn(partner, first, count):
    services.post_transfers(
        [
            services.earning(partner.id, key=f"q:{n}", amount=10, code=Code.ORDER, reason=f"Order SO-{n}")
            for n in range(first, first + count)
        ]
    )


def test_the_dashboard_needs_as_many_queries_for_200_transfers_as_for_10(client, partner, member):
    client.force_login(member)
    earn(partner, 0, 10)
    dashboard_queries(client)  # the first request of a session fills caches; count from the second
    with_10 = dashboard_queries(client)
    earn(partner, 10, 190)
    with_200 = dashboard_queries(client)
    assert with_200 == with_10
