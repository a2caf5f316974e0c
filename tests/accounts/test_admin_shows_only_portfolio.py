"""What every CMS page shows an account manager: never the name of a partner outside their portfolio.

The scoping tests (test_admin_scoping, rewards_catalog/test_cms) check which objects a URL may open. This
sweep checks what the pages *show*: a page about the programme's own things (a code pool, an item, a
report) may still list partners. Two portfolios, each with partners of distinctive names and what the CMS
lists about them (people, invitations, redemptions, one a gift card from a code pool both portfolios draw
from, adjustments, history); then one manager requests every admin URL the resolver knows, with every
path parameter filled with real ids of every kind (their own, the other portfolio's, the pool), listings
also searched, filtered, exported and bulk-selected, and no response may name the other portfolio's
partners. That the sweep reaches real pages is checked too: many answer 200, and the manager's own
partners are named on them.
"""

import io
import itertools
import zipfile
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.db import connection, models
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.resolvers import RoutePattern
from wagtail.admin.models import EditingSession
from wagtail.admin.views.bulk_action.registry import bulk_action_registry
from wagtail.admin.views.generic.base import BaseListingView
from wagtail.admin.views.generic.chooser import BaseChooseView, ChosenMultipleViewMixin
from wagtail.contrib.settings.registry import registry as settings_registry
from wagtail.coreutils import resolve_model_string
from wagtail.documents import get_document_model
from wagtail.images import get_image_model
from wagtail.models import (
    Collection,
    Page,
    Revision,
    Task,
    TaskState,
    UploadedFile,
    Workflow,
    WorkflowState,
)

from accounts import invitations
from accounts import services as accounts_services
from accounts.models import Invitation, Membership, Partner, User
from portal.earning import adjustments
from portal.earning.models import Adjustment, ImportJob
from rewards_catalog import services as catalog
from rewards_catalog.models import CodePool, Item, Redemption
from tests.factories import AccountManagerFactory, ProgrammeAdministratorFactory
from tests.rewards_catalog.factories import GoodsFactory, ItemFactory, company, gift_card

pytestmark = pytest.mark.django_db

# Distinctive names: capitalised, so a search box echoing a lower-case query never counts as showing one.
NAMES = {
    "alpha": ("Amberley Optics Ltd", "Aldergrove Tiles Ltd"),
    "bravo": ("Brackenfold Timber Ltd", "Bramblecote Glass Ltd"),
}
SEARCHES = ["amberley", "brackenfold", "bramblecote glass", "ltd", "owner"]


@dataclass
class Portfolio:
    manager: User
    owners: list[Membership]
    redemptions: list[Redemption]
    adjustments: list[Adjustment]
    invitations: list[Invitation]

    @property
    def partners(self) -> list[Partner]:
        return [owner.partner for owner in self.owners]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(partner.name for partner in self.partners)


def make_portfolio(word: str, voucher: Item) -> Portfolio:
    manager = AccountManagerFactory(email=f"manager-{word}@vendor.example")
    owners = [
        company(30_000, name=name, external_id=f"ERP-{word.upper()}-{n}", account_manager=manager)
        for n, name in enumerate(NAMES[word])
    ]
    first, second = owners
    waiting = catalog.redeem(GoodsFactory(title=f"{word} jacket"), member=first, shipping_address=f"{word} street 1")
    approved = catalog.redeem(ItemFactory(title=f"{word} day out"), member=second)
    catalog.approve(approved, acting_user=manager)
    rejected = catalog.redeem(ItemFactory(title=f"{word} dinner"), member=second)
    catalog.reject(rejected, acting_user=manager, reason="Not this month")
    cards = [catalog.redeem(voucher, member=owner) for owner in owners]  # fulfilled at once from the shared pool
    assert all(card.codes.exists() for card in cards)
    small = adjustments.request_adjustment(first.partner, points=250, reason="Goodwill", acting_user=manager)
    large = adjustments.request_adjustment(second.partner, points=9_000, reason="Trade fair", acting_user=manager)
    invited = invitations.invite(
        first.partner, email=f"buyer@{word}.example", role=Membership.Role.PURCHASER, acting_user=first.user
    )
    partner = first.partner
    accounts_services.update_partner(  # a history entry
        partner,
        name=partner.name,
        external_id=partner.external_id,
        registration_number=partner.registration_number,
        kind=partner.kind,
        region=partner.region,
        language=partner.language,
        status=partner.status,
        account_manager=manager,
        tags=["sweep"],
        acting_user=manager,
    )
    return Portfolio(manager, owners, [waiting, approved, rejected, *cards], [small, large], [invited])


