"""Points expire a set number of months after they were earned, oldest first.

Every point a partner receives is a *lot*: a posted credit to its account (a pending credit becomes a lot
only when it is posted, so pending points do not age until they are available), dated by the entry's
``effective_at`` and expiring that many months later, on a day of the programme's calendar. Everything that
leaves the account (redemptions, also while held, clawbacks, negative adjustments, expiries) consumes the
oldest lots first. So what is left of each lot is a running sum: the lots in age order, less the account's
debits (posted and held), and no set of past events has to be replayed. What is left of the lots that are
due is what expires; it can never be more than the partner has, and a lot expired once is consumed.

An expiry is a transfer to the programme's expired account, keyed by the partner and the expiry date, so a
second run (or a concurrent one, or a late one) expires nothing twice; points that come back into an old
lot after its expiry (a cancelled redemption's hold) expire on the next run, under a key of their own.
Batches lock their partners' accounts first (and the expired account's rows, in one statement in id order,
as the ledger itself locks), so nobody spends between what the run reads and what it posts.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db import connection, transaction
from django.utils.translation import ngettext

from portal.bulk import batch_cursor
from portal.ledger import services as ledger
from portal.ledger.models import PROGRAMME_SHARDS, AccountKind, Code, Transfer
from portal.ledger.wording import About, day, number, register_about


@dataclass(frozen=True)
class Expiring:
    """Points of one partner that expire (or expired, when the run has not come yet) on one day."""

    partner_id: int
    expires_on: date
    points: int


@dataclass(frozen=True)
class ExpiryAbout(About):
    """Points earned up to some months before ``expires_on`` expired."""

    kind = "expiry"
    expires_on: str  # ISO date
    months: int


# What is left of each lot whose expiry day is within [since, until], per partner and day. `through` is the
# lots' running sum in age order; a lot is consumed while the account's debits reach past it.
_LEFT_SQL = """
WITH accounts AS (
    SELECT a.id, a.partner_id, a.debits_posted + a.debits_pending AS consumed
    FROM unnest(%(partners)s::bigint[]) AS p(id) JOIN ledger_account a ON a.partner_id = p.id
), lots AS (
    SELECT t.credit_account_id AS account_id, t.amount,
           ((t.effective_at AT TIME ZONE %(tz)s)::date + make_interval(months => %(months)s))::date AS expires_on,
           sum(t.amount) OVER (PARTITION BY t.credit_account_id ORDER BY t.effective_at, t.id) AS through
    FROM ledger_transfer t JOIN accounts a ON a.id = t.credit_account_id
    WHERE t.phase IN ('posted', 'post_pending')
)
SELECT a.partner_id, l.expires_on, sum(least(l.amount, l.through - a.consumed))::bigint
FROM lots l JOIN accounts a ON a.id = l.account_id
WHERE l.through > a.consumed AND l.expires_on BETWEEN %(since)s AND %(until)s
GROUP BY a.partner_id, l.expires_on
ORDER BY a.partner_id, l.expires_on
"""


def expiring(partner_ids: Sequence[int], *, months: int, until: date, since: date = date.min) -> list[Expiring]:
    """The points of these partners whose expiry day falls in [since, until], by partner and day, oldest
    first (one statement for the whole batch). Nothing expires when `months` is 0."""
    if not months or not partner_ids:
        return []
    params = {
        "partners": list(partner_ids),
        "tz": settings.PROGRAMME_TIME_ZONE,
        "months": months,
        "since": since,
        "until": until,
    }
    with batch_cursor() as cursor:
        cursor.execute(_LEFT_SQL, params)
        return [Expiring(partner_id, day, points) for partner_id, day, points in cursor.fetchall()]


@dataclass(frozen=True)
class ExpiryRun:
    expired: list[Expiring]  # what this run expired
    coming: list[Expiring]  # what expires after today, up to the day asked for


def expire_due(partner_ids: Sequence[int], *, months: int, today: date, coming_until: date | None = None) -> ExpiryRun:
    """Expire what is due on `today` (or before) for a batch of partners, and say what expires after it up
    to `coming_until` (for the warnings): the lots are read once, under the locks.

    Safe to run twice, late, or beside another run: the accounts are locked before anything is read, and
    each partner's expiries are keyed by their day. Expiring the due lots leaves the later ones as they are.
    """
    if not months or not partner_ids:
        return ExpiryRun([], [])
    with transaction.atomic():
        _lock(sorted(set(partner_ids)))
        lots = expiring(partner_ids, months=months, until=max(today, coming_until or today))
        due = [item for item in lots if item.expires_on <= today]
        coming = [item for item in lots if item.expires_on > today]
        if not due:
            return ExpiryRun([], coming)
        existing = _existing_keys(due)
        before = _expiries_so_far([item for item in due if _key(item, 0) in existing])
        requests = [
            ledger.spending(
                item.partner_id,
                key=_key(item, before.get((item.partner_id, item.expires_on), 0)),
                amount=item.points,
                code=Code.EXPIRY,
                reason=f"{item.points:,} points expired on {item.expires_on.isoformat()}",
                details={"about": ExpiryAbout(item.expires_on.isoformat(), months).as_details()},
                actor_label="points expiry",
                ref_type="expiry",
                ref_id=item.expires_on.isoformat(),
            )
            for item in due
        ]
        results = ledger.post_transfers(requests, savepoint=False)
    failed = [r for r in results if not r.ok]
    if failed:  # impossible under the locks: what is left of the lots never exceeds the balance
        raise AssertionError(f"expiry: {len(failed)} transfers refused, first {failed[0].error}")
    expired = [item for item, result in zip(due, results, strict=True) if result.status == "created"]
    return ExpiryRun(expired, coming)


def _key(item: Expiring, expired_before: int) -> str:
    key = f"expiry:{item.partner_id}:{item.expires_on.isoformat()}"
    return key if not expired_before else f"{key}:{expired_before + 1}"


def _existing_keys(due: list[Expiring]) -> set[str]:
    """The first expiry keys of `due` that exist: one probe of the key index each (points that came back
    into a lot already expired are rare; only their partners are counted further)."""
    return set(Transfer.objects.filter(key__in=[_key(item, 0) for item in due]).values_list("key", flat=True))


def _lock(partner_ids: list[int]) -> None:
    """The batch's partner accounts and the expired account's rows, in id order, as the ledger locks."""
    expired = [(AccountKind.EXPIRED.value, shard) for shard in range(PROGRAMME_SHARDS)]
    with connection.cursor() as cursor:
        ledger._open_accounts(cursor, [], expired)
        cursor.execute(
            "SELECT id FROM ledger_account WHERE partner_id = ANY(%s::bigint[]) OR kind = %s"
            " ORDER BY id FOR NO KEY UPDATE",
            [partner_ids, AccountKind.EXPIRED.value],
        )


def _expiries_so_far(due: list[Expiring]) -> dict[tuple[int, date], int]:
    """How many expiry transfers each (partner, day) of `due` has already: the next one's key follows them."""
    if not due:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT a.partner_id, t.ref_id, count(*)
            FROM ledger_transfer t JOIN ledger_account a ON a.id = t.debit_account_id
            WHERE a.partner_id = ANY(%s::bigint[]) AND t.code = %s AND t.ref_type = 'expiry'
              AND t.ref_id = ANY(%s::text[])
            GROUP BY a.partner_id, t.ref_id
            """,
            [
                sorted({d.partner_id for d in due}),
                Code.EXPIRY.value,
                sorted({d.expires_on.isoformat() for d in due}),
            ],
        )
        return {(partner_id, date.fromisoformat(day)): count for partner_id, day, count in cursor.fetchall()}


def register_wording() -> None:
    """How expiries read (from the ledger's ``ready()``: expiry is the ledger's own entry)."""
    register_about(
        ExpiryAbout,
        lambda about: (
            ngettext(
                "Points earned %(months)s month before %(day)s expired",
                "Points earned %(months)s months before %(day)s expired",
                about.months,
            )
            % {"months": number(about.months), "day": day(about.expires_on)}
        ),
    )
