"""The catalog's use cases: redeem, decide, fulfil, and upload gift-card codes.

Each is one transaction that checks who may do it, so the portal, the CMS, a task and the benchmark
behave alike. Points move only through the ledger: a redemption holds them (a pending transfer keyed
``redemption:<id>``), approval posts the hold, rejection or cancellation voids it, so exactly what was
held comes back, once, whatever is retried.

Locks, always in this order, each held to the end of the transaction:

1. the redemption row (deciding one; a new redemption's row is its own and nobody waits for it),
2. the item row, ``FOR NO KEY UPDATE`` (stock and per-partner limits are checked under it; NO KEY, so
   inserting redemptions that refer to the item is not blocked by it),
3. free gift-card codes, ``FOR UPDATE SKIP LOCKED`` (never waited for: a code another transaction is
   taking is simply skipped),
4. the ledger's accounts, taken by the ledger itself, last.

Which step may be taken from which status, and by whom, is the table in ``rewards_catalog.workflow``: each
step below is registered there (``REDEMPTION_FLOW.step``) and requires it on the locked row.

A redemption's transaction checks all it can and writes its own rows (nobody waits for them) before it
takes the item lock; under it only the rules, the stock, the ledger and commit. A partner programme redeems
a few times a minute, so this is plain ORM code: ``make bench-redeem`` keeps it above 100 redemptions a
second on one hot account. Its e-mails go through the outbox (see ``notifications``).
"""

import csv
import hashlib
import io
import uuid
from dataclasses import dataclass, replace

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import Membership, User
from portal.ledger import services as ledger
from portal.ledger.errors import InsufficientPoints
from portal.ledger.models import Code
from rewards_catalog import notifications, queries, rules
from rewards_catalog.errors import (
    CodeUploadRefused,
    InvalidRedemption,
    ItemNotAvailable,
    NotAllowedToRedeem,
    NotEnoughPoints,
)
from rewards_catalog.models import CodePool, CodeUpload, GiftCode, Item, Redemption, RedemptionEvent
from rewards_catalog.wording import RedemptionAbout
from rewards_catalog.workflow import REDEMPTION_FLOW

Status = Redemption.Status
Kind = Item.Kind

MAX_QUANTITY = 20


# --- Redeeming ----------------------------------------------------------------------------------------


def redeem(
    item: Item,
    *,
    member: Membership,
    quantity: int = 1,
    shipping_address: str | None = None,
    cause: str | None = None,
    request_key: uuid.UUID | None = None,
) -> Redemption:
    """Redeem `quantity` of `item` for the member's company: stock taken and points held at once.

    A gift card whose pool has enough codes is fulfilled at once: the codes are given and the hold is
    posted. Anything else waits for the account manager. `request_key` (the form's own id) makes a
    form sent twice redeem once: the second call returns the first redemption.
    """
    if request_key is not None:
        earlier = Redemption.objects.filter(request_key=request_key, member_id=member.user_id).first()
        if earlier is not None:
            return earlier
    member = _member_who_may_redeem(member)
    shipping_address, cause = _check_request(item, quantity=quantity, shipping_address=shipping_address, cause=cause)
    try:
        return _redeem(
            item,
            member=member,
            quantity=quantity,
            shipping_address=shipping_address,
            cause=cause,
            request_key=request_key,
        )
    except IntegrityError:
        # The same form sent twice at the same moment: the first one's row won the unique request_key.
        if request_key is None:
            raise
        earlier = Redemption.objects.filter(request_key=request_key, member_id=member.user_id).first()
        if earlier is None:  # someone else's form id: refuse it rather than fail
            message = _("This form has expired. Reload the page and redeem again.")
            raise InvalidRedemption(message, code="form_used") from None
        return earlier