@pytest.fixture
def voucher():
    codes = [f"SWEEP-CODE-{n:04d}" for n in range(8)]
    return gift_card(codes, title="Shared voucher", cost_points=100)


@pytest.fixture
def alpha(voucher):
    return make_portfolio("alpha", voucher)


@pytest.fixture
def bravo(voucher):
    return make_portfolio("bravo", voucher)


def shown(response) -> str:
    """Everything the response hands over: its body (streamed or not, an XLSX workbook unzipped) and where
    it redirects to."""
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if content.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(content)) as workbook:
            content = b" ".join(workbook.read(name) for name in workbook.namelist() if name.endswith(".xml"))
    return content.decode("utf-8", errors="replace") + " " + response.get("Location", "")


# --- The CMS's URLs, from the resolver --------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    name: str
    params: dict[str, str]  # parameter name -> converter name ("int", "str", "slug", "regex")
    callback: object


def cms_routes() -> list[Route]:
    """Every named route under the CMS's prefix, however it was registered (Wagtail, a viewset, a hook)."""
    prefix = reverse("wagtailadmin_home").lstrip("/")
    routes = []

    def walk(patterns, route, namespace, params):
        for pattern in patterns:
            here = {**params, **parameters_of(pattern.pattern)}
            text = route + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                inner = ":".join(filter(None, [namespace, pattern.namespace])) if pattern.namespace else namespace
                walk(pattern.url_patterns, text, inner, here)
            elif isinstance(pattern, URLPattern) and pattern.name and text.startswith(prefix):
                name = f"{namespace}:{pattern.name}" if namespace else pattern.name
                routes.append(Route(name, here, pattern.callback))

    walk(get_resolver().url_patterns, "", None, {})
    return routes


def parameters_of(pattern) -> dict[str, str]:
    if isinstance(pattern, RoutePattern):
        names = {"IntConverter": "int", "SlugConverter": "slug", "StringConverter": "str"}
        return {name: names.get(type(converter).__name__, "str") for name, converter in pattern.converters.items()}
    return dict.fromkeys(pattern.regex.groupindex, "regex")


# Views that end the session, or fail on purpose.
NOT_SWEPT = {"wagtailadmin_logout", "wagtailadmin_error_test"}

# Wagtail's function views name their ids; the viewsets' views say their model.
MODEL_OF_PARAMETER = {
    "page_id": Page,
    "parent_page_id": Page,
    "page_to_move_id": Page,
    "destination_id": Page,
    "page_pk": Page,
    "image_id": get_image_model(),
    "document_id": get_document_model(),
    "doc_id": get_document_model(),
    "collection_id": Collection,
    "uploaded_file_id": UploadedFile,
    "task_state_id": TaskState,
    "workflow_state_id": WorkflowState,
    "task_id": Task,
    "workflow_pk": Workflow,
    "revision_id": Revision,
    "session_id": EditingSession,
}
MODEL_PAIRS = {
    ("app_label", "model_name"),
    ("content_type_app_name", "content_type_model_name"),
    ("app_name", "model_name"),
}
# The models whose (app, model) a URL may name: everything partners own, the catalog's, and Wagtail's.
NAMED_MODELS = [Partner, Membership, User, Invitation, Redemption, Adjustment, ImportJob, Item, CodePool, Page]


def model_of(route: Route):
    model = getattr(route.callback, "view_initkwargs", {}).get("model")
    model = model or getattr(getattr(route.callback, "view_class", None), "model", None)
    if isinstance(model, str):
        model = resolve_model_string(model)
    return model if isinstance(model, type) and issubclass(model, models.Model) else None


class Ids:
    """Real ids to fill path parameters with: of one model, or of every kind of object the test made."""

    def __init__(self):
        self.by_model = {}

    def of(self, model) -> list:
        if model not in self.by_model:
            self.by_model[model] = list(model._default_manager.order_by("pk").values_list("pk", flat=True)[:40])
        return self.by_model[model]

    def of_every_kind(self) -> list:
        kinds = [*NAMED_MODELS, Page, get_image_model(), Collection, Group]
        return sorted({pk for model in kinds for pk in self.of(model)})


def bulk_actions() -> dict[tuple[str, str], list[str]]:
    """(app label, model name) -> the bulk actions Wagtail offers on that model."""
    bulk_action_registry.get_bulk_actions_for_model("wagtailcore", "page")  # makes the registry read the hooks
    return {
        (app, model): list(actions)
        for app, by_model in bulk_action_registry.actions.items()
        for model, actions in by_model.items()
    }


def models_named_by(route: Route) -> list[tuple[str, str]]:
    """The (app label, model name) pairs to put in a URL that names a model."""
    if route.name == "wagtail_bulk_action":
        return list(bulk_actions())
    if route.name.startswith("wagtailsettings:"):
        return [(model._meta.app_label, model._meta.model_name) for model in settings_registry]
    return [(model._meta.app_label, model._meta.model_name) for model in NAMED_MODELS]


