"""Redemptions racing on PostgreSQL: each call in its own thread and connection, released at the same moment.

Two members of one company go for the last unit or the last points; many go for the last gift-card codes
(through two items that share a pool, so the item lock does not line them up); a manager's decisions race
each other. Exactly the right ones succeed, the others get a clear refusal, and the stock, the balances
and the ledger (check_ledger) stay exact.

These tests commit, so the database is emptied after each; tests/conftest.py puts the CMS groups back.
"""

import pytest
from django.core.management import call_command

from portal.ledger.models import Transfer
from portal.ledger.queries import balance_of
from rewards_catalog import services
from rewards_catalog.errors import InvalidTransition, ItemNotAvailable, NotEnoughPoints
from rewards_catalog.models import GiftCode, Item, Redemption
from tests.factories import AccountManagerFactory
from tests.ledger.racing import race
from tests.rewards_catalog.factories import GoodsFactory, ItemFactory, colleague, company, gift_card

pytestmark = pytest.mark.django_db(transaction=True)

Status = Redemption.Status


def outcome(call):
    """The call's result, or the refusal it raised (anything else fails the test)."""

    def run():
        try:
            return call()
        except (ItemNotAvailable, NotEnoughPoints, InvalidTransition) as refusal:
            return refusal

    return run


def split(results):
    done = [r for r in results if isinstance(r, Redemption)]
    refused = [r for r in results if not isinstance(r, Redemption)]
    return done, refused


def test_two_members_go_for_the_last_unit_and_exactly_one_gets_it():
    owner = company(1_000)
    purchaser = colleague(owner)
    item = GoodsFactory(cost_points=300, stock=1)

    done, refused = split(
        race(
            *(
                outcome(lambda m=m: services.redeem(item, member=m, quantity=1, shipping_address="Dock 4"))
                for m in (owner, purchaser)
            )
        )
    )

    assert len(done) == 1 and len(refused) == 1
    assert isinstance(refused[0], ItemNotAvailable) and refused[0].messages == ["Sold out."]
    assert Item.objects.get(pk=item.pk).stock == 0
    balance = balance_of(owner.partner)
    assert (balance.available, balance.held) == (700, 300)
    assert Redemption.objects.count() == 1
    call_command("check_ledger")


def test_two_members_go_for_the_last_points_and_exactly_one_spends_them():
    owner = company(1_000)
    purchaser = colleague(owner)
    first, second = ItemFactory(cost_points=800), ItemFactory(cost_points=700)

    done, refused = split(
        race(
            outcome(lambda: services.redeem(first, member=owner, quantity=1)),
            outcome(lambda: services.redeem(second, member=purchaser, quantity=1)),
        )
    )

    assert len(done) == 1 and len(refused) == 1
    assert isinstance(refused[0], NotEnoughPoints)
    left = 1_000 - done[0].points
    assert refused[0].messages[0].startswith(f"Not enough points: your company has {left} available")
    balance = balance_of(owner.partner)
    assert balance.held == done[0].points and balance.available == 1_000 - done[0].points
    assert Redemption.objects.count() == 1
    call_command("check_ledger")


def test_the_same_gift_card_code_is_never_given_twice():
    codes = [f"RACE-CODE-{n:04d}" for n in range(5)]
    one = gift_card(codes, cost_points=10)
    # A second item drawing from the same pool: the two items' locks do not serialise the takers.
    other = ItemFactory(kind=Item.Kind.GIFT_CARD, code_pool=one.code_pool, cost_points=10)
    members = [company(100) for _ in range(8)]

    results = race(
        *(
            outcome(lambda m=m, item=(one, other)[n % 2]: services.redeem(item, member=m, quantity=1))
            for n, m in enumerate(members)
        )
    )

    done, refused = split(results)
    assert refused == [] and len(done) == 8
    fulfilled = [r for r in done if Redemption.objects.get(pk=r.pk).status == Status.FULFILLED]
    assert len(fulfilled) == 5  # one code each; the three others wait for codes and approval
    given = list(GiftCode.objects.filter(redemption__isnull=False).values_list("code", "redemption_id"))
    assert sorted(code for code, _ in given) == codes
    assert len({redemption for _, redemption in given}) == 5
    call_command("check_ledger")


def test_approving_twice_at_once_spends_once():
    owner = company(1_000)
    manager = AccountManagerFactory()
    owner.partner.account_manager = manager
    owner.partner.save()
    redemption = services.redeem(GoodsFactory(cost_points=400), member=owner, quantity=1, shipping_address="A 1")

    race(*(outcome(lambda: services.approve(redemption, acting_user=manager)) for _ in range(2)))

    assert Redemption.objects.get(pk=redemption.pk).status == Status.APPROVED
    assert Transfer.objects.filter(key__startswith=redemption.hold_key).count() == 2  # the hold and one post
    assert balance_of(owner.partner).available == 600
    call_command("check_ledger")


def test_approval_racing_a_cancellation_leaves_exactly_one_of_them():
    owner = company(1_000)
    manager = AccountManagerFactory()
    owner.partner.account_manager = manager
    owner.partner.save()
    item = GoodsFactory(cost_points=400, stock=3)
    redemption = services.redeem(item, member=owner, quantity=2, shipping_address="A 1")

    results = race(
        outcome(lambda: services.approve(redemption, acting_user=manager)),
        outcome(lambda: services.cancel(redemption, member=owner)),
    )

    assert sum(isinstance(r, InvalidTransition) for r in results) == 1
    final = Redemption.objects.get(pk=redemption.pk)
    balance = balance_of(owner.partner)
    stock = Item.objects.get(pk=item.pk).stock
    if final.status == Status.APPROVED:
        assert (balance.available, balance.held, stock) == (200, 0, 1)
    else:
        assert final.status == Status.CANCELLED
        assert (balance.available, balance.held, stock) == (1_000, 0, 3)
    call_command("check_ledger")
