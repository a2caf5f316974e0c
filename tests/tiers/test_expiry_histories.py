"""Random histories of earning, pending points, spending, returns and time passing, with expiry runs.

A plain-Python model keeps each lot of points (what became available on which day) and spends and expires
them oldest first, event by event. After every step the ledger's expiries agree with the model's, so no
point expires twice or younger than the setting, what expired and was spent never exceeds what was earned,
and the ledger agrees with itself (``check_ledger``'s invariants).
"""

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from portal.ledger import services as ledger
from portal.ledger.models import Code, Transfer
from portal.ledger.queries import balance_of, discrepancies
from portal.tiers import rules, services
from portal.tiers.models import TierSettings
from tests.factories import PartnerFactory
from tests.tiers.conftest import at

MONTHS = 3
amounts = st.integers(min_value=1, max_value=500)


@dataclass
class Lot:
    available_on: date
    left: int


@dataclass
class Model:
    lots: list[Lot] = field(default_factory=list)
    earned: int = 0
    spent: int = 0
    expired: int = 0

    @property
    def balance(self) -> int:
        return sum(lot.left for lot in self.lots)

    def take(self, points: int) -> None:
        for lot in self.lots:
            used = min(lot.left, points)
            lot.left -= used
            points -= used
        assert points == 0

    def expire(self, today: date) -> int:
        due = 0
        for lot in self.lots:
            if rules.add_months(lot.available_on, MONTHS) <= today:
                due, lot.left = due + lot.left, 0
        self.expired += due
        return due


class ExpiryHistory(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.example = transaction.atomic()
        self.example.__enter__()
        self.partner = PartnerFactory()
        self.model = Model()
        self.today = date(2025, 1, 1)
        self.prefix = uuid.uuid4().hex[:8]
        self.counter = 0
        self.waiting: list[tuple[str, int]] = []  # pending order points, by key

    def teardown(self):
        transaction.set_rollback(True)
        self.example.__exit__(None, None, None)

    def key(self, what: str) -> str:
        self.counter += 1
        return f"{self.prefix}-{what}-{self.counter}"

    @rule(points=amounts)
    def earn(self, points):
        ledger.post_transfer(
            ledger.earning(self.partner.pk, key=self.key("earn"), amount=points, code=Code.ORDER, reason="earned",
                           effective_at=at(self.today))
        )  # fmt: skip
        self.model.lots.append(Lot(self.today, points))
        self.model.earned += points

    @rule(points=amounts)
    def earn_pending(self, points):
        key = self.key("order")
        ledger.post_transfer(
            ledger.earning(self.partner.pk, key=key, amount=points, code=Code.ORDER, reason="order", pending=True,
                           effective_at=at(self.today))
        )  # fmt: skip
        self.waiting.append((key, points))

    @precondition(lambda self: self.waiting)
    @rule(void=st.booleans())
    def resolve_pending(self, void):
        key, points = self.waiting.pop(0)
        ledger.post_transfer(
            ledger.resolution(f"{key}:done", pending_key=key, code=Code.ORDER, reason="window over", void=void,
                              effective_at=at(self.today))
        )  # fmt: skip
        if not void:  # a pending point starts to age when it becomes available
            self.model.lots.append(Lot(self.today, points))
            self.model.earned += points

    @precondition(lambda self: self.model.balance > 0)
    @rule(share=st.floats(min_value=0.01, max_value=1), code=st.sampled_from([Code.REDEMPTION, Code.CLAWBACK]))
    def spend(self, share, code):
        points = max(1, int(self.model.balance * share))
        ledger.post_transfer(
            ledger.spending(self.partner.pk, key=self.key("spend"), amount=points, code=code, reason="spent",
                            effective_at=at(self.today))
        )  # fmt: skip
        self.model.take(points)
        self.model.spent += points

    @rule(days=st.integers(min_value=1, max_value=70))
    def time_passes(self, days):
        self.today += timedelta(days=days)

    @rule(twice=st.booleans())
    def expiry_run(self, twice):
        expected = self.model.expire(self.today)
        result = services.run_expiry([self.partner.pk], today=self.today)
        assert result.expired_points == expected
        if twice:
            assert services.run_expiry([self.partner.pk], today=self.today).expired_points == 0

    @invariant()
    def agrees_with_the_model_and_itself(self):
        expired = sum(
            Transfer.objects.filter(code=Code.EXPIRY, debit_account__partner=self.partner).values_list(
                "amount", flat=True
            )
        )
        assert expired == self.model.expired
        assert expired + self.model.spent <= self.model.earned
        assert balance_of(self.partner).available == self.model.balance
        assert discrepancies() == []


@pytest.mark.django_db
def test_random_histories_expire_each_point_once_and_never_too_young():
    config = TierSettings.load()
    config.expiry_months = MONTHS
    config.save()
    run_state_machine_as_test(
        ExpiryHistory,
        settings=settings(
            max_examples=40, stateful_step_count=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
        ),
    )
