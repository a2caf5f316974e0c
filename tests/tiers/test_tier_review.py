"""Up at once, down only at a monthly review after the grace period, warned a review before; grants."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.ledger.models import Code
from portal.notices.models import Notice
from portal.tiers import services
from portal.tiers.models import PartnerTier, TierChange, TierSettings
from tests.factories import PartnerFactory, StaffFactory
from tests.tiers.conftest import earn, spend

pytestmark = pytest.mark.django_db
Reason = TierChange.Reason


def standing(partner) -> PartnerTier:
    return PartnerTier.objects.select_related("tier").get(partner=partner)


def history(partner) -> list[tuple[str, str, str]]:
    return [
        (c.changed_on.isoformat(), c.to_tier.name, c.reason)
        for c in TierChange.objects.filter(partner=partner).order_by("changed_on", "pk")
    ]


def grace(months: int):
    settings = TierSettings.load()
    settings.grace_months = months
    settings.save()


def test_joins_at_the_base_tier_and_moves_up_the_day_points_reach_a_threshold(tiers):
    partner = PartnerFactory()
    services.review_tiers([partner.pk], today=date(2026, 5, 3), monthly=False)
    assert standing(partner).tier == tiers["member"]
    earn(partner, "o1", 700, "2026-05-10")
    earn(partner, "p1", 400, "2026-05-12", code=Code.EARLY_PAYMENT)
    services.review_tiers([partner.pk], today=date(2026, 5, 13), monthly=False)
    assert standing(partner).tier == tiers["silver"]
    assert standing(partner).qualifying_points == 1_100
    assert history(partner) == [("2026-05-03", "Member", Reason.JOINED), ("2026-05-13", "Silver", Reason.QUALIFIED)]


def test_redemptions_never_lower_qualification_but_returns_do(tiers):
    partner = PartnerFactory()
    earn(partner, "o1", 1_200, "2026-05-10")
    spend(partner, "r1", 1_000, "2026-05-11")  # a redemption: still Silver
    services.review_tiers([partner.pk], today=date(2026, 5, 12), monthly=False)
    assert standing(partner).tier == tiers["silver"]
    other = PartnerFactory()
    earn(other, "o2", 1_200, "2026-05-10")
    spend(other, "c2", 300, "2026-05-11", code=Code.CLAWBACK)  # a return after the window: 900 qualify
    services.review_tiers([other.pk], today=date(2026, 5, 12), monthly=False)
    assert standing(other).tier == tiers["member"]
    assert standing(other).qualifying_points == 900


def test_points_that_do_not_qualify_are_left_out(tiers):
    partner = PartnerFactory()
    earn(partner, "adj", 9_000, "2026-05-10", code=Code.ADJUSTMENT)
    services.review_tiers([partner.pk], today=date(2026, 5, 12), monthly=False)
    assert standing(partner).tier == tiers["member"]


def test_down_only_at_a_monthly_review_after_the_grace_period_with_a_warning_a_review_before(tiers):
    grace(2)
    partner = PartnerFactory()
    earn(partner, "o1", 1_500, "2025-03-15")  # counts until 2026-03-15
    services.review_tiers([partner.pk], today=date(2025, 3, 20), monthly=False)
    assert standing(partner).tier == tiers["silver"]

    # The points age out on 2026-03-15; a daily run never moves a partner down.
    services.review_tiers([partner.pk], today=date(2026, 3, 20), monthly=False)
    assert standing(partner).tier == tiers["silver"]
    services.review_tiers([partner.pk], today=date(2026, 4, 1), monthly=True)  # below: 1st review of grace
    assert (standing(partner).tier, standing(partner).reviews_below, standing(partner).downgrade_on) == (
        tiers["silver"], 1, None,
    )  # fmt: skip
    assert not Notice.objects.filter(kind=services.DOWNGRADE_WARNING).exists()
    services.review_tiers([partner.pk], today=date(2026, 5, 1), monthly=True)  # 2nd: the next one moves it down
    assert standing(partner).tier == tiers["silver"]
    assert standing(partner).downgrade_on == date(2026, 6, 1)
    warning = Notice.objects.get(kind=services.DOWNGRADE_WARNING)
    assert warning.payload == {"partner": partner.pk, "downgrade_on": "2026-06-01", "tier": tiers["silver"].pk}

    services.review_tiers([partner.pk], today=date(2026, 5, 1), monthly=True)  # the same review again: nothing new
    assert Notice.objects.filter(kind=services.DOWNGRADE_WARNING).count() == 1
    services.review_tiers([partner.pk], today=date(2026, 6, 1), monthly=True)
    assert standing(partner).tier == tiers["member"]
    assert history(partner)[-1] == ("2026-06-01", "Member", Reason.GRACE_OVER)


def test_earning_enough_during_the_grace_period_keeps_the_tier(tiers):
    grace(1)
    partner = PartnerFactory()
    earn(partner, "o1", 1_500, "2025-03-15")
    services.review_tiers([partner.pk], today=date(2025, 3, 20), monthly=False)
    services.review_tiers([partner.pk], today=date(2026, 4, 1), monthly=True)  # below, warned
    assert standing(partner).downgrade_on == date(2026, 5, 1)
    earn(partner, "o2", 1_000, "2026-04-10")
    services.review_tiers([partner.pk], today=date(2026, 5, 1), monthly=True)
    assert standing(partner).tier == tiers["silver"]
    assert (standing(partner).reviews_below, standing(partner).downgrade_on) == (0, None)


def test_without_grace_a_partner_is_warned_at_the_review_before_its_points_age_out(tiers):
    grace(0)
    partner = PartnerFactory()
    earn(partner, "o1", 1_500, "2025-04-15")  # counts until 2026-04-15: below at the review of 2026-05-01
    services.review_tiers([partner.pk], today=date(2025, 4, 20), monthly=False)
    services.review_tiers([partner.pk], today=date(2026, 4, 1), monthly=True)
    assert standing(partner).tier == tiers["silver"]
    assert standing(partner).downgrade_on == date(2026, 5, 1)
    services.review_tiers([partner.pk], today=date(2026, 5, 1), monthly=True)
    assert standing(partner).tier == tiers["member"]


def test_a_review_missed_on_the_first_is_caught_up_once(tiers):
    grace(0)
    partner = PartnerFactory()
    earn(partner, "o1", 1_500, "2025-01-15")
    services.review_tiers([partner.pk], today=date(2025, 1, 20), monthly=True)
    services.review_tiers([partner.pk], today=date(2026, 3, 3), monthly=True)  # the 1st's run was lost
    assert standing(partner).tier == tiers["member"]
    assert standing(partner).reviewed_on == date(2026, 3, 3)


def test_a_grant_holds_for_its_period_then_the_earned_tier_returns(tiers):
    manager = StaffFactory()
    partner = PartnerFactory(account_manager=manager)
    today = services.programme_today()
    earn(partner, "o1", 1_200, today - timedelta(days=20))
    services.review_tiers([partner.pk], today=today - timedelta(days=1), monthly=False)
    last_day = today + timedelta(days=90)
    grant = services.grant_tier(
        partner, tier=tiers["gold"], ends_on=last_day, reason="Gold at a rival", granted_by=manager
    )
    assert standing(partner).tier == tiers["gold"]
    assert standing(partner).grant == grant
    services.review_tiers([partner.pk], today=last_day, monthly=True)
    assert standing(partner).tier == tiers["gold"]
    services.review_tiers([partner.pk], today=last_day + timedelta(days=1), monthly=True)
    assert standing(partner).tier == tiers["silver"]
    assert [h[1:] for h in history(partner)] == [
        ("Member", Reason.JOINED),
        ("Silver", Reason.QUALIFIED),
        ("Gold", Reason.GRANTED),
        ("Silver", Reason.GRANT_ENDED),
    ]
    granted = TierChange.objects.get(partner=partner, reason=Reason.GRANTED)
    assert (granted.note, granted.changed_by) == ("Gold at a rival", manager)


def test_a_grant_ended_early_by_its_manager(tiers):
    manager = StaffFactory()
    partner = PartnerFactory(account_manager=manager)
    services.review_tiers([partner.pk], today=services.programme_today(), monthly=False)
    grant = services.grant_tier(
        partner, tier=tiers["gold"], ends_on=date(2099, 1, 1), reason="Trial", granted_by=manager
    )
    assert standing(partner).tier == tiers["gold"]
    services.end_grant(grant, ended_by=manager)
    assert standing(partner).tier == tiers["member"]
    ended = TierChange.objects.filter(partner=partner).order_by("-pk").first()
    assert (ended.reason, ended.changed_by) == (Reason.GRANT_ENDED, manager)


def test_a_manager_grants_only_within_the_portfolio(tiers):
    manager, other = StaffFactory(), StaffFactory()
    partner = PartnerFactory(account_manager=other)
    with pytest.raises(PermissionDenied):
        services.grant_tier(partner, tier=tiers["gold"], ends_on=date(2099, 1, 1), reason="x", granted_by=manager)
    assert not partner.tier_grants.exists()


def test_a_batch_costs_the_same_statements_whatever_its_size(tiers):
    partners = [PartnerFactory() for _ in range(30)]
    for n, partner in enumerate(partners):
        earn(partner, f"o{n}", 600 * (n + 1), "2026-05-10")
    services.review_tiers([p.pk for p in partners[:3]], today=date(2026, 5, 11), monthly=True)
    with CaptureQueriesContext(connection) as small:
        services.review_tiers([p.pk for p in partners[:3]], today=date(2026, 5, 12), monthly=True)
    with CaptureQueriesContext(connection) as large:
        services.review_tiers([p.pk for p in partners], today=date(2026, 5, 12), monthly=True)
    # Every statement at most once, whatever the batch's size (some are skipped when they have nothing to write).
    assert len(small.captured_queries) <= len(large.captured_queries) <= 11
