"""Reads of the ledger that pages, reports and checks share."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from django.db import connection
from django.db.models import (
    Case,
    F,
    Q,
    QuerySet,
    When,
)
from django.utils import timezone
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Partner
from portal.ledger.models import Account, AccountKind, Phase, Transfer


@dataclass(frozen=True)
class Balance:
    available: int
    pending: int
    held: int


def balance_of(partner: Partner) -> Balance:
    """One indexed row: the running totals the ledger keeps."""
    return balance_from(points_account_of(partner))


def points_account_of(partner: Partner) -> Account | None:
    """The partner's points account, or None before its first points."""
    return Account.objects.filter(partner=partner).first()


def balance_from(account: Account | None) -> Balance:
    if account is None:
        return Balance(available=0, pending=0, held=0)
    return Balance(available=account.available, pending=account.pending, held=account.held)


def transfers_of(partner: Partner) -> QuerySet[Transfer]:
    """The partner's transfers, newest first, with `points` signed as the partner sees them."""
    account_id = Account.objects.filter(partner=partner).values("id")[:1]
    return (
        Transfer.objects.filter(Q(debit_account_id__in=account_id) | Q(credit_account_id__in=account_id))
        .annotate(points=Case(When(credit_account_id__in=account_id, then=F("amount")), default=-F("amount")))
        .order_by("-effective_at", "-id")
    )


class EntryKind:
    """What an entry did to the partner, from its phase and its side: the activity page's filter."""

    EARNED = "earned"
    SPENT = "spent"
    PENDING = "pending"
    HELD = "held"
    CANCELLED = "cancelled"

    choices = [
        (EARNED, _("Earned")),
        (SPENT, _("Spent or taken back")),
        (PENDING, _("Pending")),
        (HELD, _("Held for a redemption")),
        (CANCELLED, _("Cancelled or given back")),
    ]


_SETTLED = [Phase.POSTED, Phase.POST_PENDING]
# Which kinds each side of the account can have, and the phases that make them.
_VOIDED = [Phase.VOID_PENDING]
_CREDIT_KINDS = {EntryKind.EARNED: _SETTLED, EntryKind.PENDING: [Phase.PENDING], EntryKind.CANCELLED: _VOIDED}
_DEBIT_KINDS = {EntryKind.SPENT: _SETTLED, EntryKind.HELD: [Phase.PENDING], EntryKind.CANCELLED: _VOIDED}
# The phases whose entries change the available balance, by side: points on their way in (pending,
# or a pending cancelled) wait outside it; a hold leaves it at once, so settling the hold changes nothing.
_CREDITS_AVAILABLE = _SETTLED
_DEBITS_AVAILABLE = [Phase.POSTED, Phase.PENDING, Phase.VOID_PENDING]


@dataclass(frozen=True)
class EntryFilter:
    codes: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    before: tuple[datetime, int] | None = None  # keyset: entries older than this (effective_at, id)
    about: tuple[str, str] | None = None  # (ref_type, ref_id): the entries that refer to one thing, an order


def entries_of(account_id: int | None, entry_filter: EntryFilter = EntryFilter(), *, limit: int) -> list[Transfer]:
    """Up to `limit` of a partner account's entries, newest first, each with:

    - ``points``: signed as the partner sees it. A void undoes its pending
      transfer, so it counts against the pending transfer's sign (cancelled
      order points are minus, a released hold is plus);
    - ``kind``: an ``EntryKind``;
    - ``changes_available``: whether ``points`` moved the available balance
      (the entries where it is true add up to it);
    - ``resolution``: for a pending transfer, the phase of what settled it
      (post or void), or None while it is still open.

    The credit and the debit side are read separately, each newest first down
    its own (account, effective_at) index, and merged: a page costs the same
    for ten entries and for a million. Written in SQL because the pages ask for
    it on every view and the ORM took longer to build this statement than
    PostgreSQL takes to run it.
    """
    if account_id is None:
        return []
    built = _entries_sql("%s", [account_id], entry_filter, limit)
    if built is None:
        return []
    entries = list(Transfer.objects.raw(*built))
    for entry in entries:
        describe_entry(entry)
    return entries


