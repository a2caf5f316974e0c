"""The figures of a monthly statement, gathered from the ledger for a batch of partners at once.

A statement reads the ledger; it changes nothing. Its month is a calendar month of the programme's time
zone (``settings.PROGRAMME_TIME_ZONE``), and an entry belongs to the month of its ``effective_at``.

**Balance** means *posted* points: posted credits less posted debits (``posted`` and ``post_pending``
transfers), as the ledger's ``credits_posted - debits_posted``. So:

- a redemption counts as redeemed when its hold is posted (the month of the post), and a hold that is
  still open at the month's end is shown beside the balance as *held*, never inside it; a hold voided
  (a rejected redemption) never touched the balance. *Available* at the month's end is closing less held,
  which for the current month is exactly the ledger's ``available``;
- order points inside the return window are *pending* (shown beside the balance) until they are posted;
  a return during the window voids them and so never touches the balance, a return after it is a
  clawback.

The month's movements are the posted points of each code, netted by side (a credit of a spending code
lowers that line, a debit of an earning code lowers its source's line), so every posted transfer falls
in exactly one line and ``closing == opening + earned - redeemed - expired - clawed_back + adjusted_in -
adjusted_out`` holds to the point. Opening and closing are computed back from the account's running
totals less what was posted since, so a long history is never read: only the entries from the chart's
first month on.

Pending and held at the month's end are the pending transfers dated before the end that no resolution
dated before the end had settled; also computed back from the account's open totals.

A batch costs a constant number of queries whatever its size (see ``gather``).
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from accounts.models import Partner
from portal.ledger import expiry
from portal.ledger.models import Code, Phase, Transfer
from portal.ledger.queries import describe_entry, transfer_columns
from portal.tiers import rules
from portal.tiers.models import TierSettings
from portal.tiers.queries import EXPIRY_HORIZON_DAYS, TierProgress, start_of, tier_progress

# The sources of earned points, in the order a statement lists them.
EARNING_CODES = (Code.ORDER, Code.EARLY_PAYMENT, Code.CONTENT, Code.REFERRAL, Code.WELCOME, Code.CAMPAIGN)
CHART_MONTHS = 12


@dataclass(frozen=True)
class StatementMonth:
    first_day: date

    @classmethod
    def of(cls, day: date) -> "StatementMonth":
        return cls(day.replace(day=1))

    @property
    def next_first_day(self) -> date:
        return rules.first_of_next_month(self.first_day)

    @property
    def start(self) -> datetime:
        return start_of(self.first_day)

    @property
    def end(self) -> datetime:
        """The first moment after the month (exclusive)."""
        return start_of(self.next_first_day)

    def chart_months(self) -> list[date]:
        return [rules.add_months(self.first_day, n) for n in range(1 - CHART_MONTHS, 1)]


# A partner's tier now, with its qualifying points over the twelve months before the statement month's end.
TierStanding = TierProgress


@dataclass(frozen=True)
class StatementEntry:
    """One of the month's entries: the transfer (its reason and details for the wording) and what it did."""

    transfer: Transfer
    points: int  # signed as the partner sees it (a void counts against what it voids)
    changes_balance: bool  # posted: the entries where this is true add up to closing - opening
    resolution: str | None  # for a pending transfer, the phase that settled it (now), or None


@dataclass
class Figures:
    partner: Partner
    month: StatementMonth
    opening: int = 0
    earned: dict[str, int] = field(default_factory=lambda: {str(code): 0 for code in EARNING_CODES})
    redeemed: int = 0
    expired: int = 0
    clawed_back: int = 0
    adjusted_in: int = 0
    adjusted_out: int = 0
    closing: int = 0
    pending: int = 0  # order points on their way in at the month's end
    held: int = 0  # points held by open redemptions at the month's end
    tier: TierStanding | None = None
    # Due within 90 days after the month (up to ``expiring_until``), as the ledger stands when the statement is
    # made (``made_at``: what is left of each lot after everything spent so far): the partner reads it as a
    # warning, not as history, and the statement says so.
    expiring: list[expiry.Expiring] = field(default_factory=list)
    made_at: datetime = field(default_factory=timezone.now)
    entries: list[StatementEntry] = field(default_factory=list)
    chart: list[tuple[date, dict[str, int]]] = field(default_factory=list)  # earned by source, oldest first

    @property
    def earned_total(self) -> int:
        return sum(self.earned.values())

    @property
    def available(self) -> int:
        """What the partner could spend at the month's end."""
        return self.closing - self.held

    @property
    def expiring_until(self) -> date:
        """The last day whose expiring points the statement shows (inclusive)."""
        return self.month.next_first_day + timedelta(days=EXPIRY_HORIZON_DAYS)

    @property
    def expiring_total(self) -> int:
        return sum(e.points for e in self.expiring)

    def movements(self) -> int:
        return (
            self.earned_total - self.redeemed - self.expired - self.clawed_back + self.adjusted_in - self.adjusted_out
        )

    def as_json(self) -> dict:
        """The figures a stored statement keeps beside its PDF."""
        return {
            "partner": self.partner.pk,
            "month": self.month.first_day.isoformat(),
            "opening": self.opening,
            "earned": dict(self.earned),
            "redeemed": self.redeemed,
            "expired": self.expired,
            "clawed_back": self.clawed_back,
            "adjusted_in": self.adjusted_in,
            "adjusted_out": self.adjusted_out,
            "closing": self.closing,
            "pending": self.pending,
            "held": self.held,
            "tier": self.tier
            and {
                "name": self.tier.tier.name,
                "qualifying_points": self.tier.qualifying_points,
                "next": self.tier.next_tier.name if self.tier.next_tier else None,
                "points_to_next": self.tier.points_to_next,
            },
            "expiring": [[e.expires_on.isoformat(), e.points] for e in self.expiring],
            "entries": len(self.entries),
        }