@transaction.atomic
def _redeem(item, *, member, quantity, shipping_address, cause, request_key) -> Redemption:
    # Who the item is for, and what of the partner its audience asks, before any lock is taken.
    audience = queries.audience_with_terms(item.audience_id)
    facts = queries.audience_facts(member.partner, audience)

    # The redemption's own rows first: nobody waits for them (and its e-mails go by the outbox). Points and
    # stock as the item reads now, corrected under the lock in the rare case the row changed meanwhile.
    redemption = Redemption.objects.create(
        partner=member.partner,
        member=member.user,
        item=item,
        quantity=quantity,
        points=item.cost_points * quantity,
        stock_taken=quantity if item.stock is not None else 0,
        status=Status.AWAITING_APPROVAL,
        shipping_address=shipping_address,
        cause=cause,
        request_key=request_key,
    )
    event = RedemptionEvent.objects.create(
        redemption=redemption, from_status="", to_status=Status.AWAITING_APPROVAL, actor=member.user
    )
    notifications.queue_notices(event.pk)

    # From here to commit hot rows are locked (the item, then the company's account): only what must be.
    # NO KEY: inserting redemptions that refer to the item (a KEY SHARE lock) is not blocked by it.
    locked = Item.objects.select_for_update(no_key=True).get(pk=item.pk)
    if locked.audience_id != item.audience_id:  # its audience changed a moment ago: the row's says who now
        audience = queries.audience_with_terms(locked.audience_id)
        facts = queries.audience_facts(member.partner, audience)
    locked.audience = audience
    now = timezone.now()
    if locked.limit_per_period:
        done = queries.redeemed_in_period(member.partner_id, locked, now=now, exclude_id=redemption.pk)
        facts = replace(facts, redeemed_in_period=done)
    reason = rules.why_unavailable(queries.item_terms(locked), facts, now=now, quantity=quantity)
    if reason is not None:
        raise ItemNotAvailable(reason)  # the rows above are rolled back with it
    if locked.stock is not None:  # the rules have checked there are `quantity` left
        Item.objects.filter(pk=locked.pk).update(stock=F("stock") - quantity)
    _correct_to_locked(redemption, locked)

    codes = _take_codes(redemption, locked, now=now) if locked.code_pool_id else []
    requests = [_hold(redemption, actor_id=member.user_id)]
    if codes:
        requests.append(_capture(redemption, actor_id=member.user_id))
    # No savepoint: a refusal rolls the whole redemption back anyway, and a key race cannot happen on the keys
    # of a redemption nobody else can see yet (if it did, the redemption would fail whole, never in part).
    _post(requests, redemption, savepoint=False)

    if codes:  # delivered at once: the history's first row says so (nobody has seen it yet)
        redemption.status = Status.FULFILLED
        redemption.save(update_fields=["status", "updated_at"])
        RedemptionEvent.objects.filter(pk=event.pk).update(to_status=Status.FULFILLED)
    return redemption


def _correct_to_locked(redemption: Redemption, locked: Item) -> None:
    """Charge what the item costs now, under the lock, and count the stock taken only if it keeps stock now."""
    points = locked.cost_points * redemption.quantity
    stock_taken = redemption.quantity if locked.stock is not None else 0
    if (points, stock_taken) != (redemption.points, redemption.stock_taken):
        redemption.points, redemption.stock_taken = points, stock_taken
        redemption.save(update_fields=["points", "stock_taken", "updated_at"])


def _member_who_may_redeem(member: Membership) -> Membership:
    """The person's membership as it is now (a role may have changed since the page was read), if it may redeem."""
    current = Membership.objects.select_related("partner", "user").filter(pk=member.pk).first()
    if current is None or not current.user.is_active:
        raise NotAllowedToRedeem(_("You are not a member of this company."))
    if not current.may_redeem:
        raise NotAllowedToRedeem()
    return current


def _check_request(item: Item, *, quantity, shipping_address, cause) -> tuple[str, str]:
    """The quantity and the details the item's kind asks for; returns the address and cause, cleaned."""
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidRedemption(
            {"quantity": _("Choose a quantity from 1 to %(most)s.") % {"most": MAX_QUANTITY}}, code="quantity"
        )
    shipping_address = (shipping_address or "").strip()
    cause = (cause or "").strip()
    if item.kind == Kind.GOODS and not shipping_address:
        raise InvalidRedemption(
            {"shipping_address": _("Where should we send it? Enter a shipping address.")}, code="address_required"
        )
    if item.kind == Kind.DONATION:
        if not cause:
            raise InvalidRedemption({"cause": _("Choose the cause to donate to.")}, code="cause_required")
        if item.causes and cause not in item.causes:
            raise InvalidRedemption({"cause": _("Choose one of the causes listed.")}, code="unknown_cause")
    if item.kind != Kind.GOODS:
        shipping_address = ""
    if item.kind != Kind.DONATION:
        cause = ""
    if len(shipping_address) > 1000 or len(cause) > 200 or "\x00" in shipping_address + cause:
        raise InvalidRedemption(_("The address or the cause is too long or has characters we cannot store."))
    return shipping_address, cause


