"""The ERP API at /api/v1/, as the ERP sees it: HTTP in, JSON or problem documents out."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portal.earning import keys, services
from portal.earning.models import ApiKey, Invoice, Order
from portal.ledger.models import Transfer
from portal.ledger.queries import balance_of, discrepancies
from tests.earning.test_ingest import order
from tests.factories import AccountManagerFactory, PartnerFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

PROBLEM_JSON = "application/problem+json"


@pytest.fixture
def api_client():
    # CSRF is enforced as in production: the API must not need a token, only its key.
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def api_key():
    _key, plaintext = keys.create_api_key(name="ERP")
    return plaintext


def send(api_client, kind, items, key, **kwargs):
    return api_client.post(
        f"/api/v1/{kind}",
        json.dumps({"items": items}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"} if key else {},
        **kwargs,
    )


def get(api_client, path, key, **params):
    return api_client.get(f"/api/v1/{path}", params, headers={"Authorization": f"Bearer {key}"})


def assert_problem(response, status):
    assert response.status_code == status
    assert response["Content-Type"] == PROBLEM_JSON
    body = response.json()
    assert body["status"] == status
    assert body["type"] == "about:blank"
    assert body["title"]
    return body


# --- Recording batches ---------------------------------------------------------------------------


def test_replaying_an_api_batch_records_nothing_new(api_client, api_key, partner):
    batch = [order(f"SO-{n}", partner, ("A", "Misc", 1, "100")) for n in range(3)]
    first = send(api_client, "orders", batch, api_key)
    assert first.status_code == 200
    assert [r["status"] for r in first.json()["results"]] == ["created"] * 3
    entries = Transfer.objects.count()

    again = send(api_client, "orders", batch, api_key).json()["results"]

    assert [r["status"] for r in again] == ["duplicate"] * 3
    assert [r["points"] for r in again] == [r["points"] for r in first.json()["results"]] == [100] * 3
    assert Transfer.objects.count() == entries == 3
    assert balance_of(partner).pending == 300


def test_the_ledger_names_the_key_that_sent_the_batch(api_client, api_key, partner):
    send(api_client, "orders", [order("SO-1", partner, ("A", "Misc", 1, "100"))], api_key)
    assert Transfer.objects.get(ref_id="SO-1").actor_label == "api: ERP"


def test_a_batch_with_bad_items_applies_the_good_ones_and_names_the_bad(api_client, api_key, partner):
    response = send(
        api_client,
        "orders",
        [
            order("SO-1", partner, ("A", "Misc", 1, "100")),
            order("SO-2", partner, ("A", "Misc", 0, "100")),
            {**order("SO-3", partner, ("A", "Misc", 1, "100")), "partner": "NOBODY"},
            {"external_id": "SO-4"},
            order("SO-5", partner, ("A", "Misc", 1, "100")),
        ],
        api_key,
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["external_id"] for r in results] == ["SO-1", "SO-2", "SO-3", "SO-4", "SO-5"]
    assert [r["status"] for r in results] == ["created", "rejected", "rejected", "rejected", "created"]
    assert results[1]["errors"] == [
        {"field": "lines[0].quantity", "message": "Input should be greater than or equal to 1"}
    ]
    assert results[1]["points"] is None
    assert results[2]["errors"][0]["field"] == "partner"
    assert {e["field"] for e in results[3]["errors"]} >= {"partner", "placed_at", "lines"}
    assert results[0]["errors"] == []
    assert set(Order.objects.values_list("external_id", flat=True)) == {"SO-1", "SO-5"}


def test_the_same_id_with_other_content_is_rejected(api_client, api_key, partner):
    send(api_client, "orders", [order("SO-1", partner, ("A", "Misc", 1, "100"))], api_key)
    (result,) = send(api_client, "orders", [order("SO-1", partner, ("A", "Misc", 2, "200"))], api_key).json()["results"]
    assert result["status"] == "rejected"
    assert result["errors"][0]["field"] == "external_id"
    assert "conflicts with the first" in result["errors"][0]["message"]
    assert Order.objects.get(external_id="SO-1").net_total == 100


def test_returns_invoices_and_payments_go_through_the_same_service(api_client, api_key, partner):
    today = timezone.now().date()
    send(api_client, "orders", [order("SO-1", partner, ("A", "Misc", 4, "400"))], api_key)
    returned = {"external_id": "R-1", "order": "SO-1", "returned_at": timezone.now().isoformat(),
                "lines": [{"line_no": 1, "quantity": 1}]}  # fmt: skip
    invoice = {"external_id": "INV-1", "partner": partner.external_id, "amount": "1000.00", "currency": "USD",
               "issued_on": str(today - timedelta(days=5)), "due_on": str(today + timedelta(days=20))}  # fmt: skip
    payment = {"external_id": "P-1", "invoice": "INV-1", "amount": "1000.00", "paid_on": str(today)}

    assert send(api_client, "returns", [returned], api_key).json()["results"][0]["points"] == 100
    assert send(api_client, "invoices", [invoice], api_key).json()["results"][0]["status"] == "created"
    assert send(api_client, "payments", [payment], api_key).json()["results"][0]["points"] == 500
    assert Invoice.objects.filter(external_id="INV-1").exists()
    assert (balance_of(partner).available, balance_of(partner).pending) == (500, 300)
    assert discrepancies() == []


# --- Refused calls: problem documents, nothing written -------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer pk_not-a-key", "Bearer ", "Basic dXNlcjpwYXNz", "pk_a-key-without-its-scheme"],
    ids=["none", "unknown key", "empty", "basic", "no scheme"],
)
def test_a_call_without_a_valid_key_is_refused_and_writes_nothing(api_client, partner, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    for kind in ("orders", "returns", "invoices", "payments"):
        response = api_client.post(
            f"/api/v1/{kind}",
            json.dumps({"items": [order("SO-1", partner, ("A", "Misc", 1, "100"))]}),
            content_type="application/json",
            headers=headers,
        )
        assert_problem(response, 401)
        assert response["WWW-Authenticate"].startswith("Bearer")
    assert_problem(api_client.get(f"/api/v1/partners/{partner.external_id}/balance", headers=headers), 401)
    assert not Order.objects.exists()
    assert not Transfer.objects.exists()


def test_a_revoked_key_is_refused(api_client, partner):
    key, plaintext = keys.create_api_key(name="Old ERP")
    assert send(api_client, "orders", [], plaintext).status_code == 200
    keys.revoke_api_key(key, acting_user=UserFactory(is_superuser=True))

    response = send(api_client, "orders", [order("SO-1", partner, ("A", "Misc", 1, "100"))], plaintext)

    assert_problem(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert not Order.objects.exists()


def test_revoking_needs_the_permission():
    key, _plaintext = keys.create_api_key(name="ERP")
    with pytest.raises(PermissionDenied):
        keys.revoke_api_key(key, acting_user=AccountManagerFactory())
    key.refresh_from_db()
    assert key.revoked_at is None


def test_a_body_that_is_not_json_is_a_400_problem(api_client, api_key):
    response = api_client.post(
        "/api/v1/orders",
        "items=1",
        content_type="application/x-www-form-urlencoded",
        headers={"Authorization": f"Bearer {api_key}"},
    )
    body = assert_problem(response, 400)
    assert "parse" in body["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "items"),
        ({"items": "SO-1"}, "items"),
        ({"items": {"external_id": "SO-1"}}, "items"),
        ({"items": [{"external_id": "SO-1"}, "SO-2"]}, "items[1]"),
        ([{"external_id": "SO-1"}], "items"),
        ("", "body"),
    ],
    ids=["no items", "items a string", "items an object", "an item not an object", "a list", "empty body"],
)
def test_a_body_not_of_the_schema_is_a_422_naming_the_field(api_client, api_key, body, field):
    response = api_client.post(
        "/api/v1/orders",
        json.dumps(body) if body != "" else "",
        content_type="application/json",
        headers={"Authorization": f"Bearer {api_key}"},
    )
    problem = assert_problem(response, 422)
    assert field in [e["field"] for e in problem["errors"]]
    assert all(e["message"] for e in problem["errors"])


def test_a_batch_of_more_than_1000_items_is_refused_whole(api_client, api_key, partner):
    batch = [order(f"SO-{n}", partner, ("A", "Misc", 1, "1")) for n in range(1_001)]
    problem = assert_problem(send(api_client, "orders", batch, api_key), 422)
    assert problem["errors"][0]["field"] == "items"
    assert "1000" in problem["errors"][0]["message"]
    assert not Order.objects.exists()


def test_paths_and_methods_the_api_does_not_have_are_problems(api_client, api_key):
    headers = {"Authorization": f"Bearer {api_key}"}
    for path in ("/api/v1/", "/api/v1/nothing", "/api/v1/orders/", "/api/v1/partners/ERP-1"):
        assert_problem(api_client.get(path, headers=headers), 404)
    response = api_client.get("/api/v1/orders", headers=headers)
    assert_problem(response, 405)
    assert response["Allow"] == "POST"


# --- Reading points ------------------------------------------------------------------------------


def test_a_partners_balance(api_client, api_key, partner):
    placed = timezone.now() - timedelta(days=40)
    services.record("orders", [order("SO-1", partner, ("A", "Misc", 1, "100"), placed_at=placed)], source="test")
    services.release_order_points()
    services.record("orders", [order("SO-2", partner, ("A", "Misc", 1, "50"))], source="test")

    response = get(api_client, f"partners/{partner.external_id}/balance", api_key)

    assert response.status_code == 200
    assert response.json() == {"available": 100, "pending": 50, "held": 0}


def test_a_partner_with_a_slash_in_its_erp_id_is_found(api_client, api_key):
    partner = PartnerFactory(external_id="EU/0042")
    assert get(api_client, f"partners/{partner.external_id}/balance", api_key).status_code == 200
    assert get(api_client, f"partners/{partner.external_id}/entries", api_key).status_code == 200


def test_a_partners_entries_are_paged_newest_first_with_signed_points(api_client, api_key, partner):
    placed = timezone.now() - timedelta(days=40)
    services.record("orders", [order("SO-1", partner, ("A", "Misc", 2, "200"), placed_at=placed)], source="test")
    services.release_order_points()
    services.record(
        "returns",
        [{"external_id": "R-1", "order": "SO-1", "returned_at": timezone.now().isoformat(),
          "lines": [{"line_no": 1, "quantity": 1}]}],
        source="test",
    )  # fmt: skip
    path = f"partners/{partner.external_id}/entries"

    first = get(api_client, path, api_key, limit=1).json()
    rest = get(api_client, path, api_key, limit=10, offset=1).json()

    assert first["count"] == rest["count"] == 3
    newest = first["items"][0]
    assert (newest["code"], newest["points"], newest["phase"]) == ("clawback", -100, "posted")
    assert newest["breakdown"]
    assert set(newest) == {"key", "effective_at", "code", "reason", "points", "phase", "breakdown"}
    assert [(e["code"], e["points"], e["phase"]) for e in rest["items"]] == [
        ("order", 200, "post_pending"),
        ("order", 200, "pending"),
    ]
    assert rest["items"][1]["breakdown"] == "200 base"


def test_paging_beyond_the_limit_is_a_422_naming_the_parameter(api_client, api_key, partner):
    problem = assert_problem(get(api_client, f"partners/{partner.external_id}/entries", api_key, limit=1_001), 422)
    assert [e["field"] for e in problem["errors"]] == ["limit"]


@pytest.mark.parametrize("what", ["balance", "entries"])
def test_an_unknown_partner_is_a_404_problem(api_client, api_key, what):
    problem = assert_problem(get(api_client, f"partners/NOBODY/{what}", api_key), 404)
    assert "NOBODY" in problem["detail"]


# --- The schema and its docs ---------------------------------------------------------------------


def test_the_openapi_schema_documents_every_batch_and_its_items(api_client):
    response = api_client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["info"] == {
        "title": "Partner programme ERP API",
        "version": "1",
        "description": schema["info"]["description"],
    }
    for kind in ("orders", "returns", "invoices", "payments"):
        operation = schema["paths"][f"/api/v1/{kind}"]["post"]
        assert operation["security"] == [{"ApiKeyAuth": []}]
        assert PROBLEM_JSON in operation["responses"]["422"]["content"]
    order_items = schema["components"]["schemas"]["OrderBatch"]["properties"]["items"]
    assert order_items["maxItems"] == 1_000
    assert set(order_items["items"]["properties"]) == {"external_id", "partner", "placed_at", "currency", "lines"}
    assert "/api/v1/partners/{external_id}/entries" in schema["paths"]


def test_the_docs_are_served_without_a_cdn(api_client):
    response = api_client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()


# --- Keys ----------------------------------------------------------------------------------------


def test_create_api_key_prints_a_working_key_on_its_last_line(api_client, partner):
    out = StringIO()
    call_command("create_api_key", "SAP production", stdout=out)
    plaintext = out.getvalue().strip().splitlines()[-1]

    assert plaintext.startswith("pk_")
    key = ApiKey.objects.get(name="SAP production")
    assert key.prefix == plaintext[:12]
    assert plaintext not in (key.key_hash, key.prefix)
    assert get(api_client, f"partners/{partner.external_id}/balance", plaintext).status_code == 200


def test_create_api_key_refuses_a_name_in_use():
    keys.create_api_key(name="ERP")
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_api_key", "ERP", stdout=StringIO())


def test_a_key_notes_when_it_was_last_used_at_most_once_a_minute(api_client, api_key, partner):
    path = f"partners/{partner.external_id}/balance"
    get(api_client, path, api_key)
    first_use = ApiKey.objects.get().last_used_at
    assert first_use is not None

    get(api_client, path, api_key)
    assert ApiKey.objects.get().last_used_at == first_use

    ApiKey.objects.update(last_used_at=first_use - timedelta(minutes=2))
    get(api_client, path, api_key)
    assert ApiKey.objects.get().last_used_at > first_use


# --- The CMS page for keys -----------------------------------------------------------------------


def key_admin(user):
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    return user


@pytest.fixture
def administrator(db):
    return StaffFactory(is_superuser=True)


@pytest.mark.parametrize(
    "who",
    ["account manager", "staff with only CMS access", "staff who may only view keys"],
)
def test_only_who_may_make_or_revoke_keys_reaches_the_key_pages(client, who):
    if who == "account manager":
        user = AccountManagerFactory()
    else:
        user = key_admin(StaffFactory())
        if who == "staff who may only view keys":
            user.user_permissions.add(Permission.objects.get(codename="view_apikey"))
    key, _plaintext = keys.create_api_key(name="ERP")
    client.force_login(user)

    for url in (reverse("api_keys:index"), reverse("api_keys:add"), reverse("api_keys:edit", args=[key.pk])):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url == reverse("wagtailadmin_home")
    client.post(reverse("api_keys:add"), {"name": "Mine"})
    client.post(reverse("api_keys:edit", args=[key.pk]))
    assert list(ApiKey.objects.values_list("name", "revoked_at")) == [("ERP", None)]


def test_staff_given_the_key_permission_may_make_keys(client):
    user = key_admin(StaffFactory())
    user.user_permissions.add(Permission.objects.get(codename="add_apikey"))
    client.force_login(user)
    assert client.get(reverse("api_keys:index")).status_code == 200
    assert client.post(reverse("api_keys:add"), {"name": "ERP"}).status_code == 200
    assert ApiKey.objects.get().created_by == user


def test_an_administrator_makes_a_key_and_sees_it_once(client, administrator, api_client, partner):
    client.force_login(administrator)

    response = client.post(reverse("api_keys:add"), {"name": "SAP production"})

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    key = ApiKey.objects.get(name="SAP production")
    page = response.content.decode()
    plaintext = page.split('id="api-key"')[1].split('value="')[1].split('"')[0]
    assert plaintext.startswith(key.prefix)
    assert keys.authenticate(plaintext) == key
    assert key.created_by == administrator

    # Never again: neither the list nor the key's own page shows more than its prefix.
    for url in (reverse("api_keys:index"), reverse("api_keys:edit", args=[key.pk])):
        later = client.get(url)
        assert later.status_code == 200
        assert key.prefix in later.content.decode()
        assert plaintext not in later.content.decode()


def test_an_administrator_cannot_take_a_name_in_use(client, administrator):
    keys.create_api_key(name="ERP")
    client.force_login(administrator)
    response = client.post(reverse("api_keys:add"), {"name": "ERP"})
    assert response.status_code == 200
    assert ApiKey.objects.count() == 1
    assert "pk_" not in response.content.decode()


def test_an_administrator_revokes_a_key_and_the_erp_is_refused(client, administrator, api_client, partner):
    key, plaintext = keys.create_api_key(name="ERP")
    client.force_login(administrator)
    listing = client.get(reverse("api_keys:index")).content.decode()
    assert "Revoke" in listing

    response = client.post(reverse("api_keys:edit", args=[key.pk]))

    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert_problem(get(api_client, f"partners/{partner.external_id}/balance", plaintext), 401)
    assert "revoked" in client.get(reverse("api_keys:edit", args=[key.pk])).content.decode()


def test_keys_are_never_deleted(client, administrator):
    key, _plaintext = keys.create_api_key(name="ERP")
    client.force_login(administrator)
    client.post(reverse("api_keys:delete", args=[key.pk]))
    assert ApiKey.objects.filter(pk=key.pk).exists()
