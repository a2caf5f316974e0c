"""The statement's figures against hand-computed ones, and against the ledger over random histories."""

import random
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.ledger.errors import InsufficientPoints
from portal.ledger.models import Account, Code, Phase, Transfer
from portal.statements.figures import EARNING_CODES, StatementMonth, gather
from portal.tiers.models import PartnerTier, Tier, TierSettings
from portal.tiers.queries import tier_card, tier_progress
from tests.factories import PartnerFactory
from tests.statements.conftest import at, earn, settle, spend

pytestmark = pytest.mark.django_db
APRIL = StatementMonth.of(date(2026, 4, 1))


def busy_april(partner):
    """Every kind of entry, around April 2026 in the programme's time zone."""
    earn(partner, "m1", 1_000, at("2026-03-31", 23))  # the last hour of March in Jerusalem
    earn(partner, "m2", 200, "2026-03-10", code=Code.WELCOME)
    earn(partner, "m3", 300, "2026-03-20", pending=True)
    spend(partner, "h0", 100, "2026-03-25", hold=True)
    earn(partner, "a1", 500, at("2026-04-01", 0))  # already April in Jerusalem, still March in UTC
    settle("h0", "2026-04-02", code=Code.REDEMPTION)
    settle("m3", "2026-04-05")
    earn(partner, "a2", 120, "2026-04-06", code=Code.EARLY_PAYMENT)
    earn(partner, "a3", 50, "2026-04-06", code=Code.CONTENT)
    earn(partner, "a4", 400, "2026-04-07", code=Code.REFERRAL)
    earn(partner, "a5", 75, "2026-04-07", code=Code.WELCOME)
    earn(partner, "a6", 60, "2026-04-07", code=Code.CAMPAIGN)
    spend(partner, "h1", 150, "2026-04-08", hold=True)
    settle("h1", "2026-04-09", code=Code.REDEMPTION)
    earn(partner, "p1", 250, "2026-04-10", pending=True)
    settle("p1", "2026-04-12", code=Code.CLAWBACK, void=True)  # returned inside the window
    earn(partner, "p2", 180, "2026-04-15", pending=True)  # still pending at the end
    spend(partner, "h2", 80, "2026-04-16", hold=True)
    settle("h2", "2026-04-18", code=Code.REDEMPTION, void=True)  # rejected
    earn(partner, "p3", 90, "2026-04-20", pending=True)
    settle("p3", "2026-04-28", amount=70)  # posted in part
    spend(partner, "c1", 110, "2026-04-22", code=Code.CLAWBACK)
    spend(partner, "h3", 60, "2026-04-25", hold=True)  # still held at the end
    earn(partner, "j1", 35, "2026-04-26", code=Code.ADJUSTMENT)
    spend(partner, "j2", 15, "2026-04-27", code=Code.ADJUSTMENT)
    spend(partner, "x1", 40, "2026-04-30", code=Code.EXPIRY)
    earn(partner, "n1", 999, at("2026-05-01", 0))  # May in Jerusalem, April in UTC
    settle("h3", "2026-05-02", code=Code.REDEMPTION)
    settle("p2", "2026-05-03")


def test_a_busy_month_against_figures_worked_out_by_hand():
    partner = PartnerFactory()
    busy_april(partner)

    f = gather([partner], APRIL)[partner.pk]

    assert f.opening == 1_200  # m1 and m2; m3 was pending and h0 only held
    assert f.earned == {"order": 500 + 300 + 70, "early_payment": 120, "content": 50, "referral": 400,
                        "welcome": 75, "campaign": 60}  # fmt: skip
    assert (f.redeemed, f.expired, f.clawed_back, f.adjusted_in, f.adjusted_out) == (250, 40, 110, 35, 15)
    assert f.closing == 1_200 + 1_575 - 250 - 40 - 110 + 35 - 15 == 2_395
    assert f.closing == f.opening + f.movements()
    assert (f.pending, f.held, f.available) == (180, 60, 2_335)
    assert [e.transfer.key for e in f.entries][:2] == ["a1", "h0:post"]
    assert "m1" not in {e.transfer.key for e in f.entries} and "n1" not in {e.transfer.key for e in f.entries}
    assert sum(e.points for e in f.entries if e.changes_balance) == f.closing - f.opening
    by_key = {e.transfer.key: e for e in f.entries}
    assert by_key["p1:void"].points == -250 and not by_key["p1:void"].changes_balance
    assert by_key["h2:void"].points == 80 and by_key["h2"].resolution == Phase.VOID_PENDING
    assert by_key["p2"].resolution == Phase.POST_PENDING  # settled since, as it stands now

    march = gather([partner], StatementMonth.of(date(2026, 3, 1)))[partner.pk]
    assert (march.opening, march.closing, march.pending, march.held) == (0, 1_200, 300, 100)
    may = gather([partner], StatementMonth.of(date(2026, 5, 1)))[partner.pk]
    assert may.opening == f.closing


