"""Manual adjustments: posted at once up to the threshold, above it only after a second person approves.

Two account managers, Alpha and Bravo, each hold one partner; an administrator sees both. The
threshold is 1,000 points in these tests.
"""

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.urls import get_resolver, reverse

from accounts.models import Partner, User
from portal.earning.adjustments import (
    AdjustmentAlreadyDecided,
    AdjustmentExceedsBalance,
    InvalidAdjustment,
    NotAllowedToAdjust,
    SecondPersonRequired,
    approve_adjustment,
    reject_adjustment,
    request_adjustment,
)
from portal.earning.models import Adjustment, Campaign, EarningSettings
from portal.ledger import services as ledger
from portal.ledger.models import Code, Transfer
from portal.ledger.queries import balance_of, discrepancies
from tests.factories import (
    AccountManagerFactory,
    PartnerFactory,
    ProgrammeAdministratorFactory,
    StaffFactory,
    audience,
)
from tests.ledger.racing import race

Status = Adjustment.Status
THRESHOLD = 1_000


@pytest.fixture(autouse=True)
def threshold(settings):
    settings.ADJUSTMENT_APPROVAL_THRESHOLD_POINTS = THRESHOLD


@dataclass
class Portfolio:
    manager: User
    partner: Partner


def make_portfolio(word: str) -> Portfolio:
    manager = AccountManagerFactory(email=f"manager-{word.lower()}@vendor.example")
    partner = PartnerFactory(name=f"{word} Trading Ltd", account_manager=manager)
    return Portfolio(manager, partner)


@pytest.fixture
def alpha(db):
    return make_portfolio("Alpha")


@pytest.fixture
def bravo(db):
    return make_portfolio("Bravo")


@pytest.fixture
def administrator(db):
    return ProgrammeAdministratorFactory(email="admin-one@vendor.example")


@pytest.fixture
def second_administrator(db):
    return ProgrammeAdministratorFactory(email="admin-two@vendor.example")


def give(partner: Partner, points: int) -> None:
    """A starting balance, earned the ordinary way."""
    ledger.post_transfer(
        ledger.earning(
            partner.pk, key=f"test-order:{partner.pk}:{points}", amount=points, code=Code.ORDER, reason="Order"
        )
    )


def adjustment_transfers(adjustment: Adjustment):
    return Transfer.objects.filter(ref_type="adjustment", ref_id=str(adjustment.pk))


def available(partner: Partner) -> int:
    return balance_of(partner).available


# --- Requesting ------------------------------------------------------------------------------------


def test_a_small_adjustment_posts_at_once_with_its_reason_and_actor(alpha):
    adjustment = request_adjustment(
        alpha.partner, points=THRESHOLD, reason="Goodwill after a late delivery", acting_user=alpha.manager
    )
    assert adjustment.status == Status.POSTED
    (transfer,) = adjustment_transfers(adjustment)
    assert transfer.key == f"adjustment:{adjustment.pk}"
    assert transfer.code == Code.ADJUSTMENT
    assert transfer.reason == "Adjustment: Goodwill after a late delivery"
    assert transfer.actor == alpha.manager
    assert transfer.amount == THRESHOLD
    assert available(alpha.partner) == THRESHOLD


def test_a_small_negative_adjustment_takes_points_away(alpha):
    give(alpha.partner, 800)
    adjustment = request_adjustment(alpha.partner, points=-300, reason="Duplicate order", acting_user=alpha.manager)
    assert adjustment.status == Status.POSTED
    assert available(alpha.partner) == 500
    assert discrepancies() == []


def test_an_adjustment_above_the_threshold_waits_and_moves_nothing(alpha, mailoutbox):
    adjustment = request_adjustment(alpha.partner, points=-(THRESHOLD + 1), reason="Fraud", acting_user=alpha.manager)
    assert adjustment.status == Status.AWAITING_APPROVAL
    assert not adjustment_transfers(adjustment).exists()
    assert available(alpha.partner) == 0


