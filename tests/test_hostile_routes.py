"""Every route of the portal and the ERP API, walked with hostile values: none answers a server error.

The routes come from the URL resolver, so a route added tomorrow is walked too. For each, hypothesis
draws values for its path parameters, for the query parameters the project's views read, and for a
form post: NUL bytes, the calendar's edges, numbers past a bigint, negative numbers, very long strings,
'/' and '..'. The ERP API also gets JSON items whose every field is hostile. Any 5xx (or an exception
the view let out) fails, naming the request. The CMS has its own sweeps (tests/accounts).
"""

import json
import re
from urllib.parse import quote, urlencode

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Membership
from portal.earning import keys
from tests.factories import MembershipFactory
from tests.rewards_catalog.factories import ItemFactory
from tests.web.erp import send_order

pytestmark = pytest.mark.django_db

# Walked elsewhere, or not the project's own pages.
NOT_WALKED = ("cms/", "documents/", "pages/", "static/", "media/")
PARAMETER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")
REGEX_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>[^)]*\)")

EDGES = [
    "\x00",
    "a\x00b",
    "%00",
    "9999-12-31",
    "0001-01-01",
    "9999-12-31T23:59:59+00:00",
    "0001-01-01T00:00:00+05:00",
    "0",
    "-1",
    str(2**63),
    str(-(2**63) - 1),
    str(2**64 + 7),
    "9" * 400,
    "1e309",
    "NaN",
    "-Infinity",
    "/",
    "..",
    "../../etc/passwd",
    "..%2f..%2f",
    "x" * 5000,
    "\u202eevil",
    "١٢٣",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "",
    " ",
]
# What the project's views read from a query string or a form (grep request.GET / request.POST, the forms).
QUERY_NAMES = ["q", "page", "category", "reach", "date_from", "date_to", "source", "kind", "before", "next"]
API_QUERY_NAMES = ["limit", "offset"]
FORM_NAMES = [
    "reason",
    "email",
    "role",
    "quantity",
    "shipping_address",
    "cause",
    "language",
    "first_name",
    "last_name",
    "password",
    "password1",
    "password2",
    "login",
    "code",
    "next",
]

printable_text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=80)
hostile = st.one_of(
    st.sampled_from(EDGES),
    printable_text,
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)


def walked_routes() -> list[str]:
    """Every route of the portal and the API, as a template with <name> placeholders."""

    def walk(patterns, prefix):
        for pattern in patterns:
            text = str(pattern.pattern).lstrip("^").rstrip("$").replace("\\Z", "")
            text = REGEX_GROUP.sub(lambda m: f"<{m['name']}>", text)
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + text)
            elif isinstance(pattern, URLPattern):
                yield prefix + text

    routes = {route for route in walk(get_resolver().url_patterns, "") if not route.startswith(NOT_WALKED)}
    return sorted(routes)


ROUTES = walked_routes()


def walked(*, max_examples: int):
    """Hypothesis's settings for a walk: the same examples on every run, and the database's pace accepted."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def fill(route: str, values: list[str]) -> str:
    names = iter(values)
    return "/" + PARAMETER.sub(lambda _m: quote(next(names), safe=""), route)


def parameters(route: str) -> int:
    return len(PARAMETER.findall(route))


@pytest.fixture
def world():
    """A company with an owner, an order, an invitation and a redemption, and an ERP key."""
    owner = MembershipFactory(role=Membership.Role.OWNER)
    send_order(owner.partner, "SO-1", ("A", "Misc", 1, "100"))
    ItemFactory(cost_points=10)
    return owner, keys.create_api_key(name="ERP")[1]


def test_the_walk_covers_the_portal_and_the_api():
    assert len(ROUTES) > 40
    for expected in (
        "orders/<path:external_id>/",
        "rewards/items/<int:pk>/",
        "api/v1/partners/<path:external_id>/entries",
    ):
        assert expected in ROUTES, ROUTES


@pytest.mark.parametrize("route", ROUTES)
def test_no_route_answers_a_server_error_to_hostile_values(route, world):
    owner, api_key = world
    client = Client()
    api = route.startswith("api/")
    headers = {"Authorization": f"Bearer {api_key}"} if api else {}
    names = API_QUERY_NAMES if api else QUERY_NAMES

    @walked(max_examples=12)
    @given(
        path_values=st.lists(hostile, min_size=parameters(route), max_size=parameters(route)),
        query=st.dictionaries(st.sampled_from(names), hostile, max_size=3),
        form=st.dictionaries(st.sampled_from(FORM_NAMES), hostile, max_size=4),
        method=st.sampled_from(["get", "post"]),
    )
    def walk(path_values, query, form, method):
        if not api:
            client.force_login(owner.user)  # a previous example may have signed out
        url = fill(route, path_values)
        if method == "get":
            response = client.get(f"{url}?{urlencode(query)}" if query else url, headers=headers)
        else:
            response = client.post(url, form, headers=headers)
        assert response.status_code < 500, f"{method.upper()} {url} {query or form} answered {response.status_code}"

    walk()


JSON_VALUES = st.one_of(
    hostile,
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.none(),
    st.booleans(),
    st.lists(hostile, max_size=2),
)
ITEM_FIELDS = {
    "orders": ["external_id", "partner", "placed_at", "currency", "lines"],
    "returns": ["external_id", "order", "returned_at", "lines"],
    "invoices": ["external_id", "partner", "amount", "currency", "issued_on", "due_on"],
    "payments": ["external_id", "invoice", "amount", "paid_on"],
}
LINE_FIELDS = ["line_no", "sku", "category", "quantity", "net_amount"]


@pytest.mark.parametrize("kind", sorted(ITEM_FIELDS))
def test_the_api_answers_hostile_items_with_a_result_per_item_never_a_server_error(kind, world):
    owner, api_key = world
    client = Client()
    good = {
        "external_id": "X-1",
        "partner": owner.partner.external_id,
        "order": "SO-1",
        "invoice": "INV-1",
        "placed_at": "2026-03-02T09:30:00+02:00",
        "returned_at": "2026-03-05T09:30:00+02:00",
        "currency": "USD",
        "amount": "100.00",
        "issued_on": "2026-03-01",
        "due_on": "2026-04-01",
        "paid_on": "2026-03-10",
    }
    good_line = {"line_no": 1, "sku": "A", "category": "Misc", "quantity": 1, "net_amount": "10.00"}

    @walked(max_examples=60)
    @given(
        changes=st.dictionaries(st.sampled_from(ITEM_FIELDS[kind]), JSON_VALUES, min_size=1, max_size=3),
        line_changes=st.dictionaries(st.sampled_from(LINE_FIELDS), JSON_VALUES, max_size=3),
    )
    def send(changes, line_changes):
        item = {name: good[name] for name in ITEM_FIELDS[kind] if name in good}
        if "lines" in ITEM_FIELDS[kind]:
            item["lines"] = [{**good_line, **line_changes}]
        item.update(changes)
        response = client.post(
            f"/api/v1/{kind}",
            json.dumps({"items": [item]}),
            content_type="application/json",
            headers={"Authorization": f"Bearer {api_key}"},
        )
        assert response.status_code < 500, f"{kind} {item!r} answered {response.status_code}"
        if response.status_code == 200:
            (result,) = response.json()["results"]
            assert result["status"] in {"created", "duplicate", "rejected"}
            assert result["status"] != "rejected" or result["errors"], result

    send()