def urls_of(route: Route, ids: Ids) -> list[str]:
    """The route with its parameters filled: every id of the model its view is about (or of every kind)."""
    params = dict(route.params)
    pairs = [pair for pair in MODEL_PAIRS if set(pair) <= set(params)]
    urls = []
    for app_label, model_name in models_named_by(route) if pairs else [(None, None)]:
        fixed = {}
        for app_param, model_param in pairs:
            fixed[app_param], fixed[model_param] = app_label, model_name
        named = apps.get_model(app_label, model_name) if app_label else None
        choices = {
            name: values_for(name, converter, route, ids, named)
            for name, converter in params.items()
            if name not in fixed
        }
        # Each parameter runs through all of its values, side by side with the others (not every combination).
        longest = max((len(values) for values in choices.values()), default=1)
        for n in range(longest):
            kwargs = {**fixed, **{name: values[n % len(values)] for name, values in choices.items() if values}}
            if len(kwargs) == len(params):
                urls.append(reverse(route.name, kwargs=kwargs))
    return sorted(set(urls))


def values_for(name, converter, route, ids, named_model) -> list:
    if name == "action":  # a bulk action of the model the URL names
        return bulk_actions().get((named_model._meta.app_label, named_model._meta.model_name), [])
    if name == "revision_id_a":
        return ["earliest", "live", *map(str, ids.of(Revision))]
    if name == "revision_id_b":
        return ["latest", "live", *map(str, ids.of(Revision))]
    if name == "filter_spec":
        return ["original"]
    if name == "action_name":
        return ["approve", "reject"]
    if name in ("uidb64", "token"):
        return ["x"]
    if name == "item_key":  # a Learn item (content's report and exports): every page's translation key
        return sorted(set(Page.objects.values_list("translation_key", flat=True)))
    if name in ("pk", "object_id"):
        model = Page if route.name.startswith("wagtailadmin_pages:") else named_model or model_of(route)
    else:
        model = MODEL_OF_PARAMETER.get(name)
    found = ids.of(model) if model else ids.of_every_kind()
    return [str(pk) for pk in found] if converter in ("str", "slug", "regex") else found


def is_listing(route: Route) -> bool:
    """A page that lists objects (an index, its results, a chooser, a report, a search): asked more than once."""
    view_class = getattr(route.callback, "view_class", None)
    if view_class is not None:
        return issubclass(view_class, (BaseListingView, BaseChooseView))
    return any(word in route.name for word in ("search", "choose", "explore", "autocomplete"))


def is_selection(route: Route) -> bool:
    """A page that shows the objects whose ids it is given: a chooser's chosen ones, a bulk action's."""
    view_class = getattr(route.callback, "view_class", None)
    return (
        route.name == "wagtail_bulk_action"
        or "chosen_multiple" in route.name
        or (view_class is not None and issubclass(view_class, ChosenMultipleViewMixin))
    )


def listing_queries(me: Portfolio, other: Portfolio) -> list[str]:
    """What a listing is asked besides its first page: its next page, searches, filters and exports."""
    queries = ["?p=2", "?export=csv", "?export=xlsx", "?q=brackenfold&export=csv"]
    queries += [f"?q={text}" for text in SEARCHES]
    for partner in [*other.partners, me.partners[0]]:
        queries += [f"?partner={partner.pk}"]
    queries.append(f"?partner={other.partners[0].pk}&export=xlsx")
    return queries


def selection_queries(route: Route, ids: Ids) -> list[str]:
    """Every object of each kind a person or a partner owns, selected at once; a bulk action's "select all"."""
    kinds = (Partner, Membership, User, Redemption, Adjustment, Invitation, Page)
    everything = ["?id=all"] if route.name == "wagtail_bulk_action" else []
    return [*everything, *("?" + "&".join(f"id={pk}" for pk in ids.of(model)) for model in kinds)]


def sweep(client, me: Portfolio, other: Portfolio):
    """GET every CMS URL as `me`: the responses that name `other`'s partners, the status of each URL, and which
    of `me`'s partners the pages named."""
    client.raise_request_exception = False  # a view that fails shows its error page, which is checked too
    client.force_login(me.manager)
    ids = Ids()
    leaks, answered, seen = [], {}, set()

    def get(url):
        nonlocal seen
        response = client.get(url)
        answered[url] = response.status_code
        text = shown(response)
        leaks.extend((url, response.status_code, name) for name in other.names if name in text)
        if response.status_code == 200:
            seen |= {name for name in me.names if name in text}

    for route in cms_routes():
        if route.name in NOT_SWEPT:
            continue
        urls = urls_of(route, ids)
        if is_selection(route):
            urls += [url + query for url in urls for query in selection_queries(route, ids)]
        for url in urls:
            get(url)
        if is_listing(route) and urls and answered[urls[0]] == 200:  # a listing refused outright is refused anyway
            for query in listing_queries(me, other):
                get(urls[0] + query)
    return leaks, answered, seen


