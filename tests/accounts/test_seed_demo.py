import re
from collections import Counter
from datetime import date

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db.models import Sum
from django.urls import reverse
from wagtail.models import Page

from accounts.models import Membership, Partner, User
from content.models import ArticlePage, Completion, FeedbackPage, ItemView, QuestionnairePage, QuizAttempt, QuizPage
from portal.demo.directory import ACCOUNT_MANAGERS_GROUP, partner_specs
from portal.demo.history import Person, partner_history
from portal.demo.seed import DEMO_PASSWORD, NORTHWIND_OWNER, seed_demo
from portal.earning.models import Adjustment, Invoice, Order, Payment, Return
from portal.ledger.models import Code, Phase, Transfer
from portal.ledger.queries import balance_of, discrepancies, transfers_of
from referrals.models import Application
from rewards_catalog.models import GiftCode, Redemption

HEBREW = re.compile(r"[\u0590-\u05ff]")
SMALL = 4  # partners of each kind: enough for every case, quick to seed


@pytest.fixture
def seeded(db):
    return seed_demo(partners_per_kind=SMALL)


def test_the_full_programme_has_about_thirty_partners_of_each_kind():
    specs = partner_specs(30)
    assert Counter(s.kind for s in specs) == {kind: 30 for kind in Partner.Kind}
    statuses = Counter(s.status for s in specs)
    assert statuses[Partner.Status.ACTIVE] > 75
    assert statuses[Partner.Status.APPLIED] and statuses[Partner.Status.SUSPENDED]
    emails = [p.email for s in specs for p in s.people]
    assert len(emails) == len(set(emails))
    assert len({s.registration_number for s in specs}) == len({s.external_id for s in specs}) == 90


def test_hebrew_speaking_partners_have_hebrew_names_and_people():
    for spec in partner_specs(30):
        hebrew = spec.language == Partner.Language.HEBREW
        assert bool(HEBREW.search(spec.name)) == hebrew, spec.name
        assert all(bool(HEBREW.search(p.first_name)) == hebrew for p in spec.people), spec.name


def test_a_partners_history_is_the_same_on_every_run():
    for spec in partner_specs(30):
        people = [Person(user_id=n, name=p.first_name, role=p.role) for n, p in enumerate(spec.people, 1)]

        def history(spec=spec, people=people):
            return partner_history(spec, people=people, today=date(2026, 11, 23), currency="USD")

        assert history() == history()


def test_a_second_run_creates_nothing(seeded):
    assert seeded.anything_created and seeded.transfers_created == seeded.transfers > 0
    models = (Order, Invoice, Payment, Return, Redemption, Adjustment, Completion, QuizAttempt, ItemView, Page)
    counts = {model: model.objects.count() for model in models}

    again = seed_demo(partners_per_kind=SMALL)

    assert not again.anything_created
    assert (again.partners, again.people, again.transfers) == (seeded.partners, seeded.people, seeded.transfers)
    assert Transfer.objects.count() == seeded.transfers
    assert {model: model.objects.count() for model in counts} == counts
    assert again.records.existing["order"] == seeded.records.created["order"] == counts[Order]
    assert discrepancies() == []


def test_the_seeded_ledger_balances(seeded):
    assert discrepancies() == []
    call_command("check_ledger")


def test_the_history_went_through_the_earning_services(seeded):
    orders = Order.objects.all()
    assert orders.count() == seeded.records.created["order"] > 0
    assert all(t.actor_label == "demo" for t in Transfer.objects.filter(code=Code.ORDER, phase=Phase.PENDING))
    assert not Transfer.objects.filter(key__regex=r"^demo:")  # the old seed's direct ledger keys
    for order in orders.filter(points__gt=0)[:50]:
        assert Transfer.objects.filter(key=f"order:{order.external_id}", amount=order.points).exists()
    assert orders.filter(breakdown__contains=" x1.").exists()  # a category multiplier
    assert orders.filter(breakdown__contains="bulk bonus").exists()


