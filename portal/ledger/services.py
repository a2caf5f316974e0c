"""The ledger's use cases: the only code that writes accounts and transfers.

Everything goes through ``post_transfers``, which takes a batch and posts it in
one transaction, like TigerBeetle's ``create_transfers``, in two statements
whatever the batch's size: one locks the accounts and reads what already
exists (and draws the new transfers' ids), one inserts the transfers and moves
the accounts' totals. Each transfer in a batch succeeds or fails on its own and
says why. A single transfer is a batch of one (``post_transfer``).

Locking: the accounts a batch touches (and those of the pending transfers it
resolves) are locked in id order with ``FOR NO KEY UPDATE``, so two batches
never deadlock on each other and limits are checked against totals nobody else
can change. What exists is read in that same statement, so as it was just
before the locks were granted: a transfer committed meanwhile by another batch
(a retry of the same key, another resolution of the same pending transfer) is
caught by the unique keys when inserting (``ON CONFLICT DO NOTHING`` inserts
fewer rows, the totals then do not move), and the batch is tried again from a
savepoint. Callers that lock rows of their own take them before calling the
ledger; ledger locks come last.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from django.db import connection, transaction
from django.utils import timezone

from portal.bulk import SMALL_ARRAY, batch_cursor, bind_array, insert_rows_sql
from portal.ledger.errors import InsufficientPoints, TransferRejected
from portal.ledger.models import CODES_THAT_MAY_OVERDRAW, PROGRAMME_SHARDS, AccountKind, Code, Phase, Transfer


@dataclass(frozen=True)
class PartnerAccount:
    """The points account of a partner, named by the partner's id (opened on first use)."""

    partner_id: int


@dataclass(frozen=True)
class ProgrammeAccount:
    """One of the programme's accounts. Each is kept in PROGRAMME_SHARDS rows, so transfers of
    different partners do not queue on one row lock; `for_partner` picks the partner's row."""

    kind: AccountKind
    shard: int = 0

    @classmethod
    def for_partner(cls, kind: AccountKind, partner_id: int) -> "ProgrammeAccount":
        return cls(kind, partner_id % PROGRAMME_SHARDS)


AccountRef = PartnerAccount | ProgrammeAccount


@dataclass(frozen=True)
class TransferRequest:
    """One transfer to post. `key` makes a retry harmless: choose it from the cause.

    For ``Phase.POST_PENDING`` and ``Phase.VOID_PENDING`` name the pending
    transfer by `pending_key` and leave the accounts out; `amount` may then be
    None (the whole pending amount) or, when posting, a part of it.
    """

    key: str
    code: Code
    reason: str
    amount: int | None = None
    debit: AccountRef | None = None
    credit: AccountRef | None = None
    phase: Phase = Phase.POSTED
    pending_key: str | None = None
    corrects_key: str | None = None
    details: dict = field(default_factory=dict)
    actor_id: int | None = None
    actor_label: str = ""
    ref_type: str = ""
    ref_id: str = ""
    effective_at: datetime | None = None


@dataclass(frozen=True)
class TransferResult:
    key: str
    status: Literal["created", "exists", "failed"]
    transfer_id: int | None = None
    error: TransferRejected | None = None

    @property
    def ok(self) -> bool:
        return self.status != "failed"


# --- Building requests in the programme's words -------------------------------------

_SPENDING_DESTINATION = {
    Code.REDEMPTION: AccountKind.REDEEMED,
    Code.EXPIRY: AccountKind.EXPIRED,
    Code.CLAWBACK: AccountKind.ISSUED,
    Code.ADJUSTMENT: AccountKind.ADJUSTMENTS,
}


def earning(partner_id: int, *, key: str, amount: int, code: Code, reason: str, pending=False, **meta):
    """Points the programme gives a partner; `pending` while they may still be taken back."""
    source = AccountKind.ADJUSTMENTS if code == Code.ADJUSTMENT else AccountKind.ISSUED
    return TransferRequest(
        key=key,
        amount=amount,
        code=code,
        reason=reason,
        debit=ProgrammeAccount.for_partner(source, partner_id),
        credit=PartnerAccount(partner_id),
        phase=Phase.PENDING if pending else Phase.POSTED,
        **meta,
    )


