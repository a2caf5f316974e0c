"""What the ERP sends, one item at a time: shared by the API and the CSV import.

Validating each item on its own lets a batch apply the good items and name the
bad ones by field, rather than refusing the whole batch for one typo.
"""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from portal.inputs import calendar_day, calendar_moment, printable

CENT = Decimal("0.01")
# Beyond any sane value: no partner buys (or is billed) a hundred million in one line or one invoice.
# Such a figure is an ERP's mistake and is refused, naming the field; plausible but unusually large
# amounts are recorded and wait for a person's review (the earning services' programme limit).
AMOUNT_MAX = Decimal("100000000.00")


def _cents(value: Decimal) -> Decimal:
    """10.5 and 10.50 are the same money: one form, so the same item always has the same fingerprint."""
    return value.quantize(CENT)


def _no_slash(value: str) -> str:
    """An id becomes part of the portal's and the API's addresses, where a '/' would split it in two."""
    if "/" in value:
        raise ValueError("must not contain '/'")
    return value


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


Text = Annotated[str, AfterValidator(printable)]
ExternalId = Annotated[Text, Field(min_length=1, max_length=64, pattern=r"^\S(.*\S)?$"), AfterValidator(_no_slash)]
Money = Annotated[Decimal, Field(ge=0, le=AMOUNT_MAX, decimal_places=2), AfterValidator(_cents)]
PositiveMoney = Annotated[Decimal, Field(gt=0, le=AMOUNT_MAX, decimal_places=2), AfterValidator(_cents)]
Moment = Annotated[AwareDatetime, AfterValidator(calendar_moment), AfterValidator(_utc)]
Day = Annotated[date, AfterValidator(calendar_day)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. USD")]


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class OrderLineIn(Item):
    line_no: int = Field(ge=1, le=100_000)
    sku: Text = Field(min_length=1, max_length=64)
    category: Text = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1, le=10_000_000)
    net_amount: Money


class OrderIn(Item):
    external_id: ExternalId
    partner: ExternalId = Field(description="The partner's ERP id")
    placed_at: Moment
    currency: Currency
    lines: list[OrderLineIn] = Field(min_length=1, max_length=1_000)

    @model_validator(mode="after")
    def _line_numbers_unique(self):
        numbers = [line.line_no for line in self.lines]
        if len(set(numbers)) != len(numbers):
            raise ValueError("line_no must be unique within an order")
        return self


class ReturnLineIn(Item):
    line_no: int = Field(ge=1, le=100_000)
    quantity: int = Field(ge=1, le=10_000_000)


class ReturnIn(Item):
    external_id: ExternalId
    order: ExternalId = Field(description="The returned order's ERP id")
    returned_at: Moment
    lines: list[ReturnLineIn] = Field(min_length=1, max_length=1_000)


class InvoiceIn(Item):
    external_id: ExternalId
    partner: ExternalId = Field(description="The partner's ERP id")
    amount: PositiveMoney
    currency: Currency
    issued_on: Day
    due_on: Day

    @model_validator(mode="after")
    def _due_after_issue(self):
        if self.due_on < self.issued_on:
            raise ValueError("due_on must not be before issued_on")
        return self


class PaymentIn(Item):
    external_id: ExternalId
    invoice: ExternalId = Field(description="The paid invoice's ERP id")
    amount: PositiveMoney
    paid_on: Day
