"""Random histories of earning, holding, spending and resolving keep the ledger whole, step by step.

A plain-Python model of each partner's balance runs beside the real ledger;
after every step the ledger agrees with the model and with itself. Each
example runs in a savepoint that is rolled back, so every example starts from
an empty ledger with fresh partners.
"""

import uuid
from dataclasses import dataclass, replace

import pytest
from django.db import transaction
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from portal.ledger import services
from portal.ledger.models import CODES_THAT_MAY_OVERDRAW, Code
from portal.ledger.queries import Balance, balance_of, discrepancies
from tests.factories import PartnerFactory

PARTNERS = 3
partners = st.integers(min_value=0, max_value=PARTNERS - 1)
amounts = st.integers(min_value=1, max_value=300)


@dataclass
class Expected:
    """What one partner's balance should be."""

    available: int = 0
    pending: int = 0
    held: int = 0


@dataclass
class Pending:
    partner: int
    amount: int
    incoming: bool  # pending order points, as opposed to a hold on the partner's points
    resolved: str | None = None  # "posted" or "voided"


class LedgerHistory(RuleBasedStateMachine):
    keys = Bundle("keys")  # every key the ledger has accepted, for replays
    pending_keys = Bundle("pending_keys")

    def __init__(self):
        super().__init__()
        self.example = transaction.atomic()
        self.example.__enter__()
        self.partners = [PartnerFactory() for _ in range(PARTNERS)]
        self.expected = [Expected() for _ in range(PARTNERS)]
        self.prefix = uuid.uuid4().hex[:8]
        self.counter = 0
        self.accepted: dict[str, services.TransferRequest] = {}
        self.pendings: dict[str, Pending] = {}
        self.refused: list[services.TransferRequest] = []

    def teardown(self):
        transaction.set_rollback(True)
        self.example.__exit__(None, None, None)

    # --- what the ledger is asked to do ------------------------------------------------

    def new_key(self, what: str) -> str:
        self.counter += 1
        return f"{self.prefix}-{what}-{self.counter}"

    def post(self, request, expected_status="created", expected_error=None):
        (result,) = services.post_transfers([request])
        assert result.status == expected_status, (request, result)
        assert (result.error.code if result.error else None) == expected_error, (request, result)
        if result.status == "created":
            self.accepted[request.key] = request
        return result

    @rule(target=keys, partner=partners, amount=amounts)
    def earn(self, partner, amount):
        request = services.earning(
            self.partners[partner].id, key=self.new_key("order"), amount=amount, code=Code.ORDER, reason="Order"
        )
        self.post(request)
        self.expected[partner].available += amount
        return request.key

    @rule(targets=(keys, pending_keys), partner=partners, amount=amounts)
    def earn_pending(self, partner, amount):
        request = services.earning(
            self.partners[partner].id, key=self.new_key("order"), amount=amount, code=Code.ORDER, reason="Order",
            pending=True,
        )  # fmt: skip
        self.post(request)
        self.expected[partner].pending += amount
        self.pendings[request.key] = Pending(partner, amount, incoming=True)
        return request.key

    @rule(target=keys, partner=partners, amount=amounts, code=st.sampled_from([Code.REDEMPTION, Code.EXPIRY]))
    def spend(self, partner, amount, code):
        request = services.spending(
            self.partners[partner].id, key=self.new_key("spend"), amount=amount, code=code, reason="Spend"
        )
        if not self.can_spend(partner, amount, code):
            self.post(request, "failed", "exceeds_available")
            self.refused.append(request)
            return multiple()
        self.post(request)
        self.expected[partner].available -= amount
        assert balance_of(self.partners[partner]).available >= 0
        return request.key

    @rule(targets=(keys, pending_keys), partner=partners, amount=amounts)
    def hold(self, partner, amount):
        request = services.spending(
            self.partners[partner].id, key=self.new_key("hold"), amount=amount, code=Code.REDEMPTION,
            reason="Redemption awaiting approval", hold=True,
        )  # fmt: skip
        if not self.can_spend(partner, amount):
            self.post(request, "failed", "exceeds_available")
            return multiple()
        self.post(request)
        self.expected[partner].available -= amount
        self.expected[partner].held += amount
        self.pendings[request.key] = Pending(partner, amount, incoming=False)
        assert balance_of(self.partners[partner]).available >= 0
        return request.key

    @rule(target=keys, partner=partners, amount=amounts)
    def claw_back(self, partner, amount):
        request = services.spending(
            self.partners[partner].id, key=self.new_key("return"), amount=amount, code=Code.CLAWBACK, reason="Return"
        )
        self.post(request)  # may leave the partner below zero
        self.expected[partner].available -= amount
        return request.key

    @rule(
        target=keys,
        pending_key=pending_keys,
        how=st.sampled_from(["post", "post part", "void", "void part"]),
        part=st.integers(min_value=1, max_value=320),
    )
    def resolve(self, pending_key, how, part):
        pending = self.pendings[pending_key]
        void = how.startswith("void")
        amount = part if how.endswith("part") else None
        request = services.resolution(
            self.new_key(how.replace(" ", "-")), pending_key=pending_key, code=Code.ORDER, reason="Resolved",
            void=void, amount=amount,
        )  # fmt: skip
        if pending.resolved:
            self.post(request, "failed", f"pending_transfer_already_{pending.resolved}")
            return multiple()
        if amount is not None and (amount > pending.amount or (void and amount != pending.amount)):
            self.post(request, "failed", "pending_amount_exceeded")
            return multiple()
        self.post(request)
        posted = 0 if void else (amount or pending.amount)
        expected = self.expected[pending.partner]
        if pending.incoming:
            expected.pending -= pending.amount
            expected.available += posted
        else:
            expected.held -= pending.amount
            expected.available += pending.amount - posted
        pending.resolved = "voided" if void else "posted"
        return request.key

    @rule(partner=partners, steps=st.lists(st.tuples(st.booleans(), amounts), min_size=2, max_size=6))
    def post_a_batch(self, partner, steps):
        """Earnings and redemptions in one batch: each is checked against the ones before it."""
        requests, expected_statuses = [], []
        partner_id = self.partners[partner].id
        for earns, amount in steps:
            key = self.new_key("batch")
            if earns:
                requests.append(services.earning(partner_id, key=key, amount=amount, code=Code.ORDER, reason="O"))
                self.expected[partner].available += amount
                expected_statuses.append("created")
            else:
                requests.append(services.spending(partner_id, key=key, amount=amount, code=Code.REDEMPTION, reason="R"))
                ok = self.can_spend(partner, amount)
                self.expected[partner].available -= amount if ok else 0
                expected_statuses.append("created" if ok else "failed")
        results = services.post_transfers(requests)
        assert [r.status for r in results] == expected_statuses

    @rule(key=keys)
    def replay(self, key):
        """A retry with the same key and content gives the first result and changes nothing."""
        self.post(self.accepted[key], "exists")

    @rule(key=keys)
    def replay_with_different_content(self, key):
        first = self.accepted[key]
        amount = first.amount if first.amount is not None else self.pendings[first.pending_key].amount
        self.post(replace(first, amount=amount + 1), "failed", "exists_with_different_fields")

    @precondition(lambda self: self.refused)
    @rule(choice=st.integers(min_value=0))
    def retry_a_refused_spend(self, choice):
        """A refused transfer left no trace, so its key is free and a retry is judged afresh."""
        request = self.refused.pop(choice % len(self.refused))
        partner = next(i for i, p in enumerate(self.partners) if p.id == request.debit.partner_id)
        if self.can_spend(partner, request.amount, request.code):
            self.post(request)
            self.expected[partner].available -= request.amount
        else:
            self.post(request, "failed", "exceeds_available")
            self.refused.append(request)

    def can_spend(self, partner, amount, code=Code.REDEMPTION):
        return code in CODES_THAT_MAY_OVERDRAW or self.expected[partner].available >= amount

    # --- what must hold after every step ------------------------------------------------

    @invariant()
    def the_ledger_agrees_with_itself(self):
        assert discrepancies() == []

    @invariant()
    def every_balance_is_what_the_model_expects(self):
        for partner, expected in zip(self.partners, self.expected, strict=True):
            assert balance_of(partner) == Balance(expected.available, expected.pending, expected.held)


@pytest.mark.django_db
def test_random_histories_keep_every_invariant_after_every_step():
    run_state_machine_as_test(
        LedgerHistory,
        settings=settings(max_examples=40, stateful_step_count=20, deadline=None, database=None),
    )