def spending(partner_id: int, *, key: str, amount: int, code: Code, reason: str, hold=False, **meta):
    """Points that leave a partner: redeemed, expired, clawed back or adjusted away.

    With `hold` the points are held (a pending debit) until the hold is posted
    or voided, as a redemption waits for approval.
    """
    return TransferRequest(
        key=key,
        amount=amount,
        code=code,
        reason=reason,
        debit=PartnerAccount(partner_id),
        credit=ProgrammeAccount.for_partner(_SPENDING_DESTINATION[code], partner_id),
        phase=Phase.PENDING if hold else Phase.POSTED,
        **meta,
    )


def resolution(key: str, *, pending_key: str, code: Code, reason: str, void=False, amount=None, **meta):
    """Post (whole or in part) or void a pending transfer; each pending transfer once."""
    return TransferRequest(
        key=key,
        amount=amount,
        code=code,
        reason=reason,
        phase=Phase.VOID_PENDING if void else Phase.POST_PENDING,
        pending_key=pending_key,
        **meta,
    )


# --- Posting ------------------------------------------------------------------------


class KeyRace(Exception):
    """Another transaction inserted a key the batch names (its own, or a pending transfer's) after the batch
    looked: posting the batch again gives the right results. Retried by ``post_transfers`` itself, unless it
    was told not to take a savepoint inside its caller's transaction."""


def post_transfer(request: TransferRequest) -> Transfer:
    """Post one transfer; return it (the first one, when its key was posted before)."""
    (result,) = post_transfers([request])
    if result.error:
        raise result.error
    return Transfer.objects.get(pk=result.transfer_id)


def post_transfers(requests: Sequence[TransferRequest], *, savepoint: bool = True) -> list[TransferResult]:
    """Post a batch of transfers in one transaction; one result per request, in order.

    Inside a caller's transaction the batch runs in a savepoint, so an error or a key race undoes the batch
    alone (a race is retried). ``savepoint=False``, as for ``transaction.atomic``, saves the savepoint's two
    statements when the caller's transaction is all or nothing anyway: any error then marks it for rollback,
    and a key race raises KeyRace for the caller to try its whole transaction again.
    """
    if not requests:
        return []
    for attempt in range(3):
        try:
            return _attempt(list(requests), savepoint=savepoint)
        except KeyRace:
            if attempt == 2 or (connection.in_atomic_block and not savepoint):
                raise
    raise AssertionError("unreachable")


_SAVEPOINT = "ledger_batch"


def _attempt(requests: list[TransferRequest], *, savepoint: bool) -> list[TransferResult]:
    """One try: in a transaction of its own, or in the caller's transaction (in a savepoint of it, unless told
    not to), so that a key race or an error undoes exactly what it must.

    The savepoint is taken by hand on the batch's own cursor: ``transaction.atomic()`` costs twice the CPU.
    """
    # Bound on the server: a Django cursor would quote every element of the batch's arrays into the SQL.
    with connection.wrap_database_errors, batch_cursor() as cursor:
        if not connection.in_atomic_block:
            with transaction.atomic():
                return _post_batch(cursor, requests)
        if not savepoint:
            try:
                return _post_batch(cursor, requests)
            except BaseException:
                transaction.set_rollback(True)  # whatever the batch wrote must not be committed
                raise
        cursor.execute(f"SAVEPOINT {_SAVEPOINT}")
        try:
            results = _post_batch(cursor, requests)
        except BaseException:
            _roll_back_to_savepoint(cursor)
            raise
        cursor.execute(f"RELEASE SAVEPOINT {_SAVEPOINT}")
        return results


def _roll_back_to_savepoint(cursor) -> None:
    try:
        cursor.execute(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}")
        cursor.execute(f"RELEASE SAVEPOINT {_SAVEPOINT}")
    except Exception:  # the connection is gone: the first error is the one to report
        pass


@dataclass
class _AccountState:
    id: int
    kind: str
    shard: int
    partner_id: int | None
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    changed: bool = False

    @property
    def available(self) -> int:
        return self.credits_posted - self.debits_posted - self.debits_pending


@dataclass(frozen=True)
class _Row:
    """A transfer as stored, or as it will be stored."""

    id: int
    key: str
    debit_account_id: int
    credit_account_id: int
    amount: int
    phase: str
    pending_id: int | None
    code: str
    ref_type: str
    ref_id: str

    def same_as(self, other: "_Row") -> bool:
        fields = ("debit_account_id", "credit_account_id", "amount", "phase", "pending_id", "code")
        return all(getattr(self, f) == getattr(other, f) for f in fields + ("ref_type", "ref_id"))


