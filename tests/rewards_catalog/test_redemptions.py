"""Redeeming, deciding and giving back: the points and the stock stay exact through every path."""

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Membership
from portal.ledger.models import Transfer
from portal.ledger.queries import balance_of
from rewards_catalog import services
from rewards_catalog.errors import (
    InvalidRedemption,
    InvalidTransition,
    ItemNotAvailable,
    NotAllowedToDecide,
    NotAllowedToRedeem,
    NotEnoughPoints,
)
from rewards_catalog.models import Item, Redemption
from tests.factories import AccountManagerFactory, ProgrammeAdministratorFactory, audience
from tests.rewards_catalog.factories import GoodsFactory, ItemFactory, colleague, company, gift_card, tier

pytestmark = pytest.mark.django_db

Status = Redemption.Status


def ledger_balances():
    call_command("check_ledger")


@pytest.fixture
def owner():
    return company(1_000)


@pytest.fixture
def manager(owner):
    manager = AccountManagerFactory()
    owner.partner.account_manager = manager
    owner.partner.save(update_fields=["account_manager"])
    return manager


def fresh(obj):
    obj.refresh_from_db()
    return obj


# --- Redeeming -----------------------------------------------------------------------------------------


def test_redeeming_goods_holds_the_points_and_takes_the_stock_at_once(owner):
    item = GoodsFactory(cost_points=150, stock=5)

    redemption = services.redeem(item, member=owner, quantity=2, shipping_address="1 Harbour Road, Haifa")

    assert redemption.status == Status.AWAITING_APPROVAL
    assert redemption.points == 300 and redemption.stock_taken == 2
    assert fresh(item).stock == 3
    balance = balance_of(owner.partner)
    assert (balance.available, balance.held) == (700, 300)
    hold = Transfer.objects.get(key=redemption.hold_key)
    assert (hold.phase, hold.amount, hold.ref_type, hold.ref_id) == ("pending", 300, "redemption", str(redemption.pk))
    assert [(e.from_status, e.to_status) for e in redemption.events.all()] == [("", Status.AWAITING_APPROVAL)]
    ledger_balances()


def test_a_gift_card_with_codes_is_fulfilled_at_once_and_its_points_spent(owner):
    item = gift_card(["GIFT-AAAA-0001", "GIFT-AAAA-0002", "GIFT-AAAA-0003"], cost_points=200)

    redemption = services.redeem(item, member=owner, quantity=2)

    assert redemption.status == Status.FULFILLED
    assert sorted(redemption.codes.values_list("code", flat=True)) == ["GIFT-AAAA-0001", "GIFT-AAAA-0002"]
    balance = balance_of(owner.partner)
    assert (balance.available, balance.held) == (600, 0)
    assert Transfer.objects.get(key=f"{redemption.hold_key}:post").phase == "post_pending"
    ledger_balances()


def test_a_gift_card_whose_pool_is_short_waits_for_approval_and_gets_its_code_when_approved(owner, manager):
    item = gift_card(["ONLY-ONE-CODE-01"])
    waiting = services.redeem(item, member=owner, quantity=2)
    assert waiting.status == Status.AWAITING_APPROVAL and not waiting.codes.exists()

    services.redeem(item, member=owner, quantity=1)  # takes the last code
    approved = services.approve(waiting, acting_user=manager)
    assert approved.status == Status.APPROVED  # still no codes: the manager delivers another way, then fulfils
    assert balance_of(owner.partner).available == 700


@pytest.mark.parametrize("role", [Membership.Role.SALES, Membership.Role.VIEWER])
def test_a_member_whose_role_does_not_redeem_is_refused_and_nothing_moves(owner, role):
    item = GoodsFactory(stock=1)
    salesperson = colleague(owner, role=role)

    with pytest.raises(NotAllowedToRedeem):
        services.redeem(item, member=salesperson, quantity=1, shipping_address="Somewhere 1")

    assert fresh(item).stock == 1 and balance_of(owner.partner).held == 0
    assert not Redemption.objects.exists()


def test_a_suspended_company_cannot_redeem(owner):
    owner.partner.status = owner.partner.Status.SUSPENDED
    owner.partner.save()
    with pytest.raises(ItemNotAvailable) as refused:
        services.redeem(ItemFactory(), member=owner, quantity=1)
    assert refused.value.code == "partner_not_active"


def test_not_enough_points_is_a_clear_refusal_that_leaves_nothing_behind(owner):
    item = GoodsFactory(cost_points=600, stock=3)
    with pytest.raises(NotEnoughPoints) as refused:
        services.redeem(item, member=owner, quantity=2, shipping_address="Somewhere 1")
    assert "1,000 available" in refused.value.messages[0] and "1,200" in refused.value.messages[0]
    assert fresh(item).stock == 3 and not Redemption.objects.exists()
    ledger_balances()