def describe(leaks) -> str:
    return "\n".join(f"{url} ({status}) shows {name!r}" for url, status, name in leaks)


@pytest.mark.parametrize("viewer", ["alpha", "bravo"])
def test_no_cms_page_shows_another_portfolios_partner(client, alpha, bravo, viewer):
    me, other = (alpha, bravo) if viewer == "alpha" else (bravo, alpha)
    leaks, answered, seen = sweep(client, me, other)

    assert not leaks, f"{len(leaks)} responses name another portfolio's partner:\n{describe(leaks)}"
    # Not vacuous: the sweep reached the manager's real pages, and they name the manager's own partners.
    ok = [url for url, status in answered.items() if status == 200]
    assert len(answered) > 800
    assert len(ok) > 400
    assert seen == set(me.names)
    musts = ["wagtailadmin_home", "partner:index", "membership:index", "redemption:index", "redemption:queue"]
    musts += ["adjustment:index", "adjustment:queue", "code_pool:index", "catalog_item:index", "partner_chooser:choose"]
    assert {reverse(name) for name in musts} <= set(ok)
    pool = CodePool.objects.get()
    assert reverse("code_pool:inspect", args=[pool.pk]) in ok
    for redemption in other.redemptions:
        assert answered[reverse("redemption:inspect", args=[redemption.pk])] == 404
    # A page that fails shows nothing, so it was not checked: none of the project's own may fail.
    failed = [url for url, status in answered.items() if status >= 500]
    assert [url for url in failed if not resolve(url.split("?")[0]).view_name.startswith("wagtail")] == []


# --- The code pool's page, in particular ------------------------------------------------------------


def test_the_pool_names_only_the_managers_own_partners_and_counts_every_code_given(client, alpha, bravo):
    pool = CodePool.objects.get()
    client.force_login(alpha.manager)
    response = client.get(reverse("code_pool:inspect", args=[pool.pk]))
    assert response.status_code == 200
    page = shown(response)

    assert response.context["object"].given == 4  # two codes to each portfolio
    for partner in alpha.partners:
        assert partner.name in page
    for partner in bravo.partners:
        assert partner.name not in page
    alpha_cards = [r for r in alpha.redemptions if r.codes.exists()]
    bravo_cards = [r for r in bravo.redemptions if r.codes.exists()]
    for card in alpha_cards:
        assert f'href="{reverse("redemption:inspect", args=[card.pk])}"' in page
    for card in bravo_cards:
        assert reverse("redemption:inspect", args=[card.pk]) not in page
    rows = response.context["latest_codes"]
    given_elsewhere = [row for row in rows if row.code.redemption_id and row.redemption is None]
    assert {row.code.redemption_id for row in given_elsewhere} == {card.pk for card in bravo_cards}
    assert page.count("Given to a partner outside your portfolio") == len(bravo_cards)


def test_an_administrator_sees_to_whom_every_code_went(client, alpha, bravo):
    pool = CodePool.objects.get()
    client.force_login(ProgrammeAdministratorFactory())
    page = shown(client.get(reverse("code_pool:inspect", args=[pool.pk])))
    for portfolio in (alpha, bravo):
        for name in portfolio.names:
            assert name in page
        for card in (r for r in portfolio.redemptions if r.codes.exists()):
            assert f'href="{reverse("redemption:inspect", args=[card.pk])}"' in page
    assert "Given to a partner outside your portfolio" not in page


def test_the_pool_page_costs_the_same_queries_however_many_codes_were_given(client, alpha, voucher):
    pool = CodePool.objects.get()
    url = reverse("code_pool:inspect", args=[pool.pk])
    client.force_login(alpha.manager)
    client.get(url)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    before = queries()
    for owner in itertools.islice(itertools.cycle(alpha.owners), 3):
        catalog.redeem(voucher, member=owner)
    assert queries() == before


def test_the_pools_edit_page_opens(client, alpha):
    """It named the pool's history and usage URLs, which the pools do not have, and failed; the sweep found it."""
    pool = CodePool.objects.get()
    client.force_login(alpha.manager)
    response = client.get(reverse("code_pool:edit", args=[pool.pk]))
    assert response.status_code == 200
    assert pool.name in shown(response)