def gather(partners: Sequence[Partner], month: StatementMonth) -> dict[int, Figures]:
    """The statement figures of each partner for the month, by partner id.

    Queries whatever the batch's size: the movements, the pending shifts, the month's entries, the
    expiring points, and the tiers (standing, tier list, settings, qualifying points).
    """
    figures = {p.pk: Figures(partner=p, month=month) for p in partners}
    if not figures:
        return figures
    ids = sorted(figures)
    _movements(figures, ids, month)
    _pending_at_end(figures, ids, month)
    _entries(figures, ids, month)
    programme = TierSettings.load()
    for item in expiry.expiring(
        ids,
        months=programme.expiry_months,
        until=month.next_first_day + timedelta(days=EXPIRY_HORIZON_DAYS),  # Figures.expiring_until
    ):
        figures[item.partner_id].expiring.append(item)
    for partner_id, progress in tier_progress(ids, on=month.next_first_day, until=month.end).items():
        figures[partner_id].tier = progress
    return figures


# Per partner: its posted and open totals now, and its posted points per month of the programme's calendar,
# code and side, from the chart's first month on.
_MOVEMENTS_SQL = """
WITH accounts AS (
    SELECT id, partner_id, credits_posted - debits_posted AS posted FROM ledger_account
    WHERE partner_id = ANY(%(partners)s::bigint[])
), moved AS (
    SELECT t.credit_account_id AS account_id, 1 AS side, t.code, t.amount, t.effective_at
    FROM ledger_transfer t JOIN accounts a ON a.id = t.credit_account_id
    WHERE t.effective_at >= %(since)s AND t.phase IN ('posted', 'post_pending')
    UNION ALL
    SELECT t.debit_account_id, -1, t.code, t.amount, t.effective_at
    FROM ledger_transfer t JOIN accounts a ON a.id = t.debit_account_id
    WHERE t.effective_at >= %(since)s AND t.phase IN ('posted', 'post_pending')
)
SELECT a.partner_id, a.posted, date_trunc('month', m.effective_at AT TIME ZONE %(tz)s)::date, m.code, m.side,
       sum(m.amount)::bigint
FROM accounts a LEFT JOIN moved m ON m.account_id = a.id
GROUP BY 1, 2, 3, 4, 5
"""


def _movements(figures: dict[int, Figures], ids: list[int], month: StatementMonth) -> None:
    chart = {p: {m: defaultdict(int) for m in month.chart_months()} for p in ids}
    since = start_of(month.chart_months()[0])
    with connection.cursor() as cursor:
        cursor.execute(_MOVEMENTS_SQL, {"partners": ids, "since": since, "tz": settings.PROGRAMME_TIME_ZONE})
        rows = cursor.fetchall()
    posted_now: dict[int, int] = {}
    since_start: dict[int, int] = defaultdict(int)  # net posted from the month's first moment on
    since_end: dict[int, int] = defaultdict(int)
    for partner_id, posted, row_month, code, side, amount in rows:
        posted_now[partner_id] = posted
        if row_month is None:
            continue
        signed = side * amount
        if row_month >= month.first_day:
            since_start[partner_id] += signed
        if row_month > month.first_day:
            since_end[partner_id] += signed
        if code in figures[partner_id].earned and row_month in chart[partner_id]:
            chart[partner_id][row_month][code] += signed
        if row_month == month.first_day:
            _book(figures[partner_id], code, signed)
    for partner_id in ids:
        f = figures[partner_id]
        now = posted_now.get(partner_id, 0)
        f.opening = now - since_start[partner_id]
        f.closing = now - since_end[partner_id]
        f.chart = [
            (m, {str(c): by_code.get(str(c), 0) for c in EARNING_CODES}) for m, by_code in chart[partner_id].items()
        ]