def test_a_waiting_adjustment_tells_the_people_who_may_approve_it(
    alpha, bravo, administrator, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        request_adjustment(alpha.partner, points=5_000, reason="Trade show", acting_user=alpha.manager)
    assert [mail.to for mail in mailoutbox] == [[administrator.email]]
    assert "+5,000" in mailoutbox[0].subject and "Alpha Trading Ltd" in mailoutbox[0].subject
    assert "Trade show" in mailoutbox[0].body
    assert reverse("adjustment:queue") in mailoutbox[0].body

    # An administrator's request goes to the partner's manager (and the other administrators).
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        request_adjustment(alpha.partner, points=5_000, reason="Trade show", acting_user=administrator)
    assert sorted(mail.to[0] for mail in mailoutbox) == [alpha.manager.email]


def test_a_posted_adjustment_sends_no_mail(alpha, administrator, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        request_adjustment(alpha.partner, points=10, reason="Rounding", acting_user=alpha.manager)
    assert mailoutbox == []


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_a_blank_reason_is_refused(alpha, reason):
    with pytest.raises(InvalidAdjustment) as refused:
        request_adjustment(alpha.partner, points=10, reason=reason, acting_user=alpha.manager)
    assert "reason" in refused.value.error_dict
    assert not Adjustment.objects.exists()


@pytest.mark.parametrize("points", [0, 1.5, True, "10"])
def test_points_must_be_a_whole_number_other_than_zero(alpha, points):
    with pytest.raises(InvalidAdjustment) as refused:
        request_adjustment(alpha.partner, points=points, reason="Because", acting_user=alpha.manager)
    assert "points" in refused.value.error_dict


def test_a_small_negative_adjustment_beyond_the_balance_is_refused_and_leaves_nothing(alpha):
    give(alpha.partner, 100)
    with pytest.raises(AdjustmentExceedsBalance) as refused:
        request_adjustment(alpha.partner, points=-300, reason="Correction", acting_user=alpha.manager)
    assert refused.value.code == "exceeds_available"
    assert "only 100 points available" in refused.value.messages[0]
    assert not Adjustment.objects.exists()
    assert available(alpha.partner) == 100


# --- Who may adjust ----------------------------------------------------------------------------------


def test_a_manager_cannot_adjust_a_partner_outside_their_portfolio(alpha, bravo):
    with pytest.raises(NotAllowedToAdjust):
        request_adjustment(bravo.partner, points=10, reason="Nice", acting_user=alpha.manager)
    assert not Adjustment.objects.exists()


@pytest.mark.parametrize("who", ["partner member", "staff outside the CMS groups", "inactive manager"])
def test_people_without_the_adjusting_role_cannot_adjust(alpha, who):
    if who == "partner member":
        user = User.objects.create_user("owner@alpha.example")
    elif who == "staff outside the CMS groups":
        user = StaffFactory()
        Partner.objects.filter(pk=alpha.partner.pk).update(account_manager=user)  # even their own partner
    else:
        user = alpha.manager
        user.is_active = False
        user.save(update_fields=["is_active"])
    with pytest.raises(NotAllowedToAdjust):
        request_adjustment(alpha.partner, points=10, reason="Nice", acting_user=user)


def test_an_administrator_adjusts_any_partner(alpha, bravo, administrator):
    for portfolio in (alpha, bravo):
        request_adjustment(portfolio.partner, points=10, reason="Welcome", acting_user=administrator)
        assert available(portfolio.partner) == 10


# --- Approving and rejecting -------------------------------------------------------------------------


@pytest.fixture
def waiting(alpha, mailoutbox, django_capture_on_commit_callbacks):
    """An adjustment waiting for a second person, who has been told (those e-mails are not the tests')."""
    with django_capture_on_commit_callbacks(execute=True):
        adjustment = request_adjustment(alpha.partner, points=2_500, reason="Launch event", acting_user=alpha.manager)
    mailoutbox.clear()
    return adjustment


def test_the_requester_cannot_approve_their_own(alpha, waiting):
    with pytest.raises(SecondPersonRequired):
        approve_adjustment(waiting, acting_user=alpha.manager)
    with pytest.raises(SecondPersonRequired):
        reject_adjustment(waiting, acting_user=alpha.manager, note="Changed my mind")
    waiting.refresh_from_db()
    assert waiting.status == Status.AWAITING_APPROVAL
    assert not adjustment_transfers(waiting).exists()


def test_the_database_refuses_a_decision_by_the_requester_too(waiting):
    with pytest.raises(IntegrityError), transaction.atomic():
        Adjustment.objects.filter(pk=waiting.pk).update(decided_by=waiting.requested_by)


def test_a_second_person_approves_and_it_posts_once(
    alpha, waiting, administrator, second_administrator, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        approved = approve_adjustment(waiting, acting_user=administrator, note="Agreed with sales")
    assert (approved.status, approved.decided_by, approved.decision_note) == (
        Status.POSTED,
        administrator,
        "Agreed with sales",
    )
    (transfer,) = adjustment_transfers(waiting)
    assert (transfer.amount, transfer.actor, transfer.reason) == (2_500, alpha.manager, "Adjustment: Launch event")
    assert transfer.details["approved_by"] == administrator.pk
    assert [mail.to for mail in mailoutbox] == [[alpha.manager.email]]
    assert "approved" in mailoutbox[0].subject

    # Approving again, by the same or another person, changes nothing and tells nobody.
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        approve_adjustment(waiting, acting_user=administrator)
        again = approve_adjustment(waiting, acting_user=second_administrator)
    assert (again.status, again.decided_by) == (Status.POSTED, administrator)
    assert adjustment_transfers(waiting).count() == 1
    assert available(alpha.partner) == 2_500
    assert mailoutbox == []


def test_the_partners_manager_approves_an_administrators_request(alpha, administrator):
    adjustment = request_adjustment(alpha.partner, points=3_000, reason="Campaign fix", acting_user=administrator)
    approve_adjustment(adjustment, acting_user=alpha.manager)
    assert available(alpha.partner) == 3_000


def test_another_portfolios_manager_cannot_decide(waiting, bravo):
    for decide in (approve_adjustment, lambda a, **kw: reject_adjustment(a, note="No", **kw)):
        with pytest.raises(NotAllowedToAdjust):
            decide(waiting, acting_user=bravo.manager)
    waiting.refresh_from_db()
    assert waiting.status == Status.AWAITING_APPROVAL


def test_rejecting_gives_nothing_and_tells_the_requester(
    alpha, waiting, administrator, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        rejected = reject_adjustment(waiting, acting_user=administrator, note="Not in the budget")
    assert (rejected.status, rejected.decided_by, rejected.decision_note) == (
        Status.REJECTED,
        administrator,
        "Not in the budget",
    )
    assert not adjustment_transfers(waiting).exists()
    assert available(alpha.partner) == 0
    assert [mail.to for mail in mailoutbox] == [[alpha.manager.email]]
    assert "rejected" in mailoutbox[0].subject and "Not in the budget" in mailoutbox[0].body

    with pytest.raises(AdjustmentAlreadyDecided):
        approve_adjustment(waiting, acting_user=administrator)
    assert reject_adjustment(waiting, acting_user=administrator, note="Again").decision_note == "Not in the budget"


def test_a_rejection_needs_a_note(waiting, administrator):
    with pytest.raises(InvalidAdjustment) as refused:
        reject_adjustment(waiting, acting_user=administrator, note="  ")
    assert "note" in refused.value.error_dict
    waiting.refresh_from_db()
    assert waiting.status == Status.AWAITING_APPROVAL


def test_a_posted_adjustment_cannot_be_rejected(waiting, administrator):
    approve_adjustment(waiting, acting_user=administrator)
    with pytest.raises(AdjustmentAlreadyDecided):
        reject_adjustment(waiting, acting_user=administrator, note="Too late")


def test_approving_a_negative_adjustment_beyond_the_balance_is_refused_and_it_keeps_waiting(alpha, administrator):
    give(alpha.partner, 1_200)
    adjustment = request_adjustment(alpha.partner, points=-2_000, reason="Clawback", acting_user=alpha.manager)
    with pytest.raises(AdjustmentExceedsBalance) as refused:
        approve_adjustment(adjustment, acting_user=administrator)
    assert "only 1,200 points available" in refused.value.messages[0]
    adjustment.refresh_from_db()
    assert (adjustment.status, adjustment.decided_by) == (Status.AWAITING_APPROVAL, None)
    assert not adjustment_transfers(adjustment).exists()

    give(alpha.partner, 800)  # once the partner has the points, the same approval goes through
    approve_adjustment(adjustment, acting_user=administrator)
    assert available(alpha.partner) == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_approvals_post_once():
    manager = AccountManagerFactory()
    partner = PartnerFactory(account_manager=manager)
    deciders = [ProgrammeAdministratorFactory() for _ in range(3)]
    adjustment = request_adjustment(partner, points=4_000, reason="Race", acting_user=manager)

    results = race(
        *(lambda who=who: approve_adjustment(adjustment, acting_user=who) for who in [*deciders, deciders[0]])
    )

    assert {result.status for result in results} == {Status.POSTED}
    adjustment.refresh_from_db()
    assert adjustment.decided_by in deciders
    assert {result.decided_by_id for result in results} == {adjustment.decided_by_id}
    assert adjustment_transfers(adjustment).count() == 1
    assert balance_of(partner).available == 4_000
    assert discrepancies() == []


# --- The permissions the migration gives -------------------------------------------------------------


def test_the_cms_groups_have_their_earning_permissions(db):
    def codenames(name):
        group = Group.objects.get(name=name)
        return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}

    managers, administrators = codenames("Account managers"), codenames("Programme administrators")
    assert {"earning.add_adjustment", "earning.view_adjustment", "wagtailadmin.access_admin"} <= managers
    assert not {p for p in managers if p.startswith("earning.") and "adjustment" not in p}
    assert {
        "earning.add_campaign",
        "earning.change_campaign",
        "earning.delete_campaign",
        "earning.change_earningsettings",
        "earning.add_categorymultiplier",
        "earning.add_apikey",
        "earning.add_importjob",
        "earning.add_adjustment",
    } <= administrators
    assert "earning.change_adjustment" not in administrators | managers  # decided through the service, never edited
    assert "earning.delete_adjustment" not in administrators | managers


# --- The CMS: every adjustment URL is scoped to the portfolio ------------------------------------------

OBJECT_URLS = ["adjustment:inspect", "adjustment:approve", "adjustment:reject"]
LISTING_URLS = [
    "adjustment:index",
    "adjustment:index_results",
    "adjustment:add",
    "adjustment:queue",
    "adjustment:queue_results",
]


def url_names(namespace: str) -> set[str]:
    _, resolver = get_resolver().namespace_dict[namespace]
    return {f"{namespace}:{pattern.name}" for pattern in resolver.url_patterns}


def test_the_matrix_covers_every_url_of_the_adjustment_viewset():
    assert url_names("adjustment") == set(OBJECT_URLS) | set(LISTING_URLS)


@pytest.fixture
def two_waiting(alpha, bravo, administrator):
    """One waiting adjustment in each portfolio, requested by the administrator so either manager could decide."""
    return (
        request_adjustment(alpha.partner, points=2_000, reason="alpha launch", acting_user=administrator),
        request_adjustment(bravo.partner, points=3_000, reason="bravo launch", acting_user=administrator),
    )


@pytest.mark.parametrize("url_name", OBJECT_URLS)
def test_a_manager_opens_their_own_portfolios_adjustment(client, alpha, two_waiting, url_name):
    client.force_login(alpha.manager)
    assert client.get(reverse(url_name, args=[two_waiting[0].pk])).status_code == 200


@pytest.mark.parametrize("url_name", OBJECT_URLS)
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_manager_gets_404_for_another_portfolios_adjustment(client, alpha, bravo, two_waiting, url_name, method):
    client.force_login(alpha.manager)
    bravo_adjustment = two_waiting[1]
    response = getattr(client, method)(reverse(url_name, args=[bravo_adjustment.pk]), {"note": "Taking over"})
    assert response.status_code == 404
    assert "Bravo" not in response.content.decode()
    bravo_adjustment.refresh_from_db()
    assert bravo_adjustment.status == Status.AWAITING_APPROVAL
    assert not adjustment_transfers(bravo_adjustment).exists()


@pytest.mark.parametrize("url_name", OBJECT_URLS)
def test_an_unknown_adjustment_id_is_404(client, alpha, url_name):
    client.force_login(alpha.manager)
    assert client.get(reverse(url_name, args=[999_999])).status_code == 404


@pytest.mark.parametrize("url_name", LISTING_URLS)
@pytest.mark.parametrize("query", ["", "?q=bravo", "?partner={bravo}", "?status=awaiting_approval"])
def test_listings_show_nothing_of_another_portfolio(client, alpha, bravo, two_waiting, url_name, query):
    client.force_login(alpha.manager)
    response = client.get(reverse(url_name) + query.format(bravo=bravo.partner.pk))
    assert response.status_code == 200
    text = response.content.decode()
    assert "Bravo Trading Ltd" not in text and "bravo launch" not in text


@pytest.mark.parametrize("url_name", ["adjustment:index", "adjustment:queue"])
def test_listings_show_the_managers_own_adjustments(client, alpha, two_waiting, url_name):
    client.force_login(alpha.manager)
    text = client.get(reverse(url_name)).content.decode()
    assert "Alpha Trading Ltd" in text


def test_an_administrator_lists_every_portfolios_adjustments(client, administrator, second_administrator, two_waiting):
    client.force_login(second_administrator)
    text = client.get(reverse("adjustment:queue")).content.decode()
    assert "alpha launch" in text and "bravo launch" in text
    assert text.count(">Approve</button>") == 2


def test_staff_outside_the_cms_groups_are_turned_away(client, two_waiting):
    client.force_login(StaffFactory())  # no CMS group: not even access to the admin
    for url in [reverse(name) for name in ("adjustment:index", "adjustment:queue", "adjustment:add")] + [
        reverse("adjustment:approve", args=[two_waiting[0].pk])
    ]:
        response = client.post(url) if "approve" in url else client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("account_login"))
    assert Adjustment.objects.get(pk=two_waiting[0].pk).status == Status.AWAITING_APPROVAL


# --- The CMS: requesting ------------------------------------------------------------------------------


def test_a_manager_requests_an_adjustment_in_the_cms(client, alpha):
    client.force_login(alpha.manager)
    response = client.post(reverse("adjustment:add"), {"partner": alpha.partner.pk, "points": "250", "reason": "Gift"})
    assert response.status_code == 302
    adjustment = Adjustment.objects.get()
    assert (adjustment.partner, adjustment.points, adjustment.status) == (alpha.partner, 250, Status.POSTED)
    assert available(alpha.partner) == 250


def test_the_cms_offers_a_manager_only_their_portfolio(client, alpha, bravo):
    client.force_login(alpha.manager)
    form = client.get(reverse("adjustment:add")).context["form"]
    assert list(form.fields["partner"].queryset) == [alpha.partner]


def test_a_manager_cannot_adjust_another_portfolios_partner_in_the_cms(client, alpha, bravo):
    client.force_login(alpha.manager)
    response = client.post(reverse("adjustment:add"), {"partner": bravo.partner.pk, "points": "250", "reason": "Gift"})
    assert response.status_code == 200
    assert "partner" in response.context["form"].errors
    assert not Adjustment.objects.exists()
    assert "Bravo Trading Ltd" not in response.content.decode()


@pytest.mark.parametrize(
    ("data", "field"),
    [({"points": "250", "reason": "  "}, "reason"), ({"points": "0", "reason": "Gift"}, "points")],
)
def test_the_cms_refuses_a_blank_reason_and_zero_points(client, alpha, data, field):
    client.force_login(alpha.manager)
    response = client.post(reverse("adjustment:add"), {"partner": alpha.partner.pk, **data})
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not Adjustment.objects.exists()


def test_the_cms_shows_why_a_negative_adjustment_is_refused(client, alpha):
    give(alpha.partner, 40)
    client.force_login(alpha.manager)
    response = client.post(reverse("adjustment:add"), {"partner": alpha.partner.pk, "points": "-90", "reason": "Fix"})
    assert response.status_code == 200
    assert "only 40 points available" in response.content.decode()
    assert not Adjustment.objects.exists()


# --- The CMS: deciding ---------------------------------------------------------------------------------


def test_a_manager_approves_from_the_queue(client, alpha, two_waiting):
    client.force_login(alpha.manager)
    response = client.post(
        reverse("adjustment:approve", args=[two_waiting[0].pk]), {"next": reverse("adjustment:queue")}
    )
    assert (response.status_code, response.url) == (302, reverse("adjustment:queue"))
    assert available(alpha.partner) == 2_000
    assert Adjustment.objects.get(pk=two_waiting[0].pk).decided_by == alpha.manager


def test_the_requester_sees_no_approve_button_and_cannot_approve_through_the_cms(client, alpha, administrator):
    adjustment = request_adjustment(alpha.partner, points=2_000, reason="Mine", acting_user=alpha.manager)
    client.force_login(alpha.manager)
    queue = client.get(reverse("adjustment:queue")).content.decode()
    assert "Waiting for a second person" in queue and ">Approve</button>" not in queue

    response = client.post(reverse("adjustment:approve", args=[adjustment.pk]))
    assert response.status_code == 200
    assert "A second person must decide" in response.content.decode()
    adjustment.refresh_from_db()
    assert adjustment.status == Status.AWAITING_APPROVAL
    assert not adjustment_transfers(adjustment).exists()


def test_rejecting_in_the_cms_needs_a_note(client, alpha, two_waiting):
    client.force_login(alpha.manager)
    url = reverse("adjustment:reject", args=[two_waiting[0].pk])
    assert client.post(url, {"note": ""}).status_code == 200
    assert Adjustment.objects.get(pk=two_waiting[0].pk).status == Status.AWAITING_APPROVAL
    assert client.post(url, {"note": "Not now"}).status_code == 302
    assert Adjustment.objects.get(pk=two_waiting[0].pk).status == Status.REJECTED


def test_the_cms_refuses_to_approve_beyond_the_balance_with_a_clear_message(client, alpha, administrator):
    adjustment = request_adjustment(alpha.partner, points=-5_000, reason="Clawback", acting_user=alpha.manager)
    client.force_login(administrator)
    response = client.post(reverse("adjustment:approve", args=[adjustment.pk]))
    assert response.status_code == 200
    assert "only 0 points available" in response.content.decode()
    adjustment.refresh_from_db()
    assert adjustment.status == Status.AWAITING_APPROVAL


def test_decision_pages_only_accept_a_next_address_inside_the_queue(client, alpha, two_waiting):
    client.force_login(alpha.manager)
    response = client.post(
        reverse("adjustment:approve", args=[two_waiting[0].pk]), {"next": "https://elsewhere.example/"}
    )
    assert response.url == reverse("adjustment:queue")


# --- The CMS: earning rules and campaigns are for administrators ---------------------------------------


def settings_url():
    return reverse("wagtailsettings:edit", args=["earning", "earningsettings", EarningSettings.load().pk])


def settings_form(**changes):
    data = {
        "currency": "EUR",
        "points_per_unit": "2",
        "return_window_days": "14",
        "bulk_threshold": "5000",
        "bulk_bonus_points": "100",
        "punch_card_every": "5",
        "punch_card_min_value": "500",
        "punch_card_bonus_points": "250",
        "early_payment_min_days": "10",
        "early_payment_points_per_unit": "0.5",
        "review_order_above": "1000000",
        "review_invoice_above": "1000000",
        "review_points_above": "2000000",
        "category_multipliers-TOTAL_FORMS": "1",
        "category_multipliers-INITIAL_FORMS": "0",
        "category_multipliers-MIN_NUM_FORMS": "0",
        "category_multipliers-MAX_NUM_FORMS": "1000",
        "category_multipliers-0-category": "printers",
        "category_multipliers-0-multiplier": "1.5",
        "category_multipliers-0-id": "",
        "category_multipliers-0-ORDER": "1",
        "category_multipliers-0-DELETE": "",
    }
    return {**data, **changes}


def campaign_form(**changes):
    data = {
        "name": "Spring printers",
        "starts_at": "2026-03-01 00:00",
        "ends_at": "2026-04-01 00:00",
        "audience": "",
        "categories": "printers",
        "skus": "",
        "multiplier": "2",
        "bonus_points": "0",
    }
    return {**data, **changes}


def test_an_account_manager_cannot_open_or_change_the_earning_rules(client, alpha):
    client.force_login(alpha.manager)
    url = settings_url()
    for response in (client.get(url), client.post(url, settings_form())):
        assert (response.status_code, response.url) == (302, reverse("wagtailadmin_home"))
    assert EarningSettings.load().currency == "USD"
    response = client.get(reverse("wagtailsettings:edit", args=["earning", "earningsettings"]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("wagtailadmin_home")


def test_an_administrator_edits_the_earning_rules(client, administrator):
    client.force_login(administrator)
    assert (
        client.get(reverse("wagtailsettings:edit", args=["earning", "earningsettings"]), follow=True).status_code == 200
    )
    response = client.post(settings_url(), settings_form())
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    rules = EarningSettings.load()
    assert (rules.currency, rules.return_window_days) == ("EUR", 14)
    assert [(m.category, str(m.multiplier)) for m in rules.category_multipliers.all()] == [("printers", "1.50")]


@pytest.mark.parametrize("url_name", ["campaign:index", "campaign:add"])
def test_an_account_manager_cannot_open_campaigns(client, alpha, url_name):
    client.force_login(alpha.manager)
    response = client.get(reverse(url_name))
    assert (response.status_code, response.url) == (302, reverse("wagtailadmin_home"))
    response = client.post(reverse("campaign:add"), campaign_form())
    assert response.status_code == 302
    assert not Campaign.objects.exists()


def test_an_account_manager_cannot_edit_a_campaign(client, alpha, administrator):
    client.force_login(administrator)
    client.post(reverse("campaign:add"), campaign_form())
    campaign = Campaign.objects.get()
    client.force_login(alpha.manager)
    response = client.post(reverse("campaign:edit", args=[campaign.pk]), campaign_form(name="Mine now"))
    assert response.status_code == 302 and response.url == reverse("wagtailadmin_home")
    assert Campaign.objects.get().name == "Spring printers"


def test_an_administrator_creates_and_edits_a_campaign(client, administrator):
    client.force_login(administrator)
    assert client.get(reverse("campaign:index")).status_code == 200
    north = audience("North and Center", regions=["North", "Center"])
    assert client.post(reverse("campaign:add"), campaign_form(audience=north.pk)).status_code == 302
    campaign = Campaign.objects.get()
    assert (campaign.audience, campaign.categories, campaign.skus) == (north, ["printers"], [])
    response = client.post(reverse("campaign:edit", args=[campaign.pk]), campaign_form(multiplier="3"))
    assert response.status_code == 302
    assert Campaign.objects.get().multiplier == 3


def test_a_campaign_that_ends_before_it_starts_is_refused_in_the_cms(client, administrator):
    client.force_login(administrator)
    response = client.post(reverse("campaign:add"), campaign_form(ends_at="2026-02-01 00:00"))
    assert response.status_code == 200
    assert not Campaign.objects.exists()


def test_the_programme_menu_shows_each_role_its_items(client, alpha, administrator):
    client.force_login(alpha.manager)
    text = client.get(reverse("wagtailadmin_home")).content.decode()
    assert reverse("adjustment:queue") in text and reverse("campaign:index") not in text
    client.force_login(administrator)
    text = client.get(reverse("wagtailadmin_home")).content.decode()
    assert reverse("adjustment:queue") in text and reverse("campaign:index") in text
