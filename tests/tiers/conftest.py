from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from portal.ledger import services as ledger
from portal.ledger.models import Code
from portal.tiers.models import Tier

TZ = ZoneInfo("Asia/Jerusalem")


def at(day: str | date) -> datetime:
    """Noon of a day of the programme's calendar."""
    day = date.fromisoformat(day) if isinstance(day, str) else day
    return datetime.combine(day, time(12), tzinfo=TZ)


def earn(partner, key, amount, day, *, code=Code.ORDER, pending=False):
    ledger.post_transfer(
        ledger.earning(partner.pk, key=key, amount=amount, code=code, reason=key, pending=pending, effective_at=at(day))
    )


def spend(partner, key, amount, day, *, code=Code.REDEMPTION, hold=False):
    ledger.post_transfer(
        ledger.spending(partner.pk, key=key, amount=amount, code=code, reason=key, hold=hold, effective_at=at(day))
    )


@pytest.fixture
def tiers():
    """Member 0, Silver 1,000 (x1.10), Gold 5,000 (x1.25)."""
    return {
        "member": Tier.objects.create(name="Member", name_he="חבר", threshold=0),
        "silver": Tier.objects.create(name="Silver", name_he="כסף", threshold=1_000, multiplier=Decimal("1.10")),
        "gold": Tier.objects.create(name="Gold", name_he="זהב", threshold=5_000, multiplier=Decimal("1.25")),
    }


__all__ = ["at", "earn", "spend", "timedelta"]
