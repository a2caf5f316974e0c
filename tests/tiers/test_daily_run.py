"""The daily run fans out one review and one expiry task per batch of active partners."""

from datetime import date

import pytest

from accounts.models import Partner
from portal.ledger.models import Code, Transfer
from portal.tiers import tasks
from portal.tiers.models import PartnerTier, TierSettings
from tests.factories import PartnerFactory
from tests.tiers.conftest import earn

pytestmark = pytest.mark.django_db


def test_every_active_partner_is_reviewed_and_expired_in_batches(tiers, monkeypatch):
    monkeypatch.setattr(tasks, "BATCH", 4)
    config = TierSettings.load()
    config.expiry_months = 12
    config.save()
    partners = [PartnerFactory() for _ in range(9)]
    suspended = PartnerFactory(status=Partner.Status.SUSPENDED)
    for n, partner in enumerate([*partners, suspended]):
        earn(partner, f"o{n}", 1_000 + n, "2025-05-01")

    result = tasks.daily_run("2026-05-01")  # eager in tests: the batches ran

    assert result == {"day": "2026-05-01", "batches": 3}
    assert set(PartnerTier.objects.values_list("partner_id", flat=True)) == {p.pk for p in partners}
    expired = Transfer.objects.filter(code=Code.EXPIRY)
    assert sorted(expired.values_list("amount", flat=True)) == [1_000 + n for n in range(9)]
    assert PartnerTier.objects.get(partner=partners[0]).reviewed_on == date(2026, 5, 1)
