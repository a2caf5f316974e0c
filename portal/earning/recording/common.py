"""What the recorders of every kind share: the answers, the check of raw items, a batch's bookkeeping
(duplicates and conflicts, the one INSERT per table, the one call to the ledger, the reviews), the retry
when a concurrent batch wins a race, and the programme's numbers."""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from django.db import transaction
from pydantic import BaseModel, ValidationError

from accounts.audiences import terms_of, with_terms
from portal.bulk import batch_cursor, insert_rows
from portal.earning import rules
from portal.earning.models import Adjustment, Campaign, EarningSettings
from portal.ledger import services as ledger

MAX_BATCH = 1_000
MAX_MONEY = Decimal("999999999999.99")  # what a money column (14 digits, 2 decimals) holds
MAX_POINTS = 2**63 - 1  # what a points column (bigint) holds


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


@dataclass(frozen=True)
class ItemResult:
    external_id: str
    status: Literal["created", "duplicate", "rejected"]
    points: int | None = None
    errors: tuple[FieldError, ...] = ()
    held_for_review: bool = False  # recorded, but its points wait for a person's approval


def rejected(external_id: str, field: str, message: str) -> ItemResult:
    return ItemResult(external_id, "rejected", errors=(FieldError(field, message),))


# --- Validation of raw items (the API and the CSV import share it) -----------------------


def parse_items(raw_items: Sequence, schema: type[BaseModel]) -> list[BaseModel | ItemResult]:
    """Validate each raw item on its own: a model, or a rejected result naming each bad field."""
    parsed = []
    for raw in raw_items:
        try:
            parsed.append(schema.model_validate(raw))
        except ValidationError as error:
            external_id = str(raw.get("external_id", "")) if isinstance(raw, dict) else ""
            errors = tuple(FieldError(field_path(e["loc"]), e["msg"]) for e in error.errors())
            parsed.append(ItemResult(external_id, "rejected", errors=errors))
    return parsed


def field_path(loc: Sequence) -> str:
    """('lines', 2, 'quantity') -> 'lines[2].quantity'"""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "item"


def fingerprint(item: BaseModel) -> str:
    """The item's content as the schema normalised it (money in cents, moments in UTC), hashed."""
    return hashlib.sha256(item.model_dump_json().encode()).hexdigest()


# --- The programme's numbers, read once per batch ------------------------------------------


@dataclass(frozen=True)
class Programme:
    currency: str
    return_window: timedelta
    rates: rules.Rates
    campaigns: list[rules.CampaignRule]
    review: rules.ReviewLimits

    @property
    def campaigns_ask_tiers(self) -> bool:
        """Whether a campaign's audience is limited to tiers (only then are the partners' tiers read)."""
        return any(c.audience is not None and c.audience.tiers for c in self.campaigns)


def load_programme(placed_from: datetime | None = None, placed_until: datetime | None = None) -> Programme:
    settings = EarningSettings.load()
    campaigns = with_terms(Campaign.objects.all())
    if placed_from and placed_until:
        campaigns = campaigns.filter(starts_at__lte=placed_until, ends_at__gt=placed_from)
    return Programme(
        currency=settings.currency,
        return_window=timedelta(days=settings.return_window_days),
        rates=rates_of(settings, {m.category: m.multiplier for m in settings.category_multipliers.all()}),
        campaigns=[
            rules.CampaignRule(
                name=c.name,
                starts_at=c.starts_at,
                ends_at=c.ends_at,
                audience=terms_of(c.audience),
                categories=frozenset(c.categories),
                skus=frozenset(c.skus),
                multiplier=c.multiplier,
                bonus_points=c.bonus_points,
            )
            for c in campaigns
        ],
        review=rules.ReviewLimits(
            order_above=settings.review_order_above,
            invoice_above=settings.review_invoice_above,
            points_above=settings.review_points_above,
        ),
    )


def rates_of(settings: EarningSettings, category_multipliers: dict[str, Decimal]) -> rules.Rates:
    """The earning rules' numbers, from the programme's settings and its category multipliers."""
    return rules.Rates(
        points_per_unit=settings.points_per_unit,
        category_multipliers=category_multipliers,
        bulk_threshold=settings.bulk_threshold,
        bulk_bonus_points=settings.bulk_bonus_points,
        punch_card_every=settings.punch_card_every,
        punch_card_min_value=settings.punch_card_min_value,
        punch_card_bonus_points=settings.punch_card_bonus_points,
        early_payment_min_days=settings.early_payment_min_days,
        early_payment_points_per_unit=settings.early_payment_points_per_unit,
    )


# --- A batch: one transaction, retried when a concurrent batch wins a race ---------------------


class _Raced(Exception):
    """A concurrent batch recorded one of our ids after we looked: retry, and see it as a duplicate."""