def _take_codes(redemption: Redemption, item: Item, *, now) -> list[int]:
    """Give the redemption `quantity` free codes of the item's pool, or none if the pool has too few.

    SKIP LOCKED: codes that a concurrent redemption is taking are passed over, never waited for, and
    the unique constraint on a code's redemption makes giving one twice impossible anyway.
    """
    free = (
        GiftCode.objects.select_for_update(skip_locked=True)
        .filter(pool_id=item.code_pool_id, redemption__isnull=True)
        .order_by("id")
        .values_list("id", flat=True)
    )
    ids = list(free[: redemption.quantity])
    if len(ids) < redemption.quantity:
        return []
    GiftCode.objects.filter(pk__in=ids, redemption__isnull=True).update(redemption=redemption, assigned_at=now)
    return ids


# --- The ledger ------------------------------------------------------------------------------------------


def _ledger_reason(redemption: Redemption) -> str:
    return f"Redemption #{redemption.pk}: {redemption.quantity} × {redemption.item.title}"


def _meta(redemption: Redemption, actor_id: int | None, outcome: str = "") -> dict:
    item = redemption.item
    about = RedemptionAbout(redemption.pk, redemption.quantity, item.title, item.title_he, outcome or None)
    details = {"about": about.as_details()}  # worded in the reader's language by rewards_catalog.wording
    return {"actor_id": actor_id, "ref_type": "redemption", "ref_id": str(redemption.pk), "details": details}


def _hold(redemption: Redemption, *, actor_id: int | None) -> ledger.TransferRequest:
    return ledger.spending(
        redemption.partner_id,
        key=redemption.hold_key,
        amount=redemption.points,
        code=Code.REDEMPTION,
        reason=_ledger_reason(redemption),
        hold=True,
        **_meta(redemption, actor_id),
    )


def _capture(redemption: Redemption, *, actor_id: int | None) -> ledger.TransferRequest:
    return ledger.resolution(
        f"{redemption.hold_key}:post",
        pending_key=redemption.hold_key,
        code=Code.REDEMPTION,
        reason=_ledger_reason(redemption),
        **_meta(redemption, actor_id),
    )


def _release(redemption: Redemption, *, actor_id: int | None, why: str) -> ledger.TransferRequest:
    return ledger.resolution(
        f"{redemption.hold_key}:void",
        pending_key=redemption.hold_key,
        code=Code.REDEMPTION,
        reason=f"{_ledger_reason(redemption)}: {why}, points given back",
        void=True,
        **_meta(redemption, actor_id, outcome=why),
    )


def _post(requests, redemption: Redemption, *, savepoint: bool = True) -> None:
    for result in ledger.post_transfers(requests, savepoint=savepoint):
        if isinstance(result.error, InsufficientPoints):
            raise NotEnoughPoints(available=max(0, result.error.data["available"]), needed=redemption.points)
        if result.error is not None:
            raise result.error


# --- Deciding and fulfilling (the account manager) ---------------------------------------------------------


def _lock_for_decision(redemption: Redemption) -> Redemption:
    return Redemption.objects.select_for_update(no_key=True).select_related("item", "partner").get(pk=redemption.pk)


@REDEMPTION_FLOW.step("approve")
@transaction.atomic
def approve(redemption: Redemption, *, acting_user: User, note: str = "") -> Redemption:
    """Capture the held points. A gift card whose pool has the codes is fulfilled at once.
    Approving again changes nothing."""
    redemption = _lock_for_decision(redemption)
    if not REDEMPTION_FLOW.require(redemption, "approve", acting_user):
        return redemption
    codes = _take_codes(redemption, redemption.item, now=timezone.now()) if redemption.item.code_pool_id else []
    _post([_capture(redemption, actor_id=acting_user.pk)], redemption)
    to = Status.FULFILLED if codes else Status.APPROVED
    _decide(redemption, to, acting_user, note=note.strip())
    return redemption