def _post_batch(cursor, requests: list[TransferRequest]) -> list[TransferResult]:
    keys = [r.key for r in requests]
    pending_keys = {r.pending_key for r in requests if r.pending_key}
    referenced = pending_keys | {r.corrects_key for r in requests if r.corrects_key}
    accounts, existing, resolved, new_ids = _lock_and_read(cursor, requests, set(keys) | referenced, pending_keys)
    missing = [k for k in referenced if k not in existing and k not in keys]
    if missing:
        # Read before our locks were granted: a transfer committed while we waited is found now, and if its
        # accounts are not among those locked, the retry locks them.
        found, found_resolved = _fetch_transfers(cursor, missing)
        existing.update(found)
        resolved.update(found_resolved)
    if not _locked_for_pendings(requests, existing, accounts):
        raise KeyRace()
    new_ids = iter(new_ids)

    results, rows = [], []
    by_key: dict[str, _Row] = dict(existing)
    now = timezone.now()
    for request in requests:
        try:
            row = _check(request, accounts, by_key, resolved, new_id=next(new_ids))
        except TransferRejected as error:
            results.append(TransferResult(request.key, "failed", error=error))
            continue
        if row.key in by_key:
            first = by_key[row.key]
            if first.same_as(row):
                results.append(TransferResult(request.key, "exists", transfer_id=first.id))
            else:
                error = TransferRejected("exists_with_different_fields", key=row.key)
                results.append(TransferResult(request.key, "failed", transfer_id=first.id, error=error))
            continue
        released = by_key[request.pending_key].amount if row.pending_id else 0
        _apply(row, accounts, released=released)
        by_key[row.key] = row
        if row.pending_id:
            resolved[row.pending_id] = row.phase
        rows.append((row, request))
        results.append(TransferResult(request.key, "created", transfer_id=row.id))

    if rows:
        _insert_and_move(cursor, rows, by_key, now, [a for a in accounts.by_id.values() if a.changed])
    return results


class _Accounts:
    def __init__(self, states: list[_AccountState]):
        self.by_id = {a.id: a for a in states}
        self.by_partner = {a.partner_id: a for a in states if a.partner_id}
        self.by_kind = {(a.kind, a.shard): a for a in states if not a.partner_id}

    def resolve(self, ref: AccountRef | None) -> _AccountState:
        found = None
        if isinstance(ref, PartnerAccount):
            found = self.by_partner.get(ref.partner_id)
        elif isinstance(ref, ProgrammeAccount):
            found = self.by_kind.get((ref.kind, ref.shard))
        if found is None:
            raise TransferRejected("account_not_found")
        return found


def _lock_and_read(cursor, requests, keys: set[str], pending_keys: set[str]):
    """Lock the batch's accounts (opening those used for the first time) and read the transfers named by `keys`,
    with the resolution of each that is a resolved pending transfer, and draw an id for each request."""
    partner_ids = sorted({ref.partner_id for ref in _refs(requests) if isinstance(ref, PartnerAccount)})
    programme = sorted({(str(ref.kind), ref.shard) for ref in _refs(requests) if isinstance(ref, ProgrammeAccount)})
    params: dict = {}
    pending_accounts = ""
    if pending_keys:
        pending = bind_array(params, "pending", sorted(pending_keys), "text")
        pending_accounts = _PENDING_ACCOUNTS.format(pending_keys=pending)
    sql = _LOCK_AND_READ.format(
        partners=bind_array(params, "partners", partner_ids, "bigint"),
        kinds=bind_array(params, "kinds", [k for k, _ in programme], "text"),
        shards=bind_array(params, "shards", [n for _, n in programme], "smallint"),
        pending_accounts=pending_accounts,
        transfers=_TRANSFERS.format(keys=bind_array(params, "keys", sorted(keys), "text")),
        count=_count(params, len(requests)),
    )
    for opened in (False, True):
        cursor.execute(sql, params)
        states, existing, resolved, new_ids = [], {}, {}, []
        for tag, *values in cursor.fetchall():
            if tag == "a":
                states.append(_AccountState(*values[:_ACCOUNT_WIDTH]))
            elif tag == "t":
                row = _Row(*values[_ACCOUNT_WIDTH : _ID_COLUMN - 1])
                existing[row.key] = row
                if values[_ID_COLUMN - 1]:
                    resolved[row.id] = values[_ID_COLUMN - 1]
            else:
                new_ids = values[_ID_COLUMN]
        found_partners = {s.partner_id for s in states if s.partner_id}
        found_programme = {(s.kind, s.shard) for s in states if not s.partner_id}
        missing_partners = [p for p in partner_ids if p not in found_partners]
        missing_programme = [pair for pair in programme if pair not in found_programme]
        if opened or not (missing_partners or missing_programme):
            break
        _open_accounts(cursor, missing_partners, missing_programme)
    return _Accounts(states), existing, resolved, new_ids


