"""The ERP API at /api/v1/: the vendor's ERP sends what partners bought, returned, were billed and paid,
and reads their points.

A thin layer over ``services.record`` and the ledger's queries. It checks the key and the envelope
(``{"items": [...]}``, at most 1,000 items) and nothing more: each item is validated on its own by
the service, so one bad item is named in its own result instead of refusing the batch. The OpenAPI
schema still documents every item's fields.

Every error is a problem document (RFC 9457, formerly 7807, ``application/problem+json``), from the
exception handlers below and, for paths or methods the API does not have, from ``urlpatterns``.
This module is included under /api/v1/ as a URLconf (``app_name``, ``urlpatterns``).
"""

import logging
from datetime import datetime
from functools import wraps
from http import HTTPStatus
from typing import Annotated, Any, Literal

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, path, re_path, reverse
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.pagination import LimitOffsetPagination, paginate
from ninja.security import HttpBearer
from pydantic import BaseModel, GetPydanticSchema

from accounts.models import Partner
from portal.earning import keys, services
from portal.earning.schemas import InvoiceIn, OrderIn, PaymentIn, ReturnIn
from portal.ledger.queries import balance_of, transfers_of

logger = logging.getLogger("django.request")

PROBLEM_JSON = "application/problem+json"


# --- Problem documents -----------------------------------------------------------------------


class FieldProblem(Schema):
    field: str = Field(description="Where, e.g. items[3] or lines[0].quantity")
    message: str


class Problem(Schema):
    type: str = "about:blank"
    title: str
    status: int
    detail: str = ""
    errors: list[FieldProblem] | None = None


def problem(status: int, detail: str = "", errors: list[dict] | None = None) -> HttpResponse:
    document = Problem(title=HTTPStatus(status).phrase, status=status, detail=detail, errors=errors)
    return HttpResponse(document.model_dump_json(exclude_none=True), status=status, content_type=PROBLEM_JSON)


def field_of(loc) -> str:
    """Ninja's ('body', 'batch', 'items', 3) -> 'items[3]'; ('query', 'limit') -> 'limit'."""
    source, *rest = loc
    if source == "body":
        rest = rest[1:]  # the view's parameter name: not something the caller sent
    return services.field_path(rest) if rest else source


class ErpApi(NinjaAPI):
    def get_openapi_schema(self, **kwargs):
        """Errors are documented as what they are: application/problem+json."""
        schema = super().get_openapi_schema(**kwargs)
        for path_item in schema["paths"].values():
            for operation in path_item.values():
                for status, response in operation["responses"].items():
                    if int(status) >= 400 and "content" in response:
                        response["content"] = {PROBLEM_JSON: response["content"].popitem()[1]}
        return schema


class ApiKeyAuth(HttpBearer):
    """``Authorization: Bearer pk_...``, a key an administrator made in the CMS."""

    def authenticate(self, request, token):
        return keys.authenticate(token)


api = ErpApi(
    title="Partner programme ERP API",
    version="1",
    description=(
        "The vendor's ERP sends orders, returns, invoices and payments in batches of up to 1,000 items, "
        "and reads partners' points. Sign every call with `Authorization: Bearer <key>`; an administrator "
        "makes keys in the CMS (Programme > API keys). Sending a batch again is harmless: an item already "
        "recorded with the same content answers `duplicate` and changes nothing, while the same id with "
        "other content is `rejected`. Errors are problem documents (RFC 9457, `application/problem+json`)."
    ),
    urls_namespace="erp_api",
    auth=ApiKeyAuth(),
)


@api.exception_handler(ValidationError)
def invalid_request(request, exc: ValidationError):
    errors = [{"field": field_of(e["loc"]), "message": e["msg"]} for e in exc.errors]
    return problem(422, "The request does not match the schema; see errors.", errors)


@api.exception_handler(AuthenticationError)
def unauthenticated(request, exc):
    response = problem(401, "Send a valid, unrevoked API key: 'Authorization: Bearer <key>'.")
    response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


@api.exception_handler(HttpError)
def http_error(request, exc: HttpError):
    # Ninja raises HttpError(400) for a body that is not JSON.
    return problem(exc.status_code, str(exc))


@api.exception_handler(Http404)
def not_found(request, exc):
    return problem(404, str(exc) or "Not found.")


@api.exception_handler(RequestDataTooBig)
def too_big(request, exc):
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return problem(
        413,
        f"The request body is over the limit of {limit:,} bytes; send the items in smaller batches.",
    )


@api.exception_handler(Exception)
def unexpected(request, exc):
    """A bug, not bad input: logged like any server error, answered as a problem the ERP can read."""
    logger.error("Internal Server Error: %s", request.path, exc_info=exc, extra={"status_code": 500})
    return problem(500, repr(exc) if settings.DEBUG else "The server failed; the error has been logged.")


# --- Batches ---------------------------------------------------------------------------------


def documented_as(schema: type[BaseModel]):
    """A raw item, validated by the service one by one, shown in the OpenAPI schema as ``schema``."""
    return Annotated[
        dict[str, Any],
        GetPydanticSchema(get_pydantic_json_schema=lambda _core, handler: handler(schema.__pydantic_core_schema__)),
    ]


BatchItems = Field(max_length=services.MAX_BATCH, description=f"At most {services.MAX_BATCH:,} items.")


class OrderBatch(Schema):
    items: list[documented_as(OrderIn)] = BatchItems