def test_the_chart_shows_twelve_months_earned_by_source_ending_with_the_statement_month():
    partner = PartnerFactory()
    busy_april(partner)
    earn(partner, "old", 7, "2025-04-30")  # thirteen months back: off the chart

    chart = gather([partner], APRIL)[partner.pk].chart

    assert [month for month, _ in chart] == [date(2025, 5, 1) + timedelta(days=0)] + [
        date(2025 + (m // 12), m % 12 + 1, 1) for m in range(5, 16)
    ]
    assert chart[-1][1] == gather([partner], APRIL)[partner.pk].earned
    assert chart[-2][1] == {**{str(c): 0 for c in EARNING_CODES}, "order": 1_000, "welcome": 200}
    assert all(sum(points.values()) == 0 for _, points in chart[:-2])


def test_tier_and_progress_at_the_months_end_and_points_expiring_in_the_next_90_days():
    member = Tier.objects.create(name="Member", name_he="חבר", threshold=0)
    silver = Tier.objects.create(name="Silver", name_he="כסף", threshold=1_000)
    gold = Tier.objects.create(name="Gold", name_he="זהב", threshold=5_000)
    settings = TierSettings.load()
    settings.expiry_months = 2
    settings.save()
    partner, untiered = PartnerFactory(), PartnerFactory()
    PartnerTier.objects.create(partner=partner, tier=silver, earned_tier=silver, since=date(2026, 1, 1))
    busy_april(partner)

    figures = gather([partner, untiered], APRIL)
    f = figures[partner.pk]

    # Orders and early payment, net of clawbacks, over May 2025 - April 2026: not May's 999.
    qualifying = 1_000 + 500 + 300 + 70 + 120 - 110
    assert (f.tier.tier, f.tier.qualifying_points, f.tier.next_tier) == (silver, qualifying, gold)
    assert (f.tier.points_to_next, f.tier.progress_percent) == (5_000 - qualifying, qualifying * 100 // 5_000)
    assert figures[untiered.pk].tier is None and member
    # Lots expire two months after they were posted; the 475 points spent or held so far consume the oldest
    # (all of m2's 200 and 275 of m1's 1,000). Up to 90 days after the month, as the ledger stands now.
    assert [(e.expires_on.isoformat(), e.points) for e in f.expiring] == [
        ("2026-05-31", 725), ("2026-06-01", 500), ("2026-06-05", 300), ("2026-06-06", 170), ("2026-06-07", 535),
        ("2026-06-26", 35), ("2026-06-28", 70), ("2026-07-01", 999), ("2026-07-03", 180),
    ]  # fmt: skip
    assert f.expiring_total == 3_514


def test_a_batch_costs_the_same_queries_as_one_partner():
    partners = [PartnerFactory() for _ in range(5)]
    for n, partner in enumerate(partners):
        earn(partner, f"o{n}", 100 + n, "2026-04-03")
        spend(partner, f"r{n}", 10, "2026-04-04")
    PartnerTier.objects.create(
        partner=partners[0], tier=Tier.objects.create(name="Member", threshold=0),
        earned_tier=Tier.objects.get(name="Member"), since=date(2026, 1, 1),
    )  # fmt: skip

    gather(partners[:1], APRIL)  # the programme's settings row is made on first use
    with CaptureQueriesContext(connection) as one:
        gather(partners[:1], APRIL)
    with CaptureQueriesContext(connection) as five:
        figures = gather(partners, APRIL)

    assert len(five) == len(one) <= 10
    assert [figures[p.pk].closing for p in partners] == [90 + n for n in range(5)]


# --- Random histories -------------------------------------------------------------------------------------

MONTHS = [date(2025, 11, 1), date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]


def random_history(partner, rng: random.Random) -> None:
    """Earning, pending, holds, posts (whole or in part), voids, clawbacks, adjustments and expiries, dated
    at random over five months (some on a month's first or last hour)."""
    open_pending: list[tuple[str, int, Code, object]] = []
    for n in range(60):
        day = date(2025, 11, 1) + timedelta(days=rng.randrange(150))
        when = at(day, rng.choice([0, 1, 12, 23]))
        key = f"{partner.pk}:{n}"
        choice = rng.random()
        try:
            if choice < 0.35:
                code = rng.choice(EARNING_CODES)
                pending = rng.random() < 0.3
                earn(partner, key, rng.randint(1, 500), when, code=code, pending=pending)
                if pending:
                    open_pending.append((key, 0, code, when))
            elif choice < 0.5:
                spend(partner, key, rng.randint(1, 200), when, hold=True)
                open_pending.append((key, 0, Code.REDEMPTION, when))
            elif choice < 0.7 and open_pending:
                pending_key, _, code, since = open_pending.pop(rng.randrange(len(open_pending)))
                void = rng.random() < 0.4
                amount = None
                if not void and rng.random() < 0.3:
                    amount = max(1, Transfer.objects.get(key=pending_key).amount // 2)
                later = since + timedelta(hours=rng.randrange(1, 24 * 40))
                settle(pending_key, later, code=Code.CLAWBACK if void and code != Code.REDEMPTION else code,
                       void=void, amount=amount)  # fmt: skip
            else:
                code = rng.choice([Code.REDEMPTION, Code.EXPIRY, Code.CLAWBACK, Code.ADJUSTMENT, Code.ADJUSTMENT])
                if code == Code.ADJUSTMENT and rng.random() < 0.5:
                    earn(partner, key, rng.randint(1, 100), when, code=code)
                else:
                    spend(partner, key, rng.randint(1, 150), when, code=code)
        except InsufficientPoints:
            pass


def worked_out_from_every_transfer(account: Account, month: StatementMonth) -> dict:
    """The month's figures straight from the definitions, over the whole history."""
    opening = closing = pending = held = 0
    movements = 0
    settled_at = {t.pending_id: t.effective_at for t in Transfer.objects.filter(pending__isnull=False)}
    for t in Transfer.objects.filter(debit_account=account) | Transfer.objects.filter(credit_account=account):
        sign = 1 if t.credit_account_id == account.pk else -1
        if t.phase in (Phase.POSTED, Phase.POST_PENDING):
            opening += sign * t.amount if t.effective_at < month.start else 0
            closing += sign * t.amount if t.effective_at < month.end else 0
            movements += sign * t.amount if month.start <= t.effective_at < month.end else 0
        elif t.phase == Phase.PENDING and t.effective_at < month.end:
            if t.pk not in settled_at or settled_at[t.pk] >= month.end:
                if sign > 0:
                    pending += t.amount
                else:
                    held += t.amount
    return {"opening": opening, "closing": closing, "movements": movements, "pending": pending, "held": held}


@pytest.mark.parametrize("seed", range(6))
def test_random_histories_agree_with_the_ledger_month_by_month(seed):
    rng = random.Random(seed)
    partners = [PartnerFactory() for _ in range(3)]
    for partner in partners:
        random_history(partner, rng)

    for first_day in MONTHS + [date(2026, 4, 1), date(2026, 5, 1)]:
        month = StatementMonth.of(first_day)
        figures = gather(partners, month)
        for partner in partners:
            f = figures[partner.pk]
            expected = worked_out_from_every_transfer(partner.points_account, month)
            got = {"opening": f.opening, "closing": f.closing, "movements": f.movements(),
                   "pending": f.pending, "held": f.held}  # fmt: skip
            assert got == expected, (seed, first_day)
            assert f.closing == f.opening + f.movements()

    # After the whole history, the statement's month-end is the ledger's own balance.
    later = gather(partners, StatementMonth.of(date(2026, 6, 1)))
    for partner in partners:
        account = Account.objects.get(partner=partner)
        f = later[partner.pk]
        assert (f.closing, f.available, f.pending, f.held) == (
            account.credits_posted - account.debits_posted,
            account.available,
            account.pending,
            account.held,
        )


def test_the_statements_tier_progress_is_the_tier_cards_one_way_for_a_batch():
    """Statements and the dashboard's card ask the same function (portal.tiers.queries.tier_progress): with
    nothing posted after the month, the statement's standing is what the card shows on the 1st."""
    Tier.objects.create(name="Member", threshold=0)
    silver = Tier.objects.create(name="Silver", threshold=1_000)
    Tier.objects.create(name="Gold", threshold=5_000)
    partners = [PartnerFactory() for _ in range(3)]
    for n, partner in enumerate(partners):
        PartnerTier.objects.create(partner=partner, tier=silver, earned_tier=silver, since=date(2026, 1, 1))
        earn(partner, f"o{n}", 1_000 * (n + 1), "2026-04-03")
        spend(partner, f"c{n}", 100, "2026-04-04", code=Code.CLAWBACK)

    figures = gather(partners, APRIL)
    with CaptureQueriesContext(connection) as queries:
        batch = tier_progress([p.pk for p in partners], on=APRIL.next_first_day, until=APRIL.end)
    assert len(queries) <= 4
    for partner in partners:
        card = tier_card(partner, today=APRIL.next_first_day)
        f = figures[partner.pk].tier
        assert (f.tier, f.qualifying_points, f.next_tier, f.points_to_next, f.progress_percent) == (
            card.tier, card.qualifying_points, card.next_tier, card.points_to_next, card.progress_percent
        ) == (batch[partner.pk].tier, batch[partner.pk].qualifying_points, batch[partner.pk].next_tier,
              batch[partner.pk].points_to_next, batch[partner.pk].progress_percent)  # fmt: skip
    assert [figures[p.pk].tier.qualifying_points for p in partners] == [900, 1_900, 2_900]
