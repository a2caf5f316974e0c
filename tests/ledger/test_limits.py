"""A partner's points stop at zero, except when a clawback takes back what was given."""

import pytest
from django.core.management import call_command

from portal.ledger import services
from portal.ledger.errors import InsufficientPoints
from portal.ledger.models import Code, Transfer
from portal.ledger.queries import Balance, balance_of, discrepancies
from tests.ledger.racing import race


def order_points(partner, key, amount):
    return services.earning(partner.id, key=key, amount=amount, code=Code.ORDER, reason="Order")


def redeem(partner, key, amount, hold=False):
    return services.spending(partner.id, key=key, amount=amount, code=Code.REDEMPTION, reason="Gift card", hold=hold)


def clawback(partner, key, amount):
    return services.spending(partner.id, key=key, amount=amount, code=Code.CLAWBACK, reason="Order returned")


def outcome(request):
    (result,) = services.post_transfers([request])
    return result.status if result.ok else result.error.code


@pytest.mark.django_db
def test_a_redemption_cannot_take_a_partner_below_zero(partner):
    services.post_transfer(order_points(partner, "order-1", 100))

    (refused,) = services.post_transfers([redeem(partner, "redemption-1", 101)])

    assert isinstance(refused.error, InsufficientPoints)
    assert refused.error.data == {"available": 100, "amount": 101}
    assert outcome(redeem(partner, "redemption-2", 100)) == "created"
    assert balance_of(partner).available == 0


@pytest.mark.django_db
@pytest.mark.parametrize("code", [Code.REDEMPTION, Code.EXPIRY, Code.ADJUSTMENT])
def test_every_debit_but_a_clawback_stops_at_zero(partner, code):
    services.post_transfer(order_points(partner, "order-1", 100))

    spend = services.spending(partner.id, key="spend-1", amount=101, code=code, reason="Too much")

    assert outcome(spend) == "exceeds_available"
    assert balance_of(partner).available == 100


@pytest.mark.django_db
def test_a_hold_cannot_take_a_partner_below_zero_and_held_points_cannot_be_spent_again(partner):
    services.post_transfer(order_points(partner, "order-1", 100))

    assert outcome(redeem(partner, "redemption-1", 101, hold=True)) == "exceeds_available"
    assert outcome(redeem(partner, "redemption-2", 80, hold=True)) == "created"
    assert outcome(redeem(partner, "redemption-3", 30)) == "exceeds_available"
    assert balance_of(partner) == Balance(available=20, pending=0, held=80)


@pytest.mark.django_db
def test_pending_points_cannot_be_redeemed_before_they_are_posted(partner):
    services.post_transfer(services.earning(partner.id, key="o", amount=100, code=Code.ORDER, reason="O", pending=True))

    assert outcome(redeem(partner, "redemption-1", 1)) == "exceeds_available"


@pytest.mark.django_db
def test_a_clawback_may_take_a_partner_below_zero_and_redemptions_wait_until_it_is_earned_back(partner):
    services.post_transfer(order_points(partner, "order-1", 100))
    services.post_transfer(redeem(partner, "redemption-1", 80))

    assert outcome(clawback(partner, "return-1", 100)) == "created"
    assert balance_of(partner).available == -80
    assert outcome(redeem(partner, "redemption-2", 1)) == "exceeds_available"

    services.post_transfer(order_points(partner, "order-2", 80))
    assert balance_of(partner).available == 0
    assert outcome(redeem(partner, "redemption-3", 1)) == "exceeds_available"

    services.post_transfer(order_points(partner, "order-3", 10))
    assert outcome(redeem(partner, "redemption-4", 10)) == "created"
    assert balance_of(partner).available == 0
    assert discrepancies() == []


@pytest.mark.django_db
def test_within_one_batch_each_redemption_sees_the_ones_before_it(partner):
    results = services.post_transfers(
        [order_points(partner, "order-1", 100)] + [redeem(partner, f"redemption-{i}", 40) for i in range(3)]
    )

    assert [r.status for r in results] == ["created", "created", "created", "failed"]
    assert balance_of(partner).available == 20


@pytest.mark.django_db(transaction=True)
def test_sixteen_threads_redeeming_at_once_spend_exactly_the_balance_and_never_more(partner):
    services.post_transfer(order_points(partner, "order-1", 1000))
    # Half take the points at once, half hold them for approval; 16 x 100 asks for more than there is.
    attempts = [redeem(partner, f"redemption-{i}", 100, hold=i % 2 == 1) for i in range(16)]

    results = race(*[lambda request=request: services.post_transfers([request])[0] for request in attempts])

    created = [r for r in results if r.status == "created"]
    assert len(created) == 10
    assert {r.error.code for r in results if not r.ok} == {"exceeds_available"}
    assert sum(t.amount for t in Transfer.objects.filter(key__startswith="redemption-")) == 1000
    held = sum(r.amount for r, result in zip(attempts, results, strict=True) if result.ok and r.phase == "pending")
    assert balance_of(partner) == Balance(available=0, pending=0, held=held)
    assert discrepancies() == []
    call_command("check_ledger")


@pytest.mark.django_db(transaction=True)
def test_threads_redeeming_different_amounts_in_several_rounds_never_overdraw(partner):
    services.post_transfer(order_points(partner, "order-1", 1000))
    amounts = [37, 50, 91, 120, 13, 250, 64, 8]

    def redeem_four_times(thread):
        results = []
        for round_ in range(4):
            amount = amounts[(thread + round_) % len(amounts)]
            request = redeem(partner, f"redemption-{thread}-{round_}", amount, hold=(thread + round_) % 3 == 0)
            results.append((amount, services.post_transfers([request])[0]))
        return results

    per_thread = race(*[lambda thread=thread: redeem_four_times(thread) for thread in range(16)])

    spent = sum(amount for results in per_thread for amount, result in results if result.status == "created")
    assert spent <= 1000
    assert spent == sum(t.amount for t in Transfer.objects.filter(key__startswith="redemption-"))
    assert balance_of(partner).available == 1000 - spent >= 0
    assert discrepancies() == []
    call_command("check_ledger")
