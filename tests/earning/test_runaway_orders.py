"""A runaway order must not mint points (issue 13, hole 4).

One API order of 999,999,999,999.99 x 10,000,000 gave a partner 100,000,000,499 points. Now an
order (or an early-paid invoice) above the programme's limits is recorded, but its points wait in
the account managers' approval queue; approving gives them once, under the order's own ledger key,
rejecting gives nothing. Amounts beyond any sane value are refused at the edge, naming the field.

Alpha's manager holds the partner that orders; Bravo's manager holds another portfolio. The limits
are the defaults: 1,000,000.00 per order or invoice, 2,000,000 points per record.
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from portal.earning import services
from portal.earning.adjustments import (
    AdjustmentAlreadyDecided,
    approve_adjustment,
    reject_adjustment,
)
from portal.earning.models import Adjustment, Campaign, EarningSettings, Order, Payment, Return
from portal.ledger.models import Code, Phase, Transfer
from portal.ledger.queries import balance_of
from tests.earning.test_api import api_client, api_key, send  # noqa: F401 (fixtures)
from tests.earning.test_csv_import import confirm, media, orders_csv, upload  # noqa: F401 (fixture)
from tests.earning.test_ingest import order
from tests.factories import AccountManagerFactory, PartnerFactory, ProgrammeAdministratorFactory
from tests.ledger.racing import race

pytestmark = pytest.mark.django_db

Status = Adjustment.Status
ABOVE_THE_LIMIT = ("RACK-1", "Servers", 1, "2000000.00")  # plausible, but above 1,000,000.00
HELD_POINTS = 2_000_000 + 500  # base and the bulk bonus


@pytest.fixture(autouse=True)
def the_ledger_balances_after_every_scenario(db):
    yield
    call_command("check_ledger")  # raises CommandError naming what disagrees


@pytest.fixture
def alpha_manager(db):
    return AccountManagerFactory(email="manager-alpha@vendor.example")


@pytest.fixture
def bravo_manager(db):
    return AccountManagerFactory(email="manager-bravo@vendor.example")


@pytest.fixture
def partner(alpha_manager):
    return PartnerFactory(name="Alpha Trading Ltd", account_manager=alpha_manager)


def record_orders(*items):
    return services.record("orders", list(items), source="api: ERP")


def held(partner, external_id="SO-BIG", *lines, placed_at=None) -> Adjustment:
    (result,) = record_orders(order(external_id, partner, *(lines or [ABOVE_THE_LIMIT]), placed_at=placed_at))
    assert (result.status, result.points, result.held_for_review) == ("created", 0, True)
    return Adjustment.objects.get(order__external_id=external_id)


def order_transfers(external_id):
    return Transfer.objects.filter(ref_type="order", ref_id=external_id)


def nothing_given(partner):
    balance = balance_of(partner)
    assert (balance.available, balance.pending, balance.held) == (0, 0, 0)


# --- The attack ----------------------------------------------------------------------------------


def test_the_runaway_order_of_the_issue_gives_the_partner_nothing(api_client, api_key, partner):  # noqa: F811
    runaway = order("SO-RUNAWAY", partner, ("SKU-1", "Servers", 10_000_000, "999999999999.99"))

    (result,) = send(api_client, "orders", [runaway], api_key).json()["results"]

    # Refused at the edge as beyond any sane value, naming the field; were it let through, it would wait.
    if result["status"] == "rejected":
        assert result["errors"][0]["field"].startswith("lines[0].")
        assert not Order.objects.exists()
    else:
        assert (result["status"], result["points"]) == ("created", 0)
        assert Adjustment.objects.get(order__external_id="SO-RUNAWAY").status == Status.AWAITING_APPROVAL
    nothing_given(partner)
    assert not order_transfers("SO-RUNAWAY").exists()


def test_an_order_above_the_limit_is_recorded_but_its_points_wait(api_client, api_key, partner):  # noqa: F811
    response = send(api_client, "orders", [order("SO-BIG", partner, ABOVE_THE_LIMIT)], api_key)

    assert response.status_code == 200
    (result,) = response.json()["results"]
    assert (result["status"], result["points"], result["errors"]) == ("created", 0, [])
    assert result["held_for_review"] is True  # the ERP can tell a held order from one that earned nothing
    recorded = Order.objects.get(external_id="SO-BIG")
    assert (recorded.net_total, recorded.points, recorded.lines.get().points) == (Decimal("2000000.00"), 0, 2_000_000)
    nothing_given(partner)
    assert not order_transfers("SO-BIG").exists()

    review = Adjustment.objects.get(order=recorded)
    assert (review.status, review.points, review.partner, review.requested_by) == (
        Status.AWAITING_APPROVAL,
        HELD_POINTS,
        partner,
        None,
    )
    assert review.requester == "api: ERP"
    assert "2,000,000.00 USD is above the programme's review limit of 1,000,000.00 USD" in review.reason


def test_the_service_says_the_points_wait_for_review(partner):
    (result,) = record_orders(order("SO-BIG", partner, ABOVE_THE_LIMIT))
    assert (result.status, result.points, result.held_for_review) == ("created", 0, True)


def test_sending_a_held_order_again_is_a_duplicate_and_makes_no_second_review(api_client, api_key, partner):  # noqa: F811
    batch = [order("SO-BIG", partner, ABOVE_THE_LIMIT)]
    send(api_client, "orders", batch, api_key)

    (again,) = send(api_client, "orders", batch, api_key).json()["results"]
    (in_the_service,) = record_orders(*batch)

    assert (again["status"], again["points"]) == ("duplicate", 0)
    assert (in_the_service.status, in_the_service.held_for_review) == ("duplicate", True)
    assert Adjustment.objects.count() == Order.objects.count() == 1
    nothing_given(partner)


def test_an_order_under_the_limit_earns_as_before(partner):
    (result,) = record_orders(order("SO-1", partner, ("RACK-1", "Servers", 1, "1000000.00")))

    assert (result.status, result.points, result.held_for_review) == ("created", 1_000_500, False)
    assert balance_of(partner).pending == 1_000_500
    assert not Adjustment.objects.exists()


def test_an_order_whose_points_are_beyond_the_points_limit_waits_too(partner):
    now = timezone.now()
    Campaign.objects.create(
        name="Typo", starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=1), multiplier=500
    )

    review = held(partner, "SO-X500", ("RACK-1", "Servers", 1, "10000.00"))

    assert review.points == 10_000 * 500 + 500
    assert "above the programme's review limit of 2,000,000 points" in review.reason
    nothing_given(partner)


def test_the_limits_are_programme_settings(partner):
    rules = EarningSettings.load()
    rules.review_order_above = Decimal("5000")
    rules.save()

    held(partner, "SO-6000", ("RACK-1", "Servers", 1, "6000.00"))
    nothing_given(partner)


# --- The queue, approval and rejection ---------------------------------------------------------------


def test_the_held_order_is_in_its_managers_queue_and_not_another_portfolios(
    client, partner, alpha_manager, bravo_manager, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        review = held(partner)
    assert [mail.to for mail in mailoutbox] == [[alpha_manager.email]]
    assert "SO-BIG" in mailoutbox[0].body and reverse("adjustment:queue") in mailoutbox[0].body

    client.force_login(alpha_manager)
    queue = client.get(reverse("adjustment:queue")).content.decode()
    assert "Order SO-BIG" in queue and "api: ERP" in queue
    assert queue.count(">Approve</button>") == 1
    assert client.get(reverse("adjustment:inspect", args=[review.pk])).status_code == 200
    assert client.get(reverse("adjustment:approve", args=[review.pk])).status_code == 200

    client.force_login(bravo_manager)
    assert "SO-BIG" not in client.get(reverse("adjustment:queue")).content.decode()
    assert client.post(reverse("adjustment:approve", args=[review.pk])).status_code == 404
    nothing_given(partner)


def test_approving_gives_the_orders_points_once_as_the_order_would_have(partner, alpha_manager):
    placed_at = timezone.now()
    review = held(partner, placed_at=placed_at)

    approve_adjustment(review, acting_user=alpha_manager, note="Checked with the ERP team: a real rack order")
    approve_adjustment(review, acting_user=alpha_manager)
    approve_adjustment(review, acting_user=ProgrammeAdministratorFactory())

    (transfer,) = order_transfers("SO-BIG")
    assert (transfer.key, transfer.code, transfer.phase, transfer.amount) == (
        "order:SO-BIG",
        Code.ORDER,
        Phase.PENDING,
        HELD_POINTS,
    )
    assert transfer.details["approved_by"] == alpha_manager.pk and transfer.actor_label == "api: ERP"
    assert balance_of(partner).pending == HELD_POINTS
    assert Order.objects.get(external_id="SO-BIG").points == HELD_POINTS
    review.refresh_from_db()
    assert (review.status, review.decided_by) == (Status.POSTED, alpha_manager)
    with pytest.raises(AdjustmentAlreadyDecided):
        reject_adjustment(review, acting_user=alpha_manager, note="Too late")

    # The ERP sending it again now reads what the partner was given.
    (again,) = record_orders(order("SO-BIG", partner, ABOVE_THE_LIMIT, placed_at=placed_at))
    assert (again.status, again.points, again.held_for_review) == ("duplicate", HELD_POINTS, False)

    # The return window ends as for any order.
    assert services.release_order_points(now=timezone.now() + timedelta(days=31)) == 1
    assert (balance_of(partner).available, balance_of(partner).pending) == (HELD_POINTS, 0)


def test_an_approval_in_the_cms_from_the_queue(client, partner, alpha_manager):
    review = held(partner)
    client.force_login(alpha_manager)

    response = client.post(reverse("adjustment:approve", args=[review.pk]), {"next": reverse("adjustment:queue")})

    assert (response.status_code, response.url) == (302, reverse("adjustment:queue"))
    assert balance_of(partner).pending == HELD_POINTS


@pytest.mark.django_db(transaction=True)
def test_racing_approvals_of_a_held_order_give_its_points_once():
    manager = AccountManagerFactory()
    partner = PartnerFactory(account_manager=manager)
    review = held(partner)
    deciders = [manager, *(ProgrammeAdministratorFactory() for _ in range(3))]

    results = race(*(lambda who=who: approve_adjustment(review, acting_user=who) for who in [*deciders, manager]))

    assert {result.status for result in results} == {Status.POSTED}
    assert order_transfers("SO-BIG").count() == 1
    assert balance_of(partner).pending == HELD_POINTS


@pytest.mark.django_db(transaction=True)
def test_an_approval_racing_a_return_of_the_held_order_never_gives_what_came_back():
    manager = AccountManagerFactory()
    partner = PartnerFactory(account_manager=manager)
    review = held(partner, "SO-BIG", ("RACK-1", "Servers", 4, "2000000.00"))
    back = {"external_id": "RET-1", "order": "SO-BIG", "returned_at": timezone.now().isoformat()}
    back["lines"] = [{"line_no": 1, "quantity": 1}]

    race(
        lambda: approve_adjustment(review, acting_user=manager),
        lambda: services.record("returns", [back], source="api: ERP"),
    )

    # Whichever went first, the partner keeps three racks' points pending and nothing more.
    assert balance_of(partner).pending == 1_500_500
    assert balance_of(partner).available == 0


def test_rejecting_gives_nothing_and_a_later_return_takes_nothing(partner, alpha_manager):
    review = held(partner)

    reject_adjustment(review, acting_user=alpha_manager, note="ERP error: the price went into the total")
    with pytest.raises(AdjustmentAlreadyDecided):
        approve_adjustment(review, acting_user=alpha_manager)
    (result,) = services.record(
        "returns",
        [{"external_id": "RET-1", "order": "SO-BIG", "returned_at": timezone.now().isoformat(), "lines": [
            {"line_no": 1, "quantity": 1}]}],
        source="api: ERP",
    )  # fmt: skip

    assert (result.status, result.points) == ("created", 0)
    nothing_given(partner)
    assert not Transfer.objects.exists()
    review.refresh_from_db()
    assert (review.status, review.decision_note) == (Status.REJECTED, "ERP error: the price went into the total")


# --- Returns while the points wait ---------------------------------------------------------------------


def give_back(order_id, quantity, external_id):
    (result,) = services.record(
        "returns",
        [
            {
                "external_id": external_id,
                "order": order_id,
                "returned_at": timezone.now().isoformat(),
                "lines": [{"line_no": 1, "quantity": quantity}],
            }
        ],
        source="api: ERP",
    )
    assert result.status == "created", result
    return result


def test_a_return_while_the_points_wait_takes_nothing_from_the_balance_and_lowers_what_waits(partner, alpha_manager):
    services.record("orders", [order("SO-SMALL", partner, ("A", "Misc", 1, "100"))], source="test")
    review = held(partner, "SO-BIG", ("RACK-1", "Servers", 4, "2000000.00"))  # 2,000,000 + 500 bulk

    assert give_back("SO-BIG", 1, "RET-1").points == 0
    assert (balance_of(partner).pending, balance_of(partner).available) == (100, 0)  # never below zero
    review.refresh_from_db()
    assert review.points == 1_500_500

    approve_adjustment(review, acting_user=alpha_manager)
    (transfer,) = order_transfers("SO-BIG")
    assert (transfer.key, transfer.amount) == ("order:SO-BIG", 1_500_500)
    assert transfer.details["breakdown"] == "2,000,500 earned - 500,000 returned goods"
    assert balance_of(partner).pending == 100 + 1_500_500

    # After approval a return takes its points back from what was given, as for any order.
    assert give_back("SO-BIG", 3, "RET-2").points == 1_500_500
    assert balance_of(partner).pending == 100
    assert Return.objects.count() == 2


def test_everything_returned_while_waiting_leaves_nothing_to_give(partner, alpha_manager):
    review = held(partner, "SO-BIG", ("RACK-1", "Servers", 2, "2000000.00"))
    give_back("SO-BIG", 2, "RET-1")
    review.refresh_from_db()
    assert review.points == 0

    approve_adjustment(review, acting_user=alpha_manager)

    assert not Transfer.objects.exists()
    nothing_given(partner)


def test_an_approval_after_the_return_window_is_released_by_the_next_run(partner, alpha_manager):
    review = held(partner, placed_at=timezone.now() - timedelta(days=40))
    approve_adjustment(review, acting_user=alpha_manager)

    assert services.release_order_points() == 1
    assert balance_of(partner).available == HELD_POINTS


# --- Invoices ----------------------------------------------------------------------------------------------


def invoice_and_early_payment(partner, amount):
    issued, due = date(2026, 3, 1), date(2026, 3, 31)
    services.record(
        "invoices",
        [{"external_id": "INV-BIG", "partner": partner.external_id, "amount": amount, "currency": "USD",
          "issued_on": str(issued), "due_on": str(due)}],
        source="api: ERP",
    )  # fmt: skip
    (result,) = services.record(
        "payments",
        [{"external_id": "PAY-1", "invoice": "INV-BIG", "amount": amount, "paid_on": str(due - timedelta(days=20))}],
        source="api: ERP",
    )
    return result


def test_an_invoice_above_the_limit_paid_early_waits_then_approval_gives_its_points_once(partner, alpha_manager):
    result = invoice_and_early_payment(partner, "3000000.00")

    assert (result.status, result.points, result.held_for_review) == ("created", 0, True)
    assert Payment.objects.get().points == 0
    nothing_given(partner)
    review = Adjustment.objects.get(payment__external_id="PAY-1")
    assert (review.status, review.points) == (Status.AWAITING_APPROVAL, 1_500_000)

    again = services.record(
        "payments",
        [{"external_id": "PAY-1", "invoice": "INV-BIG", "amount": "3000000.00", "paid_on": "2026-03-11"}],
        source="api: ERP",
    )
    assert [(r.status, r.held_for_review) for r in again] == [("duplicate", True)]

    approve_adjustment(review, acting_user=alpha_manager)
    approve_adjustment(review, acting_user=alpha_manager)

    (transfer,) = Transfer.objects.all()
    assert (transfer.key, transfer.code, transfer.amount) == ("payment:PAY-1", Code.EARLY_PAYMENT, 1_500_000)
    assert balance_of(partner).available == 1_500_000
    assert Payment.objects.get().points == 1_500_000


def test_an_invoice_above_the_limit_rejected_gives_nothing(partner, alpha_manager):
    invoice_and_early_payment(partner, "3000000.00")
    review = Adjustment.objects.get(payment__external_id="PAY-1")

    reject_adjustment(review, acting_user=alpha_manager, note="Billing error")

    assert not Transfer.objects.exists()
    nothing_given(partner)


def test_an_invoice_under_the_limit_paid_early_earns_as_before(partner):
    result = invoice_and_early_payment(partner, "1000000.00")
    assert (result.points, result.held_for_review) == (500_000, False)
    assert balance_of(partner).available == 500_000


# --- The CSV import ------------------------------------------------------------------------------------------


def test_a_csv_import_of_an_order_above_the_limit_waits_as_from_the_api(
    client, partner, alpha_manager, django_capture_on_commit_callbacks
):
    client.force_login(ProgrammeAdministratorFactory())
    content = orders_csv(partner, ("SO-CSV", 1, 1, "2000000.00"), ("SO-OK", 1, 1, "100"))

    job, _ = upload(client, "orders", content, callbacks=django_capture_on_commit_callbacks)
    assert not Adjustment.objects.exists()  # the dry run wrote nothing
    job = confirm(client, job, django_capture_on_commit_callbacks)

    assert (job.rows_created, job.rows_rejected) == (2, 0)
    assert job.rows_held == 1  # the import says which rows wait
    review = Adjustment.objects.get()
    assert (review.order.external_id, review.status, review.points) == ("SO-CSV", Status.AWAITING_APPROVAL, HELD_POINTS)
    assert review.requester.startswith("csv: erp.csv")
    assert balance_of(partner).pending == 100

    approve_adjustment(review, acting_user=alpha_manager)
    assert balance_of(partner).pending == 100 + HELD_POINTS
