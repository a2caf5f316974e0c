"""A transfer's key makes a retry harmless, even when the retries race each other."""

import threading

import pytest
from django.db import connection, transaction

from accounts.models import Partner
from portal.ledger import services
from portal.ledger.models import Code, Transfer
from portal.ledger.queries import Balance, balance_of, discrepancies
from tests.factories import PartnerFactory
from tests.ledger.racing import race, wait_until_a_backend_waits_for_a_lock


def order_points(partner, key, amount=100):
    return services.earning(partner.id, key=key, amount=amount, code=Code.ORDER, reason="Order")


@pytest.mark.django_db
def test_a_key_posted_twice_gives_one_transfer_and_one_change_of_balance(partner):
    (first,) = services.post_transfers([order_points(partner, "order-1")])
    (again,) = services.post_transfers([order_points(partner, "order-1")])

    assert (first.status, again.status) == ("created", "exists")
    assert again.transfer_id == first.transfer_id
    assert Transfer.objects.filter(key="order-1").count() == 1
    assert balance_of(partner).available == 100
    assert discrepancies() == []


@pytest.mark.django_db
def test_a_key_repeated_within_one_batch_is_posted_once(partner):
    results = services.post_transfers([order_points(partner, "order-1"), order_points(partner, "order-1")])

    assert [r.status for r in results] == ["created", "exists"]
    assert results[0].transfer_id == results[1].transfer_id
    assert balance_of(partner).available == 100


@pytest.mark.django_db
def test_post_transfer_returns_the_first_transfer_when_retried(partner):
    first = services.post_transfer(order_points(partner, "order-1"))
    again = services.post_transfer(order_points(partner, "order-1"))

    assert again.pk == first.pk
    assert balance_of(partner).available == 100


@pytest.mark.django_db
@pytest.mark.parametrize(
    "changed",
    [
        {"amount": 150},
        {"code": Code.CAMPAIGN},
        {"to_other_partner": True},
        {"pending": True},
    ],
    ids=["amount", "code", "partner", "phase"],
)
def test_a_key_reused_with_different_content_is_refused_and_changes_nothing(partner, changed):
    other = PartnerFactory()
    services.post_transfers([order_points(partner, "order-1")])
    retry = services.earning(
        (other if changed.get("to_other_partner") else partner).id,
        key="order-1",
        amount=changed.get("amount", 100),
        code=changed.get("code", Code.ORDER),
        reason="Order",
        pending=changed.get("pending", False),
    )

    (result,) = services.post_transfers([retry])

    assert result.status == "failed"
    assert result.error.code == "exists_with_different_fields"
    assert Transfer.objects.filter(key="order-1").count() == 1
    assert balance_of(partner) == Balance(available=100, pending=0, held=0)
    assert balance_of(other).available == 0
    assert discrepancies() == []


@pytest.mark.django_db
def test_a_refused_transfer_leaves_its_key_free_for_a_retry_that_can_succeed(partner):
    redeem = services.spending(partner.id, key="redeem-1", amount=80, code=Code.REDEMPTION, reason="Gift card")
    (refused,) = services.post_transfers([redeem])
    services.post_transfers([order_points(partner, "order-1")])
    (retried,) = services.post_transfers([redeem])

    assert (refused.error.code, retried.status) == ("exceeds_available", "created")
    assert balance_of(partner).available == 20


@pytest.mark.django_db(transaction=True)
def test_eight_threads_posting_the_same_key_at_once_give_one_transfer_and_one_change_of_balance(partner):
    def post():
        return services.post_transfers([order_points(partner, "order-1")])[0]

    results = race(*[post] * 8)

    assert sorted(r.status for r in results) == ["created"] + ["exists"] * 7
    assert len({r.transfer_id for r in results}) == 1
    assert Transfer.objects.filter(key="order-1").count() == 1
    assert balance_of(partner).available == 100
    assert discrepancies() == []