def every_entry_of(account_id: int | None, entry_filter: EntryFilter = EntryFilter(), *, chunk: int = 2_000):
    """All the entries `entries_of` would give, a chunk at a time, so a long history never sits in memory."""
    while True:
        entries = entries_of(account_id, entry_filter, limit=chunk)
        yield from entries
        if len(entries) < chunk:
            return
        entry_filter = replace(entry_filter, before=(entries[-1].effective_at, entries[-1].id))


def transfer_columns(alias: str = "t") -> str:
    """Every column of a transfer, of the table named `alias`, for raw SQL that ``Transfer.objects.raw`` reads."""
    return ", ".join(f"{alias}.{field.column}" for field in Transfer._meta.concrete_fields)


def _entries_sql(account: str, account_params: list, entry_filter: EntryFilter, limit: int):
    """(sql, params) of up to `limit` entries of the account that the SQL expression `account` names
    (with its params), newest first, each with its `side` (1 credit, -1 debit) and its `resolution`;
    None when the filter leaves nothing to ask for."""
    sides, params = [], []
    for column, kinds, sign in (("credit_account_id", _CREDIT_KINDS, 1), ("debit_account_id", _DEBIT_KINDS, -1)):
        wanted = [phase for kind, phases in kinds.items() if not entry_filter.kinds or kind in entry_filter.kinds
                  for phase in phases]  # fmt: skip
        if not wanted:
            continue
        where = [f"t.{column} = {account}", "t.phase = ANY(%s)"]
        params += [*account_params, [str(p) for p in wanted]]
        if entry_filter.codes:
            where.append("t.code = ANY(%s)")
            params.append([str(code) for code in entry_filter.codes])
        if entry_filter.since:
            where.append("t.effective_at >= %s")
            params.append(entry_filter.since)
        if entry_filter.until:
            where.append("t.effective_at < %s")
            params.append(entry_filter.until)
        if entry_filter.before:
            where.append("(t.effective_at, t.id) < (%s, %s)")
            params += list(entry_filter.before)
        if entry_filter.about:
            where.append("(t.ref_type, t.ref_id) = (%s, %s)")
            params += list(entry_filter.about)
        sides.append(
            f"(SELECT {transfer_columns()}, {sign} AS side FROM ledger_transfer t WHERE {' AND '.join(where)}"
            " ORDER BY t.effective_at DESC, t.id DESC LIMIT %s)"
        )
        params.append(limit)
    if not sides:
        return None
    sql = (
        "SELECT e.*, CASE WHEN e.phase = %s THEN"
        " (SELECT r.phase FROM ledger_transfer r WHERE r.pending_id = e.id) END AS resolution"
        f" FROM ({' UNION ALL '.join(sides)}) AS e ORDER BY e.effective_at DESC, e.id DESC LIMIT %s"
    )
    return sql, [str(Phase.PENDING), *params, limit]


def describe_entry(entry: Transfer) -> None:
    """Set what the entry means to the partner, from its ``side`` of the account (1 credit, -1 debit) and its
    phase: ``points``, ``changes_available`` and ``kind``, as ``entries_of`` gives them."""
    credit = entry.side > 0
    signed = entry.amount if credit else -entry.amount
    entry.points = -signed if entry.phase == Phase.VOID_PENDING else signed
    entry.changes_available = entry.phase in (_CREDITS_AVAILABLE if credit else _DEBITS_AVAILABLE)
    kinds = _CREDIT_KINDS if credit else _DEBIT_KINDS
    entry.kind = next(kind for kind, phases in kinds.items() if entry.phase in phases)


# --- An entry as entries_of gives it ----------------------------------------------------------


