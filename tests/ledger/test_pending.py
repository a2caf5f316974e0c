"""A pending transfer is posted (whole or in part) or voided, exactly once."""

import threading

import pytest
from django.db import connection, transaction

from portal.ledger import services
from portal.ledger.models import PROGRAMME_SHARDS, Code, Transfer
from portal.ledger.queries import Balance, balance_of, discrepancies
from tests.factories import PartnerFactory
from tests.ledger.racing import race, wait_until_a_backend_waits_for_a_lock


def order_points(partner, key, amount, pending=False):
    return services.earning(partner.id, key=key, amount=amount, code=Code.ORDER, reason="Order", pending=pending)


def hold(partner, key, amount):
    return services.spending(partner.id, key=key, amount=amount, code=Code.REDEMPTION, reason="Gift card", hold=True)


def post(key, pending_key, amount=None):
    return services.resolution(key, pending_key=pending_key, code=Code.ORDER, reason="Settled", amount=amount)


def void(key, pending_key, amount=None):
    return services.resolution(key, pending_key=pending_key, code=Code.ORDER, reason="Undone", void=True, amount=amount)


def outcome(request):
    (result,) = services.post_transfers([request])
    return result.status if result.ok else result.error.code


@pytest.mark.django_db
def test_pending_order_points_count_as_pending_until_posted(partner):
    services.post_transfer(order_points(partner, "order-1", 100, pending=True))
    assert balance_of(partner) == Balance(available=0, pending=100, held=0)

    services.post_transfer(post("order-1-posted", "order-1"))

    assert balance_of(partner) == Balance(available=100, pending=0, held=0)
    assert discrepancies() == []


@pytest.mark.django_db
def test_voided_pending_points_never_arrive(partner):
    services.post_transfer(order_points(partner, "order-1", 100, pending=True))

    services.post_transfer(void("order-1-returned", "order-1"))

    assert balance_of(partner) == Balance(available=0, pending=0, held=0)
    assert discrepancies() == []


@pytest.mark.django_db
def test_a_posted_pending_transfer_cannot_be_posted_or_voided_again(partner):
    services.post_transfer(order_points(partner, "order-1", 100, pending=True))
    services.post_transfer(post("order-1-posted", "order-1"))

    assert outcome(post("order-1-posted-again", "order-1")) == "pending_transfer_already_posted"
    assert outcome(void("order-1-returned", "order-1")) == "pending_transfer_already_posted"
    assert balance_of(partner) == Balance(available=100, pending=0, held=0)


@pytest.mark.django_db
def test_a_voided_pending_transfer_cannot_be_voided_or_posted_again(partner):
    services.post_transfer(order_points(partner, "order-1", 100, pending=True))
    services.post_transfer(void("order-1-returned", "order-1"))

    assert outcome(void("order-1-returned-again", "order-1")) == "pending_transfer_already_voided"
    assert outcome(post("order-1-posted", "order-1")) == "pending_transfer_already_voided"
    assert balance_of(partner) == Balance(available=0, pending=0, held=0)


@pytest.mark.django_db
def test_retrying_a_resolution_by_its_key_is_harmless(partner):
    services.post_transfer(order_points(partner, "order-1", 100, pending=True))
    services.post_transfer(post("order-1-posted", "order-1", amount=60))

    assert outcome(post("order-1-posted", "order-1", amount=60)) == "exists"
    assert outcome(post("order-1-posted", "order-1", amount=70)) == "exists_with_different_fields"
    assert balance_of(partner).available == 60


@pytest.mark.django_db
def test_a_partial_post_of_pending_points_releases_the_rest(partner):
    services.post_transfer(order_points(partner, "order-1", 100, pending=True))

    services.post_transfer(post("order-1-posted", "order-1", amount=60))

    assert balance_of(partner) == Balance(available=60, pending=0, held=0)
    assert discrepancies() == []


@pytest.mark.django_db
def test_a_partial_post_of_a_hold_spends_part_and_gives_back_the_rest(partner):
    services.post_transfer(order_points(partner, "order-1", 300))
    services.post_transfer(hold(partner, "redemption-1", 100))
    assert balance_of(partner) == Balance(available=200, pending=0, held=100)

    services.post_transfer(post("redemption-1-approved", "redemption-1", amount=40))

    assert balance_of(partner) == Balance(available=260, pending=0, held=0)
    assert discrepancies() == []


