"""The attacks on input that once answered 500: each now gets a 4xx (or a named error) and changes nothing.

One test per attack seen: an oversized API body, dates at the calendar's edges (API, CSV dry run, the
activity page and its export), an offset past a bigint, NUL bytes wherever text reaches PostgreSQL, and
an ERP id with a '/'.
"""

import json

import pytest
from django.urls import reverse

from accounts.models import Membership
from portal.earning import keys
from portal.earning.models import ImportJob, Order
from portal.ledger.models import Transfer
from rewards_catalog import services as catalog
from tests.earning.test_csv_import import ORDER_HEADER, cms_user, upload
from tests.factories import MembershipFactory, PartnerFactory
from tests.rewards_catalog.factories import ItemFactory, company
from tests.web.erp import send_order

pytestmark = pytest.mark.django_db

PROBLEM_JSON = "application/problem+json"


@pytest.fixture
def api_key():
    return keys.create_api_key(name="ERP")[1]


def post_orders(client, key, body: bytes | str):
    return client.post(
        "/api/v1/orders", body, content_type="application/json", headers={"Authorization": f"Bearer {key}"}
    )


def an_order(partner, external_id="SO-1", placed_at="2026-03-02T09:30:00+02:00", amount="100.00"):
    return {
        "external_id": external_id,
        "partner": partner.external_id,
        "placed_at": placed_at,
        "currency": "USD",
        "lines": [{"line_no": 1, "sku": "A", "category": "Misc", "quantity": 1, "net_amount": amount}],
    }


@pytest.mark.parametrize("megabytes", [3, 20])
def test_an_api_body_over_the_upload_limit_answers_413_naming_the_limit(client, api_key, settings, megabytes):
    body = json.dumps({"items": [], "padding": "x" * (megabytes * 1024 * 1024)})
    response = post_orders(client, api_key, body)
    assert response.status_code == 413
    assert response["Content-Type"] == PROBLEM_JSON
    assert f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes" in response.json()["detail"]


@pytest.mark.parametrize(
    "placed_at",
    ["9999-12-31T23:59:59+00:00", "9999-12-31T20:00:00-05:00", "0001-01-01T00:00:00+05:00", "1899-06-01T10:00:00Z"],
)
def test_an_order_placed_at_the_calendars_edge_is_rejected_naming_the_field(client, api_key, partner, placed_at):
    response = post_orders(client, api_key, json.dumps({"items": [an_order(partner, placed_at=placed_at)]}))
    assert response.status_code == 200
    (result,) = response.json()["results"]
    assert result["status"] == "rejected"
    assert [e["field"] for e in result["errors"]] == ["placed_at"]
    assert "between 2000-01-01 and 2099-12-31" in result["errors"][0]["message"]
    assert not Order.objects.exists() and not Transfer.objects.exists()


def test_a_csv_dry_run_names_the_row_of_a_date_at_the_calendars_edge(
    client, partner, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(cms_user("add_importjob"))
    rows = (
        f"SO-1,{partner.external_id},2026-03-02T09:30:00+02:00,USD,1,A,Misc,1,10\n"
        f"SO-2,{partner.external_id},9999-12-31T23:59:59+00:00,USD,1,A,Misc,1,10\n"
        f"SO-3,{partner.external_id},0001-01-01T00:00:00+05:00,USD,1,A,Misc,1,10\n"
    )
    job, _response = upload(client, "orders", ORDER_HEADER + rows, callbacks=django_capture_on_commit_callbacks)
    assert job.status == ImportJob.Status.INVALID
    assert "stopped unexpectedly" not in (job.message or "")
    assert sorted((e["row"], e["column"]) for e in job.errors) == [(3, "placed_at"), (4, "placed_at")]
    assert job.rows_created == 1 and not Order.objects.exists()


@pytest.fixture
def signed_in_owner(client):
    membership = MembershipFactory(role=Membership.Role.OWNER)
    client.force_login(membership.user)
    return membership


@pytest.mark.parametrize("url_name", ["web:activity", "web:activity_export"])
@pytest.mark.parametrize("field", ["date_to", "date_from"])
def test_a_filter_date_at_the_calendars_edge_is_refused_with_a_reason(client, signed_in_owner, url_name, field):
    response = client.get(reverse(url_name), {field: "9999-12-31"}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain in ([], [(f"{reverse('web:activity')}?{field}=9999-12-31", 302)])
    assert "Enter a date between 2000-01-01 and 2099-12-31." in response.content.decode()


def test_an_entries_offset_past_a_bigint_is_a_422_naming_offset(client, api_key, partner):
    response = client.get(
        f"/api/v1/partners/{partner.external_id}/entries",
        {"offset": str(2**63 + 5)},
        headers={"Authorization": f"Bearer {api_key}"},
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["offset"]


def test_a_nul_in_a_partner_id_in_the_api_path_is_a_400_problem(client, api_key):
    response = client.get("/api/v1/partners/P%00X/balance", headers={"Authorization": f"Bearer {api_key}"})
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM_JSON
    assert "NUL" in response.json()["detail"]


def test_a_nul_in_the_catalog_search_is_a_400(client, signed_in_owner):
    assert client.get(reverse("rewards_catalog:catalog"), {"q": "gift\x00card"}).status_code == 400


def test_a_nul_in_an_order_id_in_the_portal_address_is_a_400(client, signed_in_owner):
    assert client.get("/orders/SO%001/").status_code == 400


def test_a_nul_in_a_cancellation_reason_is_a_400_and_cancels_nothing(client):
    owner = company(points=500)
    client.force_login(owner.user)
    redemption = catalog.redeem(ItemFactory(cost_points=10), member=owner)
    response = client.post(reverse("rewards_catalog:cancel", args=[redemption.pk]), {"reason": "no\x00thanks"})
    assert response.status_code == 400
    redemption.refresh_from_db()
    assert redemption.status == redemption.Status.AWAITING_APPROVAL


def test_a_nul_in_wagtails_tag_autocomplete_is_a_400(client):
    staff = cms_user()
    client.force_login(staff)
    assert client.get("/cms/tag-autocomplete/", {"term": "a\x00b"}).status_code == 400


def test_an_erp_order_id_with_a_slash_is_refused_naming_the_field(client, api_key, partner):
    response = post_orders(client, api_key, json.dumps({"items": [an_order(partner, external_id="SO/1")]}))
    (result,) = response.json()["results"]
    assert result["status"] == "rejected"
    assert result["errors"] == [{"field": "external_id", "message": "Value error, must not contain '/'"}]


def test_an_order_recorded_before_slashes_were_refused_still_opens_in_the_portal(client, signed_in_owner):
    """Orders with a '/' in their id that the API accepted earlier keep a page of their own."""
    send_order(signed_in_owner.partner, "SO-7", ("A", "Misc", 1, "100"))
    Order.objects.filter(external_id="SO-7").update(external_id="SO/7")
    listing = client.get(reverse("web:orders"))
    assert listing.status_code == 200
    detail_url = reverse("web:order_detail", args=["SO/7"])
    assert detail_url in listing.content.decode()
    assert client.get(detail_url).status_code == 200


def test_another_companys_order_stays_404_through_the_path_converter(client, signed_in_owner):
    send_order(PartnerFactory(), "SO-X", ("A", "Misc", 1, "100"))
    assert client.get(reverse("web:order_detail", args=["SO-X"])).status_code == 404
    assert client.get("/orders/../orders/SO-X/").status_code == 404