_ACCOUNT_FIELDS = [
    ("id", "bigint"),
    ("kind", "text"),
    ("shard", "smallint"),
    ("partner_id", "bigint"),
    ("debits_posted", "bigint"),
    ("credits_posted", "bigint"),
    ("debits_pending", "bigint"),
    ("credits_pending", "bigint"),
]
_TRANSFER_FIELDS = [
    ("id", "bigint"),
    ("key", "text"),
    ("debit_account_id", "bigint"),
    ("credit_account_id", "bigint"),
    ("amount", "bigint"),
    ("phase", "text"),
    ("pending_id", "bigint"),
    ("code", "text"),
    ("ref_type", "text"),
    ("ref_id", "text"),
]
_ACCOUNT_WIDTH = len(_ACCOUNT_FIELDS)
_ID_COLUMN = _ACCOUNT_WIDTH + len(_TRANSFER_FIELDS) + 1  # after the transfer's columns and its resolution's phase


def _columns(fields, alias: str | None) -> str:
    """The fields from `alias`, or NULLs of their types where a row of the other kind has them."""
    if alias is None:
        return ", ".join(f"NULL::{pg_type}" for _, pg_type in fields)
    return ", ".join(f"{alias}.{name}::{pg_type}" for name, pg_type in fields)


def _count(params: dict, count: int) -> str:
    """The number of ids to draw: in the SQL's text when small, like `bind_array`'s few values."""
    if count <= SMALL_ARRAY:
        return str(int(count))
    params["count"] = count
    return "%(count)s::int"


# The SQL below is formatted with the arrays `bind_array` binds (the `{...}` fields), then run with those.
# The resolution of a pending transfer, if any: a pending transfer is resolved at most once (a unique index).
_TRANSFERS = f"""
    SELECT {_columns(_TRANSFER_FIELDS, "t")},
           (SELECT r.phase::text FROM ledger_transfer AS r WHERE r.pending_id = t.id)
    FROM ledger_transfer AS t WHERE t.key = ANY({{keys}})
"""
_PENDING_ACCOUNTS = """
    OR id = ANY((
        SELECT array_agg(x) FROM ledger_transfer AS p, unnest(ARRAY[p.debit_account_id, p.credit_account_id]) AS x
        WHERE p.key = ANY({pending_keys})
    )::bigint[])
"""
# One statement, three kinds of row (a: a locked account, t: a transfer that exists, i: the new ids), so a
# batch costs one round trip before its insert. The accounts are locked in id order (no deadlocks); the
# programme's accounts are found through their unique (kind, shard) index, not among all of them.
_LOCK_AND_READ = f"""
    WITH locked AS MATERIALIZED (
        SELECT {", ".join(name for name, _ in _ACCOUNT_FIELDS)} FROM ledger_account
        WHERE partner_id = ANY({{partners}})
           OR id = ANY((
               SELECT array_agg(a.id) FROM ledger_account AS a, unnest({{kinds}}, {{shards}}) AS wanted(kind, shard)
               WHERE a.kind <> '{AccountKind.PARTNER.value}' AND a.kind = wanted.kind AND a.shard = wanted.shard
           )::bigint[])
           {{pending_accounts}}
        ORDER BY id FOR NO KEY UPDATE
    )
    SELECT 'a', {_columns(_ACCOUNT_FIELDS, "locked")}, {_columns(_TRANSFER_FIELDS, None)}, NULL::text, NULL::bigint[]
    FROM locked
    UNION ALL
    SELECT 't', {_columns(_ACCOUNT_FIELDS, None)}, transfers.*, NULL::bigint[] FROM ({{transfers}}) AS transfers
    UNION ALL
    SELECT 'i', {_columns(_ACCOUNT_FIELDS, None)}, {_columns(_TRANSFER_FIELDS, None)}, NULL::text,
           ARRAY(SELECT nextval(pg_get_serial_sequence('ledger_transfer', 'id')) FROM generate_series(1, {{count}}))
"""