@pytest.mark.django_db(transaction=True)
def test_the_same_key_raced_with_different_content_is_posted_once_and_refused_to_the_others():
    # The two versions touch no account in common (the issued account and one
    # partner; the adjustments account and another), so no account lock
    # orders them: only the unique key can.
    first_partner, second_partner = PartnerFactory(), PartnerFactory()
    order = services.earning(first_partner.id, key="k", amount=100, code=Code.ORDER, reason="Order")
    adjustment = services.earning(second_partner.id, key="k", amount=70, code=Code.ADJUSTMENT, reason="Goodwill")

    def post(request):
        return lambda: services.post_transfers([request])[0]

    results = race(*[post(order), post(adjustment)] * 4)

    winner = next(r for r in results if r.status == "created")
    winning_request = order if results.index(winner) % 2 == 0 else adjustment
    for index, result in enumerate(results):
        if result is winner:
            continue
        same_content = (order if index % 2 == 0 else adjustment) is winning_request
        if same_content:
            assert result.status == "exists"
        else:
            assert (result.status, result.error.code) == ("failed", "exists_with_different_fields")
        assert result.transfer_id == winner.transfer_id
    assert Transfer.objects.filter(key="k").count() == 1
    balances = (balance_of(first_partner).available, balance_of(second_partner).available)
    assert balances == ((100, 0) if winning_request is order else (0, 70))
    assert discrepancies() == []


def _lose_a_key_race_inside_a_transaction(*, savepoint: bool):
    """The caller writes, then posts key "k" while another transaction holds its own version of "k" uncommitted,
    which commits once the caller waits for it. The two versions touch no account in common, so nothing but the
    unique key orders them: the caller's batch reads before the other commits and finds the key taken when it
    inserts. Returns the caller's result or error, and its two partners."""
    first_partner, second_partner = PartnerFactory(), PartnerFactory()
    order = services.earning(first_partner.id, key="k", amount=100, code=Code.ORDER, reason="Order")
    adjustment = services.earning(second_partner.id, key="k", amount=70, code=Code.ADJUSTMENT, reason="Goodwill")
    holding, release = threading.Event(), threading.Event()

    def post_first_and_hold():
        try:
            with transaction.atomic():
                services.post_transfers([order])
                holding.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    def release_once_the_caller_waits():
        try:
            wait_until_a_backend_waits_for_a_lock()
        finally:
            release.set()
            connection.close()

    first = threading.Thread(target=post_first_and_hold)
    first.start()
    assert holding.wait(timeout=30)
    releaser = threading.Thread(target=release_once_the_caller_waits)
    releaser.start()
    try:
        with transaction.atomic():
            Partner.objects.filter(pk=second_partner.pk).update(name="Written before the ledger")
            (outcome,) = services.post_transfers([adjustment], savepoint=savepoint)
    except services.KeyRace as race_lost:
        outcome = race_lost
    finally:
        release.set()
        first.join(timeout=30)
        releaser.join(timeout=30)
    return outcome, first_partner, second_partner


@pytest.mark.django_db(transaction=True)
def test_a_batch_that_loses_a_key_race_inside_the_callers_transaction_is_retried_alone():
    """The batch is undone to its savepoint and tried again; what the caller wrote before it stays."""
    result, first_partner, second_partner = _lose_a_key_race_inside_a_transaction(savepoint=True)

    assert (result.status, result.error.code) == ("failed", "exists_with_different_fields")
    assert result.transfer_id == Transfer.objects.get(key="k").id
    assert Partner.objects.get(pk=second_partner.pk).name == "Written before the ledger"
    assert (balance_of(first_partner).available, balance_of(second_partner).available) == (100, 0)
    assert discrepancies() == []


@pytest.mark.django_db(transaction=True)
def test_without_a_savepoint_a_lost_key_race_rolls_the_callers_whole_transaction_back():
    """For a caller whose transaction is all or nothing: the race is its to retry, and nothing half-done stays."""
    outcome, first_partner, second_partner = _lose_a_key_race_inside_a_transaction(savepoint=False)

    assert isinstance(outcome, services.KeyRace)
    assert Partner.objects.get(pk=second_partner.pk).name != "Written before the ledger"
    assert Transfer.objects.filter(key="k").count() == 1
    assert (balance_of(first_partner).available, balance_of(second_partner).available) == (100, 0)
    assert discrepancies() == []