def status_of(entry: Transfer) -> str:
    """Where the entry's points stand now, in a word or two, in the current language."""
    settled_by = getattr(entry, "resolution", None)
    if entry.phase == Phase.PENDING:
        if entry.points > 0:
            if settled_by == Phase.POST_PENDING:
                return gettext("Released")
            if settled_by == Phase.VOID_PENDING:
                return pgettext("points", "Cancelled")
            return pgettext("points", "Pending")
        if settled_by == Phase.POST_PENDING:
            return pgettext("points", "Spent")
        if settled_by == Phase.VOID_PENDING:
            return gettext("Given back")
        return pgettext("points", "Held")
    if entry.phase == Phase.POST_PENDING and entry.points < 0:
        return gettext("Hold settled")
    if entry.phase == Phase.VOID_PENDING:
        return pgettext("points", "Cancelled") if entry.points < 0 else gettext("Given back")
    return pgettext("points", "Available") if entry.points > 0 else pgettext("points", "Deducted")


def available_change(entry: Transfer) -> int:
    """What the entry did to the available balance: the entries' changes add up to it."""
    return entry.points if getattr(entry, "changes_available", True) else 0


def is_open(entry: Transfer) -> bool:
    """Pending or held, and not settled yet."""
    return entry.phase == Phase.PENDING and getattr(entry, "resolution", None) is None


def open_pending() -> QuerySet[Transfer]:
    """The pending transfers no post or void has settled yet."""
    return Transfer.objects.filter(phase=Phase.PENDING).exclude(
        pk__in=Transfer.objects.filter(pending__isnull=False).values("pending_id")
    )


def open_pending_of(ref_type: str, ref_ids: Iterable[str]) -> dict[str, Transfer]:
    """The open pending transfer of each of these references (an order's points inside its return window),
    by ref_id, in one query; with only its key, amount and ref_id read."""
    transfers = open_pending().filter(ref_type=ref_type, ref_id__in=list(ref_ids)).only("key", "amount", "ref_id")
    return {t.ref_id: t for t in transfers}


@dataclass(frozen=True)
class PointsSummary:
    """A partner's balance, what it earned per month and its latest entries: the dashboard's ledger figures."""

    account_id: int | None
    balance: Balance
    earned_by_month: list[tuple[date, str, int]]  # (month, code, points), oldest first
    latest: list[Transfer]  # as entries_of gives them