def retrying(work):
    """Run a batch in a transaction of its own, again (up to three times) if a concurrent batch raced it."""
    for attempt in range(3):
        try:
            with transaction.atomic():
                return work()
        except _Raced:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def recorded_before(model, items, *, earns=True, reviewed=False) -> dict[str, tuple[str, int, bool]]:
    """(fingerprint, points, whether they wait for review) of the items already recorded, by ERP id.

    ``earns=False`` for records without points of their own (invoices: their payments earn)."""
    ids = [item.external_id for item in items]
    rows = model.objects.filter(external_id__in=ids)
    if not earns:
        return {e: (f, 0, False) for e, f in rows.values_list("external_id", "fingerprint")}
    if not reviewed:
        return {e: (f, p, False) for e, f, p in rows.values_list("external_id", "fingerprint", "points")}
    return {
        e: (f, p, review == Adjustment.Status.AWAITING_APPROVAL)
        for e, f, p, review in rows.values_list("external_id", "fingerprint", "points", "points_review__status")
    }


RECORD_COLUMNS = [("external_id", "text"), ("fingerprint", "text"), ("received_at", "timestamptz")]


@dataclass
class Batch:
    """A recorder's batch as it is decided, item by item: the answers, in order, and what the new items
    write (their records, their lines, their points and the points that wait for review), written at the
    end by ``write``."""

    known: dict[str, tuple[str, int, bool]]  # what earlier batches recorded (``recorded_before``)
    results: list[ItemResult] = field(default_factory=list)
    records: list[tuple] = field(default_factory=list)  # in the order of the record's columns
    lines: list[tuple] = field(default_factory=list)  # the record's ERP id first, then the line's columns
    transfers: list[ledger.TransferRequest] = field(default_factory=list)
    reviews: list[tuple[str, int, int, str]] = field(default_factory=list)  # (ERP id, partner, points, why)
    created_here: dict[str, tuple[str, int, bool]] = field(default_factory=dict)

    def new(self, items):
        """The items whose id is new, each with its fingerprint. An item whose id was recorded before, or
        earlier in this batch, is answered as it comes: a duplicate, or a conflict if its content differs."""
        for item in items:
            print_ = fingerprint(item)
            first = self.known.get(item.external_id) or self.created_here.get(item.external_id)
            if first is None:
                yield item, print_
                continue
            first_print, points, held = first
            if first_print == print_:
                self.results.append(ItemResult(item.external_id, "duplicate", points=points, held_for_review=held))
            else:
                self.reject(item, "external_id", "conflicts with the first item sent with this id")

    def referred(self, item, field: str, found: dict):
        """What the item's ``field`` names by its ERP id (its partner, order or invoice), from what the batch
        found; None, and the item rejected, if there is no such record."""
        erp_id = getattr(item, field)
        record = found.get(erp_id)
        if record is None:
            self.reject(item, field, f"no {field} has the ERP id {erp_id!r}")
        return record

    def reject(self, item, field: str, message: str) -> None:
        self.results.append(rejected(item.external_id, field, message))

    def created(self, item, print_: str, points: int, *, held: bool = False) -> None:
        """Answer a new item, whose rows the caller has added: the points it gave (none while they wait)."""
        self.created_here[item.external_id] = (print_, points, held)
        self.results.append(ItemResult(item.external_id, "created", points=points, held_for_review=held))

    def write(self, table: str, columns, *, source: str, lines=None, reviewed_as: str = "") -> None:
        """Write the batch: its records and their lines (``lines``: table and columns), one INSERT each;
        its points, one call to the ledger; its reviews (``reviewed_as``: the review's field for the record)."""
        with batch_cursor() as cursor:
            ids = _insert_records(cursor, table, columns, self.records)
            if lines:
                line_table, line_columns = lines
                insert_rows(cursor, line_table, line_columns, [(ids[r], *rest) for r, *rest in self.lines])
        post_points(self.transfers)
        _hold_for_review(
            [
                Adjustment(**{reviewed_as: ids[e]}, partner_id=partner_id, points=points, reason=why)
                for e, partner_id, points, why in self.reviews
            ],
            source,
        )


def _insert_records(cursor, table: str, columns, rows) -> dict[str, int]:
    """Insert a batch's new ERP records; their ids by ERP id. A record another batch inserted since we
    looked means we decided on stale facts: the whole batch is retried, and then sees it as a duplicate."""
    inserted = dict(
        insert_rows(cursor, table, columns, rows, on_conflict="(external_id) DO NOTHING", returning="external_id, id")
    )
    if len(inserted) != len(rows):
        raise _Raced()
    return inserted


def post_points(transfers: list[ledger.TransferRequest]) -> None:
    """Post the batch's points; the ledger refusing an earning is a bug, never a partner's problem."""
    failed = [r for r in ledger.post_transfers(transfers) if r.status == "failed"]
    if failed:
        raise RuntimeError(f"the ledger refused {failed[0].key}: {failed[0].error.message}")


def _hold_for_review(reviews: list[Adjustment], source: str) -> None:
    """Put the points of records above the programme's limits in the account managers' approval queue."""
    if not reviews:
        return
    # adjustments posts reviewed points through portal.earning.services, which imports this module
    from portal.earning.adjustments import notify_deciders

    for review in reviews:
        review.status = Adjustment.Status.AWAITING_APPROVAL
        review.requested_by_label = source[:200]
    created = Adjustment.objects.bulk_create(reviews)
    notify_deciders([review.pk for review in created])  # in the outbox with the records: sent after commit
