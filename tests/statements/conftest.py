from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from portal.ledger import services as ledger
from portal.ledger.models import Code

TZ = ZoneInfo("Asia/Jerusalem")


@pytest.fixture(autouse=True)
def statements_in_a_folder_of_their_own(settings, tmp_path):
    """Each test's statement files in its own folder (the storage is reset when STORAGES changes)."""
    storages = {**settings.STORAGES}
    storages["statements"] = {**storages["statements"], "OPTIONS": {"location": tmp_path / "statements"}}
    settings.STORAGES = storages


def at(day: str | date, hour: int = 12) -> datetime:
    """An hour of a day of the programme's calendar (noon unless told)."""
    day = date.fromisoformat(day) if isinstance(day, str) else day
    return datetime.combine(day, time(hour), tzinfo=TZ)


def earn(partner, key, amount, when, *, code=Code.ORDER, pending=False, **meta):
    return ledger.post_transfer(
        ledger.earning(partner.pk, key=key, amount=amount, code=code, reason=key, pending=pending,
                       effective_at=_moment(when), **meta)
    )  # fmt: skip


def spend(partner, key, amount, when, *, code=Code.REDEMPTION, hold=False, **meta):
    return ledger.post_transfer(
        ledger.spending(partner.pk, key=key, amount=amount, code=code, reason=key, hold=hold,
                        effective_at=_moment(when), **meta)
    )  # fmt: skip


def settle(pending_key, when, *, code=Code.ORDER, void=False, amount=None):
    return ledger.post_transfer(
        ledger.resolution(f"{pending_key}:{'void' if void else 'post'}", pending_key=pending_key, code=code,
                          reason="settled", void=void, amount=amount, effective_at=_moment(when))
    )  # fmt: skip


def _moment(when):
    return when if isinstance(when, datetime) else at(when)