@REDEMPTION_FLOW.step("reject", note="reason")
@transaction.atomic
def reject(redemption: Redemption, *, acting_user: User, reason: str) -> Redemption:
    """Refuse it, with a reason the partner reads: the held points and the stock come back."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidRedemption({"reason": _("Say why it is rejected: the partner reads it.")}, code="reason_required")
    redemption = _lock_for_decision(redemption)
    if not REDEMPTION_FLOW.require(redemption, "reject", acting_user):
        return redemption
    _give_back(redemption, actor_id=acting_user.pk, why="rejected")
    redemption.reason = reason
    _decide(redemption, Status.REJECTED, acting_user, note=reason, fields=["reason"])
    return redemption


@REDEMPTION_FLOW.step("cancel", actor="member", note="reason")
@transaction.atomic
def cancel(redemption: Redemption, *, member: Membership, reason: str = "") -> Redemption:
    """The company withdraws its redemption while it awaits approval: points and stock come back."""
    member = _member_who_may_redeem(member)
    redemption = Redemption.objects.select_for_update(no_key=True).select_related("item").get(pk=redemption.pk)
    if not REDEMPTION_FLOW.require(redemption, "cancel", member):
        return redemption
    _give_back(redemption, actor_id=member.user_id, why="cancelled")
    previous = redemption.status
    redemption.status = Status.CANCELLED
    redemption.reason = (reason or "").strip()
    redemption.save(update_fields=["status", "reason", "updated_at"])
    _record(redemption, previous, Status.CANCELLED, actor_id=member.user_id, note=redemption.reason)
    return redemption


@REDEMPTION_FLOW.step("ship", note="tracking_note")
@transaction.atomic
def mark_shipped(redemption: Redemption, *, acting_user: User, tracking_note: str) -> Redemption:
    """Shipped goods, with the carrier's tracking number or a note the partner reads."""
    tracking_note = (tracking_note or "").strip()
    if not tracking_note:
        raise InvalidRedemption(
            {"tracking_note": _("Give the tracking number or a note for the partner.")}, code="tracking_required"
        )
    redemption = _lock_for_decision(redemption)
    if not REDEMPTION_FLOW.require(redemption, "ship", acting_user):
        return redemption
    redemption.tracking_note = tracking_note
    _decide(redemption, Status.SHIPPED, acting_user, note=tracking_note, fields=["tracking_note"], decision=False)
    return redemption


@REDEMPTION_FLOW.step("fulfil", note="tracking_note")
@transaction.atomic
def mark_fulfilled(redemption: Redemption, *, acting_user: User, tracking_note: str = "") -> Redemption:
    """Delivered. A gift card without codes yet gets them now if its pool has them."""
    tracking_note = (tracking_note or "").strip()
    redemption = _lock_for_decision(redemption)
    if not REDEMPTION_FLOW.require(redemption, "fulfil", acting_user):
        return redemption
    if redemption.item.code_pool_id and not redemption.codes.exists():
        _take_codes(redemption, redemption.item, now=timezone.now())
    fields = []
    if tracking_note:
        redemption.tracking_note = tracking_note
        fields = ["tracking_note"]
    _decide(redemption, Status.FULFILLED, acting_user, note=tracking_note, fields=fields, decision=False)
    return redemption


def _give_back(redemption: Redemption, *, actor_id: int, why: str) -> None:
    """Stock (the units this redemption took) and points (its hold, voided whole) come back."""
    if redemption.stock_taken:
        item = Item.objects.select_for_update(no_key=True).get(pk=redemption.item_id)
        if item.stock is not None:  # an item made unlimited since has nothing to give back to
            Item.objects.filter(pk=item.pk).update(stock=F("stock") + redemption.stock_taken)
    _post([_release(redemption, actor_id=actor_id, why=why)], redemption)


def _decide(redemption, to, acting_user, *, note="", fields=(), decision=True) -> None:
    previous = redemption.status
    redemption.status = to
    update = ["status", "updated_at", *fields]
    if decision:
        redemption.decided_by = acting_user
        redemption.decided_at = timezone.now()
        update += ["decided_by", "decided_at"]
    redemption.save(update_fields=update)
    _record(redemption, previous, to, actor_id=acting_user.pk, note=note)


def _record(redemption: Redemption, from_status: str, to_status: str, *, actor_id: int | None, note: str = ""):
    """The history row, and the e-mails about it in the outbox (sent once the change is committed)."""
    event = RedemptionEvent.objects.create(
        redemption=redemption, from_status=from_status, to_status=to_status, actor_id=actor_id, note=note
    )
    notifications.queue_notices(event.pk)
    return event


# --- Gift-card codes -------------------------------------------------------------------------------------

MAX_CODES_FILE_BYTES = 5 * 1024 * 1024
MAX_CODE_LENGTH = 100
MAX_ROW_ERRORS = 200