def _locked_for_pendings(requests, existing, accounts: _Accounts) -> bool:
    """Whether we hold the accounts of every pending transfer the batch resolves.

    A pending transfer committed between our first look and our locks was not
    seen when choosing what to lock; the retry sees it and locks its accounts.
    """
    pendings = [existing[r.pending_key] for r in requests if r.pending_key in existing]
    return all(p.debit_account_id in accounts.by_id and p.credit_account_id in accounts.by_id for p in pendings)


def _refs(requests):
    for r in requests:
        yield from (ref for ref in (r.debit, r.credit) if ref is not None)


def _open_accounts(cursor, partner_ids: list[int], programme: list[tuple[str, int]]) -> None:
    """Open the accounts a batch names for the first time (a partner's first points).

    Only for partners that exist: an unknown partner keeps no account, so its
    transfers fail on their own (account_not_found) instead of the deferred
    foreign key failing the whole batch at commit.
    """
    if partner_ids:
        cursor.execute(
            """
            INSERT INTO ledger_account
                (kind, shard, partner_id, debits_posted, credits_posted, debits_pending, credits_pending)
            SELECT %s, 0, p.id, 0, 0, 0, 0 FROM accounts_partner AS p WHERE p.id = ANY(%s::bigint[])
            ON CONFLICT (partner_id) DO NOTHING
            """,
            [AccountKind.PARTNER.value, partner_ids],
        )
    if programme:
        cursor.execute(
            """
            INSERT INTO ledger_account
                (kind, shard, partner_id, debits_posted, credits_posted, debits_pending, credits_pending)
            SELECT k, n, NULL, 0, 0, 0, 0 FROM unnest(%s::text[], %s::smallint[]) AS t(k, n)
            ON CONFLICT (kind, shard) WHERE kind <> 'partner' DO NOTHING
            """,
            [[k for k, _ in programme], [n for _, n in programme]],
        )


def _fetch_transfers(cursor, keys: list[str]) -> tuple[dict[str, _Row], dict[int, str]]:
    """The transfers with these keys as they are now, and the phase of the resolution of those resolved."""
    params: dict = {}
    cursor.execute(_TRANSFERS.format(keys=bind_array(params, "keys", keys, "text")), params)
    existing, resolved = {}, {}
    for *values, resolution in cursor.fetchall():
        row = _Row(*values)
        existing[row.key] = row
        if resolution:
            resolved[row.id] = resolution
    return existing, resolved


def _check(request: TransferRequest, accounts: _Accounts, by_key, resolved, *, new_id: int) -> _Row:
    """Validate one request against the locked state and return the row it would store."""
    amount = request.amount
    pending = None
    if request.phase in (Phase.POST_PENDING, Phase.VOID_PENDING):
        pending = by_key.get(request.pending_key)
        if pending is None:
            raise TransferRejected("pending_transfer_not_found", pending_key=request.pending_key)
        if pending.phase != Phase.PENDING:
            raise TransferRejected("pending_transfer_not_pending", pending_key=request.pending_key)
        debit = accounts.by_id[pending.debit_account_id]
        credit = accounts.by_id[pending.credit_account_id]
        if amount is None:
            amount = pending.amount
    else:
        debit = accounts.resolve(request.debit)
        credit = accounts.resolve(request.credit)
    row = _Row(
        id=new_id,
        key=request.key,
        debit_account_id=debit.id,
        credit_account_id=credit.id,
        amount=amount,
        phase=request.phase,
        pending_id=pending.id if pending else None,
        code=request.code,
        ref_type=request.ref_type,
        ref_id=request.ref_id,
    )
    if request.key in by_key:
        return row  # a retry: the caller compares it with the first, whatever else is wrong with it

    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise TransferRejected("amount_must_be_positive")
    if debit.id == credit.id:
        raise TransferRejected("accounts_must_be_different")
    if request.corrects_key and request.corrects_key not in by_key:
        raise TransferRejected("corrected_transfer_not_found", corrects_key=request.corrects_key)
    if pending is not None:
        if pending.id in resolved:
            posted = resolved[pending.id] == Phase.POST_PENDING
            code = "pending_transfer_already_posted" if posted else "pending_transfer_already_voided"
            raise TransferRejected(code, pending_key=request.pending_key)
        if amount > pending.amount or (request.phase == Phase.VOID_PENDING and amount != pending.amount):
            raise TransferRejected("pending_amount_exceeded", amount=amount, pending_amount=pending.amount)
    elif debit.kind == AccountKind.PARTNER and request.code not in CODES_THAT_MAY_OVERDRAW and debit.available < amount:
        raise InsufficientPoints("exceeds_available", available=debit.available, amount=amount)
    return row