def points_summary(partner: Partner, *, since: datetime, latest: int) -> PointsSummary:
    """The partner's balance, the points its account earned per month and source from `since` on,
    and its `latest` entries, in one query (the dashboard is the page partners open most).

    Earned means credited: posted points and pending points still on their
    way (not cancelled), counted in the month (in the current time zone) of
    the event that earned them. Points spent, clawed back or expired are not
    subtracted: the chart shows what each source brought in. A cancelled
    pending transfer is taken out by its void (a void is dated after what it
    voids), rather than by looking for a void behind every credit: that
    read the whole year's credits twice.
    """
    entries_sql, entries_params = _entries_sql("a.id", [], EntryFilter(), latest)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT a.id, a.credits_posted, a.debits_posted, a.debits_pending, a.credits_pending,
                (SELECT json_agg(json_build_array(m.month, m.code, m.points) ORDER BY m.month, m.code) FROM (
                    SELECT date_trunc('month', e.effective_at AT TIME ZONE %s)::date AS month, e.code,
                           sum(e.amount) AS points
                    FROM (
                        SELECT t.effective_at, t.code, t.amount FROM ledger_transfer t
                        WHERE t.credit_account_id = a.id AND t.effective_at >= %s AND t.phase IN (%s, %s)
                        UNION ALL
                        SELECT p.effective_at, p.code, -p.amount
                        FROM ledger_transfer v JOIN ledger_transfer p ON p.id = v.pending_id
                        WHERE v.credit_account_id = a.id AND v.effective_at >= %s AND v.phase = %s
                          AND p.effective_at >= %s
                    ) e
                    GROUP BY 1, 2
                ) m),
                (SELECT json_agg(l) FROM ({entries_sql}) l)
            FROM ledger_account a
            WHERE a.partner_id = %s
            """,
            [
                timezone.get_current_timezone_name(),
                since,
                str(Phase.POSTED),
                str(Phase.PENDING),
                since,
                str(Phase.VOID_PENDING),
                since,
                *entries_params,
                partner.id,
            ],
        )
        row = cursor.fetchone()
    if row is None:
        return PointsSummary(account_id=None, balance=balance_from(None), earned_by_month=[], latest=[])
    account_id, credits_posted, debits_posted, debits_pending, credits_pending, months, entries = row
    account = Account(
        credits_posted=credits_posted,
        debits_posted=debits_posted,
        debits_pending=debits_pending,
        credits_pending=credits_pending,
    )
    return PointsSummary(
        account_id=account_id,
        balance=balance_from(account),
        earned_by_month=[(date.fromisoformat(month), code, points) for month, code, points in months or []],
        latest=[_entry_from_json(entry) for entry in entries or []],
    )


def _entry_from_json(values: dict) -> Transfer:
    """A transfer read back from json_agg (the database keeps the order the SQL gave)."""
    entry = Transfer(**{field.attname: values[field.column] for field in Transfer._meta.concrete_fields})
    entry.effective_at = datetime.fromisoformat(values["effective_at"])
    entry.created_at = datetime.fromisoformat(values["created_at"])
    entry.side, entry.resolution = values["side"], values["resolution"]
    describe_entry(entry)
    return entry


def discrepancies() -> list[str]:
    """Every invariant of the ledger that does not hold, in words; empty when all hold."""
    problems = []
    with connection.cursor() as cursor:
        cursor.execute(_ACCOUNT_TOTALS_SQL)
        for account_id, kind, stored, computed in cursor.fetchall():
            problems.append(
                f"account {account_id} ({kind}): stored totals {stored} differ from its transfers {computed}"
            )
        cursor.execute(
            "SELECT coalesce(sum(debits_posted), 0), coalesce(sum(credits_posted), 0),"
            " coalesce(sum(debits_pending), 0), coalesce(sum(credits_pending), 0) FROM ledger_account"
        )
        dp, cp, dpe, cpe = cursor.fetchone()
        if dp != cp:
            problems.append(f"posted debits {dp} differ from posted credits {cp}")
        if dpe != cpe:
            problems.append(f"pending debits {dpe} differ from pending credits {cpe}")
        cursor.execute(
            "SELECT coalesce(sum(credits_posted - debits_posted) FILTER (WHERE kind = %s), 0),"
            " coalesce(sum(debits_posted - credits_posted) FILTER (WHERE kind <> %s), 0) FROM ledger_account",
            [AccountKind.PARTNER, AccountKind.PARTNER],
        )
        partners, outstanding = cursor.fetchone()
        if partners != outstanding:
            problems.append(
                f"points outstanding on the programme's accounts ({outstanding}) differ from"
                f" the sum of the partners' balances ({partners})"
            )
        cursor.execute(_RESOLUTIONS_SQL)
        for key, pending_key, why in cursor.fetchall():
            problems.append(f"transfer {key} resolves pending transfer {pending_key} wrongly: {why}")
    return problems


# Each account's four totals recomputed from its transfers. A pending transfer
# counts as pending until a post or void names it; a post counts as posted.
_ACCOUNT_TOTALS_SQL = """
WITH open_pending AS (
    SELECT p.* FROM ledger_transfer p
    WHERE p.phase = 'pending'
      AND NOT EXISTS (SELECT 1 FROM ledger_transfer r WHERE r.pending_id = p.id)
), sides AS (
    SELECT debit_account_id AS account_id, amount AS dp, 0 AS cp, 0 AS dpe, 0 AS cpe
      FROM ledger_transfer WHERE phase IN ('posted', 'post_pending')
    UNION ALL
    SELECT credit_account_id, 0, amount, 0, 0 FROM ledger_transfer WHERE phase IN ('posted', 'post_pending')
    UNION ALL
    SELECT debit_account_id, 0, 0, amount, 0 FROM open_pending
    UNION ALL
    SELECT credit_account_id, 0, 0, 0, amount FROM open_pending
), computed AS (
    SELECT account_id, sum(dp) AS dp, sum(cp) AS cp, sum(dpe) AS dpe, sum(cpe) AS cpe
    FROM sides GROUP BY account_id
)
SELECT a.id, a.kind,
       ARRAY[a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending],
       ARRAY[coalesce(c.dp, 0), coalesce(c.cp, 0), coalesce(c.dpe, 0), coalesce(c.cpe, 0)]::bigint[]