@dataclass(frozen=True)
class CodesUploaded:
    upload: CodeUpload
    added: int
    same_file_before: bool  # the very same file was uploaded to this pool before: nothing was added


def may_upload_codes(user: User) -> bool:
    return user.is_active and user.is_staff and user.has_perm("rewards_catalog.change_codepool")


def upload_codes(pool: CodePool, *, file, acting_user: User) -> CodesUploaded:
    """Add the codes of a CSV file (one code per row, in the first column; a header "code" is allowed).

    All or nothing: a file with any mistake adds no code and says which rows are wrong, and why. A code
    already in any pool is a mistake (its row is named); the very same file uploaded to this pool again
    is recognised and adds nothing. Codes never appear in messages unmasked.
    """
    if not may_upload_codes(acting_user):
        raise PermissionDenied(_("You may not upload gift-card codes."))
    content = file.read(MAX_CODES_FILE_BYTES + 1)
    if len(content) > MAX_CODES_FILE_BYTES:
        raise CodeUploadRefused(_("The file is larger than 5 MB; split it."), code="too_large")
    sha256 = hashlib.sha256(content).hexdigest()
    with transaction.atomic():
        pool = CodePool.objects.select_for_update().get(pk=pool.pk)  # one upload into a pool at a time
        earlier = CodeUpload.objects.filter(pool=pool, file_sha256=sha256).first()
        if earlier is not None:
            return CodesUploaded(upload=earlier, added=0, same_file_before=True)
        rows = _code_rows(content)
        upload = CodeUpload.objects.create(
            pool=pool,
            file_name=(getattr(file, "name", "") or "codes.csv")[:255],
            file_sha256=sha256,
            codes_added=len(rows),
            uploaded_by=acting_user,
        )
        try:
            with transaction.atomic():
                GiftCode.objects.bulk_create(
                    [GiftCode(pool=pool, code=code, upload=upload, row_number=row) for row, code in rows],
                    batch_size=2000,
                )
        except IntegrityError:
            # Another upload added one of these codes after we checked: nothing of this file is kept.
            raise CodeUploadRefused(
                _("Another upload added some of these codes a moment ago. Upload the file again to see which."),
                code="concurrent_upload",
            ) from None
    return CodesUploaded(upload=upload, added=len(rows), same_file_before=False)


def _code_rows(content: bytes) -> list[tuple[int, str]]:
    """(row number, code) for every code of the file, or CodeUploadRefused naming each wrong row."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        message = _("The file is not UTF-8 text (in Excel: save as “CSV UTF-8”).")
        raise CodeUploadRefused(message, code="encoding") from None
    rows: list[tuple[int, str]] = []
    errors: list[tuple[int, str]] = []
    first_row: dict[str, int] = {}
    for number, cells in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
        code = cells[0].strip() if cells else ""
        if not code:
            continue
        if number == 1 and code.lower() == "code":
            continue
        if len(code) > MAX_CODE_LENGTH or any(not c.isprintable() or c.isspace() for c in code):
            errors.append((number, _("not a code: longer than 100 characters, or with spaces or control characters")))
        elif code in first_row:
            errors.append((number, _("the same code as row %(row)s") % {"row": first_row[code]}))
        else:
            first_row[code] = number
            rows.append((number, code))
    if not rows and not errors:
        raise CodeUploadRefused(_("The file has no codes."), code="empty")
    errors += _codes_already_stored(rows)
    if errors:
        errors.sort()
        raise CodeUploadRefused(
            ngettext(
                "%(count)s row has a mistake, so no code was added.",
                "%(count)s rows have mistakes, so no code was added.",
                len(errors),
            )
            % {"count": len(errors)},
            rows=errors[:MAX_ROW_ERRORS],
            code="row_errors",
        )
    return rows


def _codes_already_stored(rows: list[tuple[int, str]]) -> list[tuple[int, str]]:
    errors = []
    for first in range(0, len(rows), 5000):
        chunk = dict((code, row) for row, code in rows[first : first + 5000])
        stored = GiftCode.objects.filter(code__in=list(chunk)).values_list("code", "pool__name")
        for code, pool_name in stored:
            names = {"code": rules.mask_code(code), "pool": pool_name}
            message = _("%(code)s is already in the pool “%(pool)s”") % names
            errors.append((chunk[code], message))
    return errors