@pytest.mark.parametrize(
    ("fields", "details", "field"),
    [
        ({"kind": Item.Kind.GOODS}, {}, "shipping_address"),
        ({"kind": Item.Kind.DONATION}, {}, "cause"),
        ({"kind": Item.Kind.DONATION, "causes": ["Schools", "Forests"]}, {"cause": "Whales"}, "cause"),
        ({}, {"quantity": 0}, "quantity"),
        ({}, {"quantity": 21}, "quantity"),
    ],
)
def test_what_the_kind_asks_for_is_required(owner, fields, details, field):
    item = ItemFactory(**fields)
    with pytest.raises(InvalidRedemption) as refused:
        services.redeem(item, member=owner, **{"quantity": 1, **details})
    assert field in refused.value.message_dict


def test_a_donation_records_its_cause_and_an_address_is_not_kept_for_it(owner):
    item = ItemFactory(kind=Item.Kind.DONATION, causes=["Schools", "Forests"])
    redemption = services.redeem(item, member=owner, quantity=1, cause="Forests", shipping_address="ignored")
    assert (redemption.cause, redemption.shipping_address) == ("Forests", "")


def test_the_last_units_cannot_be_overtaken(owner):
    item = GoodsFactory(stock=1)
    with pytest.raises(ItemNotAvailable) as refused:
        services.redeem(item, member=owner, quantity=2, shipping_address="Somewhere 1")
    assert refused.value.code == "not_enough_stock"


def test_a_per_partner_limit_counts_this_period_and_not_what_was_given_back(owner, manager):
    item = ItemFactory(limit_per_period=2, limit_period="month")
    first = services.redeem(item, member=owner, quantity=1)
    services.redeem(item, member=owner, quantity=1)
    with pytest.raises(ItemNotAvailable) as refused:
        services.redeem(item, member=owner, quantity=1)
    assert refused.value.code == "period_limit"

    services.reject(first, acting_user=manager, reason="Duplicate")
    services.redeem(item, member=owner, quantity=1)  # the rejected one no longer counts
    other_company = company(500)
    services.redeem(item, member=other_company, quantity=2)  # the limit is per partner


def test_the_same_form_sent_twice_redeems_once(owner):
    import uuid

    key = uuid.uuid4()
    item = GoodsFactory(stock=5)
    first = services.redeem(item, member=owner, quantity=1, shipping_address="A 1", request_key=key)
    second = services.redeem(item, member=owner, quantity=1, shipping_address="A 1", request_key=key)
    assert first.pk == second.pk
    assert fresh(item).stock == 4 and balance_of(owner.partner).held == 100


def test_an_item_that_has_not_started_or_has_ended_is_not_redeemable(owner):
    now = timezone.now()
    later = ItemFactory(active_from=now + timezone.timedelta(days=3))
    over = ItemFactory(active_from=now - timezone.timedelta(days=9), active_until=now - timezone.timedelta(days=1))
    withdrawn = ItemFactory(is_active=False)
    for item, code in [(later, "not_yet"), (over, "ended"), (withdrawn, "item_withdrawn")]:
        with pytest.raises(ItemNotAvailable) as refused:
            services.redeem(item, member=owner, quantity=1)
        assert refused.value.code == code


def test_the_service_refuses_a_partner_outside_the_items_audience_saying_which_limit(owner):
    owner.partner.tags.add("Pioneers")
    pioneers_only = ItemFactory(audience=audience(tags=owner.partner.tags.all()))
    services.redeem(pioneers_only, member=owner, quantity=1)

    outsider = company(1_000)
    with pytest.raises(ItemNotAvailable) as refused:
        services.redeem(pioneers_only, member=outsider, quantity=1)
    assert refused.value.code == "segment"

    for item, code in [
        (ItemFactory(audience=audience(kinds=["distributor"])), "partner_kind"),
        (ItemFactory(audience=audience(regions=["Far away"])), "region"),
        (ItemFactory(tiers=[tier("Gold")]), "tier"),
    ]:
        with pytest.raises(ItemNotAvailable) as refused:
            services.redeem(item, member=owner, quantity=1)
        assert refused.value.code == code


# --- Deciding: each path leaves points and stock exact -----------------------------------------------------


def test_approval_spends_exactly_what_was_held_and_approving_again_changes_nothing(owner, manager):
    item = GoodsFactory(cost_points=250, stock=4)
    redemption = services.redeem(item, member=owner, quantity=2, shipping_address="Dock 4, Ashdod")

    services.approve(redemption, acting_user=manager, note="Ships Monday")
    services.approve(redemption, acting_user=manager)

    redemption.refresh_from_db()
    assert redemption.status == Status.APPROVED and redemption.decided_by == manager
    balance = balance_of(owner.partner)
    assert (balance.available, balance.held) == (500, 0)
    assert fresh(item).stock == 2
    assert Transfer.objects.filter(ref_type="redemption", ref_id=str(redemption.pk)).count() == 2
    assert redemption.events.count() == 2
    ledger_balances()