FROM ledger_account a LEFT JOIN computed c ON c.account_id = a.id
WHERE (a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending)
      IS DISTINCT FROM (coalesce(c.dp, 0), coalesce(c.cp, 0), coalesce(c.dpe, 0), coalesce(c.cpe, 0))
ORDER BY a.id
"""

_RESOLUTIONS_SQL = """
SELECT r.key, p.key,
       CASE WHEN p.phase <> 'pending' THEN 'the transfer it names is not pending'
            WHEN (r.debit_account_id, r.credit_account_id) <> (p.debit_account_id, p.credit_account_id)
                 THEN 'its accounts differ from the pending transfer''s'
            WHEN r.amount > p.amount THEN 'it moves more than was pending'
            ELSE 'a void must release the whole pending amount' END
FROM ledger_transfer r JOIN ledger_transfer p ON p.id = r.pending_id
WHERE p.phase <> 'pending'
   OR (r.debit_account_id, r.credit_account_id) <> (p.debit_account_id, p.credit_account_id)
   OR r.amount > p.amount
   OR (r.phase = 'void_pending' AND r.amount <> p.amount)
ORDER BY r.id
"""


# Per partner, the points of some codes credited (posted) less those of other codes debited, since each of
# several moments: a tier's qualifying points over a rolling window, now and as they will stand later.
_NET_SINCE_SQL = """
WITH accounts AS (
    SELECT a.id, a.partner_id FROM unnest(%(partners)s::bigint[]) AS p(id) JOIN ledger_account a ON a.partner_id = p.id
),
moved AS (
    SELECT a.partner_id, t.amount, t.effective_at FROM ledger_transfer t JOIN accounts a ON a.id = t.credit_account_id
    WHERE t.phase IN ('posted', 'post_pending') AND t.code = ANY(%(credits)s::text[]) AND t.effective_at >= %(first)s
    UNION ALL
    SELECT a.partner_id, -t.amount, t.effective_at FROM ledger_transfer t JOIN accounts a ON a.id = t.debit_account_id
    WHERE t.phase IN ('posted', 'post_pending') AND t.code = ANY(%(debits)s::text[]) AND t.effective_at >= %(first)s
)
SELECT partner_id, {sums} FROM moved GROUP BY partner_id
"""


def net_points_since(
    partner_ids: Sequence[int], *, credit_codes: Sequence[str], debit_codes: Sequence[str], since: Sequence[datetime]
) -> dict[int, list[int]]:
    """For each partner, one figure per moment of `since`: the posted points of `credit_codes` it received
    less those of `debit_codes` taken from it, effective from that moment on. One statement for a batch;
    a partner with no such entries is missing (its figures are all 0)."""
    if not partner_ids or not since:
        return {}
    params = {
        "partners": list(partner_ids),
        "credits": [str(c) for c in credit_codes],
        "debits": [str(c) for c in debit_codes],
        "first": min(since),
    }
    sums = []
    for n, moment in enumerate(since):
        params[f"since_{n}"] = moment
        sums.append(f"coalesce(sum(amount) FILTER (WHERE effective_at >= %(since_{n})s), 0)::bigint")
    with connection.cursor() as cursor:
        cursor.execute(_NET_SINCE_SQL.format(sums=", ".join(sums)), params)
        return {partner_id: list(figures) for partner_id, *figures in cursor.fetchall()}