def _book(f: Figures, code: str, signed: int) -> None:
    """One code's net posted points of the month, on its line of the statement."""
    if code in f.earned:
        f.earned[code] += signed
    elif code == Code.REDEMPTION:
        f.redeemed -= signed
    elif code == Code.EXPIRY:
        f.expired -= signed
    elif code == Code.CLAWBACK:
        f.clawed_back -= signed
    elif code == Code.ADJUSTMENT:
        if signed > 0:
            f.adjusted_in += signed
        else:
            f.adjusted_out -= signed
    else:  # a code the statement does not know yet must not make its sums disagree
        raise ValueError(f"the statement has no line for ledger code {code!r}")


# Per partner: the open totals now, corrected back to the month's end. Open at the end = open now
# - those opened from the end on and still open + those dated before the end and settled from the end on.
_PENDING_SQL = """
WITH accounts AS (
    SELECT id, partner_id, credits_pending, debits_pending FROM ledger_account
    WHERE partner_id = ANY(%(partners)s::bigint[])
), later AS (
    SELECT a.id AS account_id, 1 AS side, t.id, t.phase, t.pending_id, t.amount, t.effective_at
    FROM ledger_transfer t JOIN accounts a ON a.id = t.credit_account_id WHERE t.effective_at >= %(end)s
    UNION ALL
    SELECT a.id, -1, t.id, t.phase, t.pending_id, t.amount, t.effective_at
    FROM ledger_transfer t JOIN accounts a ON a.id = t.debit_account_id WHERE t.effective_at >= %(end)s
), shifts AS (
    SELECT l.account_id, l.side, -l.amount AS amount FROM later l
    WHERE l.phase = 'pending' AND NOT EXISTS (SELECT 1 FROM ledger_transfer r WHERE r.pending_id = l.id)
    UNION ALL
    SELECT l.account_id, l.side, p.amount FROM later l JOIN ledger_transfer p ON p.id = l.pending_id
    WHERE p.effective_at < %(end)s
)
SELECT a.partner_id,
       a.credits_pending + coalesce(sum(s.amount) FILTER (WHERE s.side = 1), 0),
       a.debits_pending + coalesce(sum(s.amount) FILTER (WHERE s.side = -1), 0)
FROM accounts a LEFT JOIN shifts s ON s.account_id = a.id
GROUP BY a.partner_id, a.credits_pending, a.debits_pending
"""


def _pending_at_end(figures: dict[int, Figures], ids: list[int], month: StatementMonth) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_PENDING_SQL, {"partners": ids, "end": month.end})
        for partner_id, pending, held in cursor.fetchall():
            figures[partner_id].pending, figures[partner_id].held = int(pending), int(held)


_ENTRIES_SQL = """
WITH accounts AS (SELECT id, partner_id FROM ledger_account WHERE partner_id = ANY(%(partners)s::bigint[]))
SELECT e.*, CASE WHEN e.phase = 'pending' THEN
       (SELECT r.phase FROM ledger_transfer r WHERE r.pending_id = e.id) END AS resolution
FROM (
    SELECT {columns}, a.partner_id AS statement_partner, 1 AS side
    FROM ledger_transfer t JOIN accounts a ON a.id = t.credit_account_id
    WHERE t.effective_at >= %(start)s AND t.effective_at < %(end)s
    UNION ALL
    SELECT {columns}, a.partner_id, -1
    FROM ledger_transfer t JOIN accounts a ON a.id = t.debit_account_id
    WHERE t.effective_at >= %(start)s AND t.effective_at < %(end)s
) e
ORDER BY e.statement_partner, e.effective_at, e.id
"""


def _entries(figures: dict[int, Figures], ids: list[int], month: StatementMonth) -> None:
    """The month's entries of each partner, oldest first."""
    sql = _ENTRIES_SQL.format(columns=transfer_columns())
    for t in Transfer.objects.raw(sql, {"partners": ids, "start": month.start, "end": month.end}):
        describe_entry(t)  # its points signed as the partner sees them, as the activity page has them
        posted = t.phase in (Phase.POSTED, Phase.POST_PENDING)
        entry = StatementEntry(transfer=t, points=t.points, changes_balance=posted, resolution=t.resolution)
        figures[t.statement_partner].entries.append(entry)