@pytest.mark.parametrize("how", ["reject", "cancel"])
def test_rejecting_or_cancelling_gives_back_exactly_the_points_and_stock_it_held(owner, manager, how):
    item = GoodsFactory(cost_points=250, stock=4)
    redemption = services.redeem(item, member=owner, quantity=3, shipping_address="Dock 4, Ashdod")

    if how == "reject":
        services.reject(redemption, acting_user=manager, reason="Out of season")
        services.reject(redemption, acting_user=manager, reason="Again")  # changes nothing
    else:
        services.cancel(redemption, member=colleague(owner), reason="Ordered by mistake")
        services.cancel(redemption, member=owner)

    redemption.refresh_from_db()
    assert redemption.status == (Status.REJECTED if how == "reject" else Status.CANCELLED)
    balance = balance_of(owner.partner)
    assert (balance.available, balance.held) == (1_000, 0)
    assert fresh(item).stock == 4
    assert Transfer.objects.get(key=f"{redemption.hold_key}:void").amount == 750
    ledger_balances()


def test_stock_changed_meanwhile_is_given_back_on_top_of_it(owner, manager):
    item = GoodsFactory(stock=2)
    redemption = services.redeem(item, member=owner, quantity=1, shipping_address="A 1")
    Item.objects.filter(pk=item.pk).update(stock=10)  # a manager restocked
    services.reject(redemption, acting_user=manager, reason="Damaged")
    assert fresh(item).stock == 11


def test_a_decided_redemption_cannot_be_decided_otherwise(owner, manager):
    redemption = services.redeem(GoodsFactory(), member=owner, quantity=1, shipping_address="A 1")
    services.approve(redemption, acting_user=manager)
    with pytest.raises(InvalidTransition):
        services.reject(redemption, acting_user=manager, reason="Changed my mind")
    with pytest.raises(InvalidTransition):
        services.cancel(redemption, member=owner)

    rejected = services.redeem(GoodsFactory(), member=owner, quantity=1, shipping_address="A 1")
    services.reject(rejected, acting_user=manager, reason="No")
    with pytest.raises(InvalidTransition):
        services.approve(rejected, acting_user=manager)
    assert balance_of(owner.partner).held == 0
    ledger_balances()


def test_shipping_then_fulfilling_records_the_tracking_note(owner, manager):
    redemption = services.redeem(GoodsFactory(), member=owner, quantity=1, shipping_address="A 1")
    with pytest.raises(InvalidTransition):
        services.mark_shipped(redemption, acting_user=manager, tracking_note="Too early")
    services.approve(redemption, acting_user=manager)
    with pytest.raises(InvalidRedemption):
        services.mark_shipped(redemption, acting_user=manager, tracking_note=" ")
    services.mark_shipped(redemption, acting_user=manager, tracking_note="UPS 1Z999")
    services.mark_fulfilled(redemption, acting_user=manager, tracking_note="Signed for by Dana")
    redemption.refresh_from_db()
    assert redemption.status == Status.FULFILLED and redemption.tracking_note == "Signed for by Dana"
    history = [(e.from_status, e.to_status, e.actor_id) for e in redemption.events.all()]
    assert history == [
        ("", Status.AWAITING_APPROVAL, owner.user_id),
        (Status.AWAITING_APPROVAL, Status.APPROVED, manager.pk),
        (Status.APPROVED, Status.SHIPPED, manager.pk),
        (Status.SHIPPED, Status.FULFILLED, manager.pk),
    ]


def test_only_the_partners_manager_or_an_administrator_decides(owner, manager):
    redemption = services.redeem(GoodsFactory(), member=owner, quantity=1, shipping_address="A 1")
    other_manager = AccountManagerFactory()
    for stranger in (other_manager,):
        with pytest.raises(NotAllowedToDecide):
            services.approve(redemption, acting_user=stranger)
        with pytest.raises(NotAllowedToDecide):
            services.reject(redemption, acting_user=stranger, reason="Not mine")
    services.approve(redemption, acting_user=ProgrammeAdministratorFactory())
    assert fresh(redemption).status == Status.APPROVED


def test_another_companys_member_cannot_cancel(owner):
    redemption = services.redeem(GoodsFactory(), member=owner, quantity=1, shipping_address="A 1")
    with pytest.raises(NotAllowedToRedeem):
        services.cancel(redemption, member=company(10))
    assert fresh(redemption).status == Status.AWAITING_APPROVAL


@pytest.mark.parametrize("role", [Membership.Role.SALES, Membership.Role.VIEWER])
def test_a_colleague_who_may_not_redeem_may_not_cancel_either(owner, role):
    redemption = services.redeem(GoodsFactory(), member=owner, quantity=1, shipping_address="A 1")
    with pytest.raises(NotAllowedToRedeem):
        services.cancel(redemption, member=colleague(owner, role=role))
    assert fresh(redemption).status == Status.AWAITING_APPROVAL