def test_northwind_shows_every_kind_of_event(seeded):
    northwind = Membership.objects.get(user__email=NORTHWIND_OWNER).partner
    assert northwind.name == "Northwind Traders"
    kinds = Counter((t.code, t.phase) for t in transfers_of(northwind))
    for expected in [
        (Code.ORDER, Phase.POST_PENDING),  # released when its return window ended
        (Code.ORDER, Phase.PENDING),
        (Code.CLAWBACK, Phase.VOID_PENDING),  # an order returned inside its return window
        (Code.CLAWBACK, Phase.POSTED),  # returned after it
        (Code.EARLY_PAYMENT, Phase.POSTED),
        (Code.CONTENT, Phase.POSTED),
        (Code.REFERRAL, Phase.POSTED),
        (Code.REDEMPTION, Phase.PENDING),
        (Code.REDEMPTION, Phase.POST_PENDING),
        (Code.REDEMPTION, Phase.VOID_PENDING),
        (Code.ADJUSTMENT, Phase.POSTED),
    ]:
        assert kinds[expected], expected
    balance = balance_of(northwind)
    assert balance.pending > 0 and balance.held > 0
    assert transfers_of(northwind).filter(reason__startswith="Invoice INV-", reason__contains="days early").exists()

    invoices = Invoice.objects.filter(partner=northwind)
    paid = Payment.objects.filter(invoice__partner=northwind)
    assert Order.objects.filter(partner=northwind).count() > 20
    assert Return.objects.filter(order__partner=northwind).exists()
    assert paid.filter(points__gt=0).exists() and paid.filter(points=0).exists()  # early, and on time or late
    open_invoices = invoices.exclude(pk__in=paid.values("invoice"))
    assert open_invoices.filter(due_on__gt=date.today()).exists()  # still early enough to earn

    statuses = Counter(Adjustment.objects.filter(partner=northwind).values_list("status", flat=True))
    assert statuses[Adjustment.Status.POSTED] >= 2 and statuses[Adjustment.Status.AWAITING_APPROVAL] == 1
    approved = Adjustment.objects.get(partner=northwind, decided_by__email="admin@vendor.example")
    assert approved.requested_by == northwind.account_manager and approved.points > 5_000

    redemptions = Counter(Redemption.objects.filter(partner=northwind).values_list("status", flat=True))
    assert redemptions[Redemption.Status.AWAITING_APPROVAL] >= 2
    assert redemptions[Redemption.Status.REJECTED] >= 1
    assert redemptions[Redemption.Status.FULFILLED] >= 1
    assert GiftCode.objects.filter(redemption__partner=northwind, redemption__status="fulfilled").exists()


def test_the_demos_referrals_went_the_products_way(seeded):
    """Applied through the referrer's link, decided by its manager, rewarded on the newcomer's first order."""
    applications = Application.objects.select_related("referrer", "partner")
    statuses = Counter(applications.values_list("status", flat=True))
    assert statuses["qualified"] >= 1 and sum(statuses.values()) == seeded.records.created["referral"] + sum(
        n for status, n in statuses.items() if status != "qualified"
    )
    for application in applications.filter(status="qualified"):
        newcomer = application.partner
        assert newcomer.account_manager == application.referrer.account_manager
        assert Order.objects.filter(partner=newcomer, external_id=application.qualifying_order).exists()
        rewards = Transfer.objects.filter(ref_type="referral", ref_id=str(application.pk))
        assert sorted(rewards.values_list("code", flat=True)) == [Code.REFERRAL, Code.WELCOME]
    referred = set(applications.exclude(partner=None).values_list("partner", flat=True))
    welcomed = set(Transfer.objects.filter(code=Code.WELCOME).values_list("credit_account__partner", flat=True))
    assert welcomed <= referred  # only referred newcomers get a welcome bonus
    assert not Transfer.objects.filter(key__startswith="demo-referral:").exists()  # no stand-in entries


def test_northwinds_owner_sees_its_orders(seeded, client):
    northwind = Membership.objects.get(user__email=NORTHWIND_OWNER).partner
    order = Order.objects.filter(partner=northwind).order_by("-placed_at").first()
    client.force_login(User.objects.get(email=NORTHWIND_OWNER))

    response = client.get(reverse("web:orders"))

    assert response.status_code == 200
    assert order.external_id in response.text


