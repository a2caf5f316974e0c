"""Points expire oldest first: hand-computed histories, runs twice, late and concurrently."""

from datetime import date

import pytest
from django.core.management import call_command

from portal.ledger import expiry
from portal.ledger import services as ledger
from portal.ledger.models import Code, Transfer
from portal.ledger.queries import balance_of
from portal.tiers import services
from portal.tiers.models import TierSettings
from tests.factories import PartnerFactory
from tests.tiers.conftest import at, earn, spend

pytestmark = pytest.mark.django_db


@pytest.fixture
def twelve_months():
    settings = TierSettings.load()
    settings.expiry_months = 12
    settings.save()
    return settings


def expired_of(partner):
    return sorted(
        (t.ref_id, t.amount) for t in Transfer.objects.filter(code=Code.EXPIRY, debit_account__partner=partner)
    )


def test_oldest_first_with_spending_in_between(twelve_months):
    partner = PartnerFactory()
    earn(partner, "a", 100, "2025-01-10")  # expires 2026-01-10
    earn(partner, "b", 200, "2025-03-05")  # expires 2026-03-05
    spend(partner, "r1", 150, "2025-04-01")  # takes all of a and 50 of b
    earn(partner, "c", 300, "2025-06-20")  # expires 2026-06-20

    assert services.run_expiry([partner.pk], today=date(2026, 1, 31)).expired_points == 0  # a was spent
    assert services.run_expiry([partner.pk], today=date(2026, 3, 5)).expired_points == 150  # what is left of b
    assert expired_of(partner) == [("2026-03-05", 150)]
    assert balance_of(partner).available == 300
    spend(partner, "r2", 100, "2026-04-01")
    assert services.run_expiry([partner.pk], today=date(2026, 7, 1)).expired_points == 200
    assert balance_of(partner).available == 0
    call_command("check_ledger")


def test_pending_points_age_from_when_they_become_available(twelve_months):
    partner = PartnerFactory()
    earn(partner, "order:1", 100, "2025-01-10", pending=True)
    ledger.post_transfer(
        ledger.resolution(
            "order:1:released", pending_key="order:1", code=Code.ORDER, reason="released", effective_at=at("2025-02-10")
        )
    )
    assert expiry.expiring([partner.pk], months=12, until=date(2026, 12, 31)) == [
        expiry.Expiring(partner.pk, date(2026, 2, 10), 100)
    ]


def test_twice_and_late_expires_once(twelve_months):
    partner = PartnerFactory()
    earn(partner, "a", 100, "2025-01-10")
    earn(partner, "b", 50, "2025-02-10")
    first = services.run_expiry([partner.pk], today=date(2026, 3, 1))  # late: both days due
    again = services.run_expiry([partner.pk], today=date(2026, 3, 1))
    later = services.run_expiry([partner.pk], today=date(2026, 4, 1))
    assert (first.expired_points, again.expired_points, later.expired_points) == (150, 0, 0)
    assert expired_of(partner) == [("2026-01-10", 100), ("2026-02-10", 50)]


def test_a_hold_released_after_expiry_expires_on_the_next_run(twelve_months):
    partner = PartnerFactory()
    earn(partner, "a", 100, "2025-01-10")
    spend(partner, "hold", 60, "2025-12-01", hold=True)  # a redemption waiting: its points are held
    assert services.run_expiry([partner.pk], today=date(2026, 1, 10)).expired_points == 40
    ledger.post_transfer(
        ledger.resolution("hold:void", pending_key="hold", code=Code.REDEMPTION, reason="rejected", void=True)
    )
    assert services.run_expiry([partner.pk], today=date(2026, 1, 11)).expired_points == 60
    assert balance_of(partner).available == 0
    call_command("check_ledger")


def test_expiry_off():
    partner = PartnerFactory()
    earn(partner, "a", 100, "2020-01-10")
    settings = TierSettings.load()
    settings.expiry_months = 0
    settings.save()
    assert services.run_expiry([partner.pk], today=date(2026, 3, 1)).expired_points == 0