class ReturnBatch(Schema):
    items: list[documented_as(ReturnIn)] = BatchItems


class InvoiceBatch(Schema):
    items: list[documented_as(InvoiceIn)] = BatchItems


class PaymentBatch(Schema):
    items: list[documented_as(PaymentIn)] = BatchItems


class ItemError(Schema):
    field: str = Field(description="Where in the item, e.g. lines[0].quantity")
    message: str


class ItemResult(Schema):
    external_id: str
    status: Literal["created", "duplicate", "rejected"]
    points: int | None = Field(description="Points the item earned (or took back); none when rejected")
    held_for_review: bool = Field(
        False,
        description="Recorded, but its points wait for an account manager's approval (above the programme's limits)",
    )
    errors: list[ItemError]


class BatchResults(Schema):
    results: list[ItemResult] = Field(description="One per item, in the order sent")


BATCH_RESPONSES = {200: BatchResults, 400: Problem, 401: Problem, 413: Problem, 422: Problem}


def _record(request, kind: str, items: list[dict]) -> dict:
    return {"results": services.record(kind, items, source=f"api: {request.auth.name}")}


@api.post("/orders", response=BATCH_RESPONSES, tags=["ERP records"], summary="Record orders")
def record_orders(request, batch: OrderBatch):
    """Each order earns points that stay pending until its return window ends."""
    return _record(request, "orders", batch.items)


@api.post("/returns", response=BATCH_RESPONSES, tags=["ERP records"], summary="Record returns")
def record_returns(request, batch: ReturnBatch):
    """Each return takes back the points of what was returned: from the pending points, else from the balance."""
    return _record(request, "returns", batch.items)


@api.post("/invoices", response=BATCH_RESPONSES, tags=["ERP records"], summary="Record invoices")
def record_invoices(request, batch: InvoiceBatch):
    """Invoices earn nothing themselves; a payment of one may earn early-payment points."""
    return _record(request, "invoices", batch.items)


@api.post("/payments", response=BATCH_RESPONSES, tags=["ERP records"], summary="Record payments")
def record_payments(request, batch: PaymentBatch):
    """A payment made early enough before its invoice's due date earns early-payment points."""
    return _record(request, "payments", batch.items)


# --- Partners' points ------------------------------------------------------------------------


class Balance(Schema):
    available: int = Field(description="Points the partner can spend now")
    pending: int = Field(description="Points on their way in (orders inside their return window)")
    held: int = Field(description="Points held by open redemptions")


class Entry(Schema):
    key: str = Field(description="The ledger entry's id")
    effective_at: datetime
    code: str = Field(description="Why points moved: order, clawback, early_payment, redemption...")
    reason: str
    points: int = Field(description="Signed as the partner sees it: positive in, negative out")
    phase: str = Field(description="posted, pending, post_pending (pending points released) or void_pending")
    breakdown: str = Field("", description="How the points were worked out, where the entry says")

    @staticmethod
    def resolve_breakdown(transfer) -> str:
        return (transfer.details or {}).get("breakdown", "")


class EntriesPage(Schema):
    limit: int = Field(100, ge=1, le=1_000)
    offset: int = Field(0, ge=0, le=10_000_000)  # no partner has ten million entries; PostgreSQL's bigint ends too


class EntriesPagination(LimitOffsetPagination):
    Input = EntriesPage


def _partner(external_id: str) -> Partner:
    partner = Partner.objects.filter(external_id=external_id).first()
    if partner is None:
        raise Http404(f"No partner has the ERP id {external_id!r}.")
    return partner


@api.get(
    "/partners/{path:external_id}/balance",
    response={200: Balance, 401: Problem, 404: Problem},
    tags=["Partners"],
    summary="A partner's balance",
)
def partner_balance(request, external_id: str):
    return balance_of(_partner(external_id))


@api.get(
    "/partners/{path:external_id}/entries",
    response={200: list[Entry], 401: Problem, 404: Problem, 422: Problem},
    tags=["Partners"],
    summary="A partner's ledger entries",
)
@paginate(EntriesPagination)
def partner_entries(request, external_id: str):
    """Newest first."""
    return transfers_of(_partner(external_id))


# --- URLs: ninja's, with problem documents for what the API does not have ---------------------


def unknown_path(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    docs = reverse(f"{api.urls_namespace}:openapi-view")
    return problem(404, f"This API has no {request.path}; {docs} lists what it has.")


def _problem_when_not_allowed(view):
    """Ninja answers a method a path does not take with a plain-text 405; answer a problem instead."""

    @wraps(view)  # keeps ninja's csrf_exempt: the API is signed with keys, not cookies
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and response.get("Content-Type") != PROBLEM_JSON:
            allowed = response["Allow"]
            response = problem(405, f"{request.method} is not allowed here; use {allowed}.")
            response["Allow"] = allowed
        return response

    return wrapped


def _urlpatterns():
    patterns, _app_name, _namespace = api.urls
    routes = [
        URLPattern(p.pattern, _problem_when_not_allowed(p.callback), p.default_args, p.name)
        for p in patterns
        if p.name != "api-root"
    ]
    # The root keeps its name: ninja reverses it to learn where the API is mounted.
    return [*routes, path("", unknown_path, name="api-root"), re_path(r"", unknown_path)]


app_name = api.urls_namespace
urlpatterns = _urlpatterns()