def _apply(row: _Row, accounts: _Accounts, *, released: int) -> None:
    """Move the totals; `released` is the pending amount a post or void lets go of."""
    debit, credit = accounts.by_id[row.debit_account_id], accounts.by_id[row.credit_account_id]
    debit.debits_pending -= released
    credit.credits_pending -= released
    if row.phase == Phase.PENDING:
        debit.debits_pending += row.amount
        credit.credits_pending += row.amount
    elif row.phase in (Phase.POSTED, Phase.POST_PENDING):
        debit.debits_posted += row.amount
        credit.credits_posted += row.amount
    debit.changed = credit.changed = True


_TRANSFER_INSERT_COLUMNS = [
    ("id", "bigint"),
    ("key", "text"),
    ("debit_account_id", "bigint"),
    ("credit_account_id", "bigint"),
    ("amount", "bigint"),
    ("phase", "text"),
    ("pending_id", "bigint"),
    ("corrects_id", "bigint"),
    ("code", "text"),
    ("reason", "text"),
    ("details", "jsonb"),
    ("actor_id", "bigint"),
    ("actor_label", "text"),
    ("ref_type", "text"),
    ("ref_id", "text"),
    ("effective_at", "timestamptz"),
]


# The transfers and the totals they move in one statement; the totals move only if every transfer was
# inserted. A key (or a pending transfer's resolution) inserted by another transaction since we read is
# skipped, not an error, so fewer rows come back and the batch is retried from its savepoint.
_INSERT_AND_MOVE = """
    WITH inserted AS ({insert}),
    moved AS (
        UPDATE ledger_account AS a
        SET debits_posted = v.dp, credits_posted = v.cp, debits_pending = v.dpe, credits_pending = v.cpe
        FROM unnest({ids}, {dp}, {cp}, {dpe}, {cpe}) AS v(id, dp, cp, dpe, cpe)
        WHERE a.id = v.id AND (SELECT count(*) FROM inserted) = %(inserting)s::bigint
        RETURNING a.id
    )
    SELECT (SELECT count(*) FROM inserted), (SELECT count(*) FROM moved)
"""


def _insert_and_move(cursor, rows, by_key, now, changed: list[_AccountState]) -> None:
    params: dict = {"inserting": len(rows)}
    values = [_insert_values(row, request, by_key, now) for row, request in rows]
    sql = _INSERT_AND_MOVE.format(
        insert=insert_rows_sql(
            params, "ledger_transfer", _TRANSFER_INSERT_COLUMNS, values, on_conflict="DO NOTHING", returning="id"
        ),
        **{
            name: bind_array(params, name, [getattr(a, field) for a in changed], "bigint")
            for name, field in _MOVED.items()
        },
    )
    cursor.execute(sql, params)
    inserted, moved = cursor.fetchone()
    if inserted != len(rows):
        raise KeyRace()
    if moved != len(changed):
        raise AssertionError(f"ledger: moved the totals of {moved} accounts, not {len(changed)}")


_MOVED = {
    "ids": "id",
    "dp": "debits_posted",
    "cp": "credits_posted",
    "dpe": "debits_pending",
    "cpe": "credits_pending",
}


def _insert_values(row: _Row, request: TransferRequest, by_key, now):
    corrects = by_key[request.corrects_key].id if request.corrects_key else None
    return (
        row.id,
        row.key,
        row.debit_account_id,
        row.credit_account_id,
        row.amount,
        str(row.phase),
        row.pending_id,
        corrects,
        str(row.code),
        request.reason,
        json.dumps(request.details),
        request.actor_id,
        request.actor_label,
        request.ref_type,
        request.ref_id,
        request.effective_at or now,
    )