@pytest.mark.django_db
def test_posting_more_than_is_pending_is_refused(partner):
    services.post_transfer(order_points(partner, "order-1", 100, pending=True))

    assert outcome(post("order-1-posted", "order-1", amount=101)) == "pending_amount_exceeded"
    assert balance_of(partner) == Balance(available=0, pending=100, held=0)


@pytest.mark.django_db
def test_a_void_must_release_the_whole_pending_amount(partner):
    services.post_transfer(order_points(partner, "order-1", 100, pending=True))

    assert outcome(void("order-1-returned", "order-1", amount=40)) == "pending_amount_exceeded"
    assert outcome(void("order-1-returned", "order-1", amount=100)) == "created"


@pytest.mark.django_db
def test_only_an_existing_pending_transfer_can_be_resolved(partner):
    services.post_transfer(order_points(partner, "order-1", 100))

    assert outcome(post("x-posted", "no-such-transfer")) == "pending_transfer_not_found"
    assert outcome(post("order-1-posted", "order-1")) == "pending_transfer_not_pending"


@pytest.mark.django_db
def test_a_pending_transfer_can_be_created_and_resolved_in_one_batch(partner):
    results = services.post_transfers(
        [order_points(partner, "order-1", 100, pending=True), post("order-1-posted", "order-1", amount=30)]
    )

    assert [r.status for r in results] == ["created", "created"]
    assert balance_of(partner) == Balance(available=30, pending=0, held=0)
    assert discrepancies() == []


@pytest.mark.django_db(transaction=True)
def test_posts_and_voids_racing_for_one_hold_resolve_it_once(partner):
    services.post_transfer(order_points(partner, "order-1", 500))
    services.post_transfer(hold(partner, "redemption-1", 200))
    attempts = [post(f"approve-{i}", "redemption-1") for i in range(4)]
    attempts += [void(f"cancel-{i}", "redemption-1") for i in range(4)]

    results = race(*[lambda request=request: services.post_transfers([request])[0] for request in attempts])

    (winner,) = [r for r in results if r.status == "created"]
    posted = winner.key.startswith("approve")
    expected_refusal = "pending_transfer_already_posted" if posted else "pending_transfer_already_voided"
    assert sorted(r.error.code for r in results if r is not winner) == [expected_refusal] * 7
    assert Transfer.objects.filter(pending__key="redemption-1").count() == 1
    assert balance_of(partner) == Balance(available=300 if posted else 500, pending=0, held=0)
    assert discrepancies() == []


@pytest.mark.django_db(transaction=True)
def test_a_resolution_posted_while_its_pending_transfer_commits_is_applied_once():
    """The resolution first looks before the pending transfer exists and finds it only under the locks.

    The creator holds its transaction open while the resolver's batch waits for
    the issued account (it also posts another partner's order points); when the
    creator commits, the resolver finds a pending transfer whose partner
    account it has not locked, and must lock it before posting.
    """
    partner = PartnerFactory()
    other = PartnerFactory()
    while other.id % PROGRAMME_SHARDS != partner.id % PROGRAMME_SHARDS:
        other = PartnerFactory()  # the two must share the issued account's row, so the resolver waits on it
    services.post_transfer(order_points(other, "warm-up", 1))  # opens the issued account
    created, release = threading.Event(), threading.Event()

    def create_pending():
        try:
            with transaction.atomic():
                services.post_transfers([order_points(partner, "order-1", 100, pending=True)])
                created.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    def resolve():
        try:
            return services.post_transfers([post("order-1-posted", "order-1"), order_points(other, "order-2", 5)])
        finally:
            connection.close()

    creator = threading.Thread(target=create_pending)
    creator.start()
    assert created.wait(timeout=30)
    outcome_of_resolver: list = []
    resolver = threading.Thread(target=lambda: outcome_of_resolver.append(_capture(resolve)))
    resolver.start()
    wait_until_a_backend_waits_for_a_lock()
    release.set()
    creator.join(timeout=30)
    resolver.join(timeout=30)

    (results,) = outcome_of_resolver
    assert not isinstance(results, BaseException), results
    assert [r.status for r in results] == ["created", "created"]
    assert balance_of(partner) == Balance(available=100, pending=0, held=0)
    assert discrepancies() == []


def _capture(call):
    try:
        return call()
    except Exception as error:
        return error