def test_people_and_staff_can_sign_in_straight_away(seeded, client):
    for email in [NORTHWIND_OWNER, "admin@vendor.example", "dana@vendor.example"]:
        assert EmailAddress.objects.filter(email=email, verified=True, primary=True).exists()
    response = client.post("/accounts/login/", {"login": NORTHWIND_OWNER, "password": DEMO_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert "Northwind Traders" in client.get("/").text
    assert User.objects.filter(membership__isnull=False).count() == seeded.people
    assert EmailAddress.objects.filter(verified=True, primary=True).count() == seeded.people + seeded.staff


def test_staff_can_use_the_cms_and_managers_hold_the_portfolios(seeded):
    admin = User.objects.get(email="admin@vendor.example")
    assert admin.is_staff and admin.is_superuser
    managers = User.objects.filter(email__in=["dana@vendor.example", "yossi@vendor.example", "maria@vendor.example"])
    assert all(m.is_staff and not m.is_superuser for m in managers)
    group = Group.objects.filter(name=ACCOUNT_MANAGERS_GROUP).first()
    if group is not None:
        assert set(group.user_set.all()) >= set(managers)
    assert set(Partner.objects.values_list("account_manager__email", flat=True)) == {m.email for m in managers}


def test_the_command_reports_the_logins_and_then_nothing_new(db, capsys):
    call_command("seed_demo", partners_per_kind=2)
    first = capsys.readouterr().out
    call_command("seed_demo", partners_per_kind=2)
    second = capsys.readouterr().out
    assert NORTHWIND_OWNER in first and DEMO_PASSWORD in first and "Nothing new" not in first
    assert "Nothing new" in second and "(0 new)" in second


def test_the_demo_partners_hold_real_tiers_and_some_points_expire_soon(seeded):
    from portal.tiers.models import PartnerTier, Tier, TierChange, TierGrant
    from portal.tiers.queries import expiring_soon

    assert list(Tier.objects.values_list("name", "threshold")) == [
        ("Member", 0), ("Silver", 5_000), ("Gold", 25_000), ("Platinum", 200_000),
    ]  # fmt: skip
    active = Partner.objects.filter(status=Partner.Status.ACTIVE)
    held = PartnerTier.objects.filter(partner__in=active)
    assert held.count() == active.count()
    assert held.values("tier").distinct().count() >= 2  # the demo's partners stand at different tiers
    assert TierChange.objects.filter(reason=TierChange.Reason.QUALIFIED).exists()  # made by the review
    grant = TierGrant.objects.select_related("granted_by").get()
    assert grant.granted_by.is_staff and grant.reason
    assert any(expiring_soon(p) for p in active)  # some points come due within 90 days


def test_the_demo_has_each_active_partners_statements_of_the_last_months(seeded, client):
    from portal.demo.statements import MONTHS
    from portal.statements.models import Statement, StatementRun
    from portal.tiers.rules import add_months

    runs = list(StatementRun.objects.order_by("month"))
    assert len(runs) == MONTHS and all(r.finished_at and r.started_by is None for r in runs)
    for earlier, later in zip(runs, runs[1:], strict=False):
        assert later.month == add_months(earlier.month, 1)
    for run in runs:
        # Made at the end of the week in which the month ended, as the 1st's run would have made them.
        assert 0 <= (run.started_at.date() - run.month).days - 27 <= 12
        expected = Partner.objects.filter(status__in=[Partner.Status.ACTIVE, Partner.Status.SUSPENDED],
                                          created_at__lt=run.started_at)  # fmt: skip
        made = Statement.objects.filter(month=run.month)
        assert made.count() == run.partners > 0
        assert set(made.values_list("partner_id", flat=True)) <= set(expected.values_list("pk", flat=True))
    # A partner's months join up: each closing balance is the next month's opening.
    by_partner = {}
    for s in Statement.objects.order_by("partner_id", "month"):
        by_partner.setdefault(s.partner_id, []).append(s.figures)
    for months in by_partner.values():
        for earlier, later in zip(months, months[1:], strict=False):
            assert earlier["closing"] == later["opening"]
    assert sum(f["closing"] for months in by_partner.values() for f in months) > 0
    owner = User.objects.get(email=NORTHWIND_OWNER)
    client.force_login(owner)
    latest = Statement.objects.filter(partner=owner.membership.partner).latest("month")
    assert client.get(reverse("statements:download", args=[f"{latest.month:%Y-%m}"])).status_code == 200


def test_the_demos_offers_name_their_audiences(seeded):
    from portal.earning.models import Campaign
    from rewards_catalog.models import Item

    grinders = Campaign.objects.get(name="Grinder spring push")
    assert (grinders.audience.name, grinders.audience.partner_kinds) == ("Resellers", ["reseller"])
    assert Campaign.objects.get(name="X5 capsules launch").audience is None  # every partner
    vip_seat = Item.objects.get(title="Partner summit: VIP seat")
    assert {tier.name for tier in vip_seat.audience.tiers.all()} == {"Gold", "Platinum"}
    preview = Item.objects.get(title="Preview unit of the new range")
    assert [tag.name for tag in preview.audience.tags.all()] == ["pioneers"]


def test_the_demo_learns_through_the_content_services_in_both_languages(seeded):
    for model, count in [(ArticlePage, 3), (QuizPage, 5), (QuestionnairePage, 1), (FeedbackPage, 2)]:
        languages = Counter(model.objects.live().values_list("locale__language_code", flat=True))
        assert languages == {"en": count, "he": count}, model
    english_quizzes = QuizPage.objects.filter(locale__language_code="en")
    assert sum(quiz.get_parent().specific_class is ArticlePage for quiz in english_quizzes) == 3
    for_resellers = english_quizzes.filter(audience__partner_kinds=[Partner.Kind.RESELLER])
    assert for_resellers.exists()
    taken_by = Completion.objects.filter(item_key__in=for_resellers.values("translation_key"))
    assert taken_by.exists() and not taken_by.exclude(partner__kind=Partner.Kind.RESELLER).exists()

    content = Transfer.objects.filter(code=Code.CONTENT)
    assert content.exists() and not content.filter(key__startswith="demo-content:")  # the stand-in's keys
    assert content.aggregate(n=Sum("amount"))["n"] == Completion.objects.aggregate(n=Sum("points"))["n"]
    assert QuizAttempt.objects.filter(passed=False).exists() and QuizAttempt.objects.filter(language="he").exists()
    assert {"quiz", "questionnaire", "feedback"} == set(Completion.objects.values_list("kind", flat=True))
    assert Completion.objects.filter(points=0).exists()  # a company reached its monthly cap and learned on
    assert ItemView.objects.exists()
    assert discrepancies() == []
