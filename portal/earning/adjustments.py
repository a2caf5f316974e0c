"""Manual adjustments: an account manager gives or takes points, always with a reason.

Up to ``settings.ADJUSTMENT_APPROVAL_THRESHOLD_POINTS`` (either way) an adjustment
posts at once; above it, it waits until a second person approves or rejects it.
Either way the ledger transfer is keyed ``adjustment:<id>``, so posting it again
(a retried approval, two approvals racing) changes nothing.

Who may do what, checked here so the CMS, an API or a task behave alike:

- request: active staff with ``earning.add_adjustment`` who see the partner
  (``partners_visible_to``: an account manager their portfolio, an administrator all);
- approve or reject: the same, and not the person who requested it (the
  database refuses that too). So an administrator decides any partner's
  adjustment, an account manager those of their portfolio that someone else
  requested.

The same path reviews the points of what the ERP sent above the programme's limits (an
``Adjustment`` with an ``order`` or a ``payment``, made by ``services``): the ERP asked, so no
person is the requester, and anyone who may adjust the partner decides. Approving gives the
points under the record's own key (``services.post_reviewed_points``); rejecting gives nothing.

Which steps there are, from which status, and who may take them is ``ADJUSTMENT_FLOW`` (``portal.workflow``):
these use cases require it on the locked row, and the CMS asks it which buttons to show.

Locks: a reviewed order first (a return of it locks it too, then lowers what waits), then the
adjustment row, then the ledger's accounts (taken by the ledger).

Who hears of it: the possible deciders when one waits, the requester when it is decided, each by e-mail in
their own language, through the outbox (``portal.notices``): the notice is written in the change's
transaction and delivered once after commit.
"""

import logging

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Partner, User
from accounts.queries import partners_visible_to
from portal.earning import services
from portal.earning.models import Adjustment, Order
from portal.earning.wording import AdjustmentAbout
from portal.ledger import services as ledger
from portal.ledger.errors import InsufficientPoints
from portal.ledger.models import Code
from portal.notices import services as notices
from portal.workflow import Transition, Workflow

logger = logging.getLogger(__name__)

Status = Adjustment.Status
WAITS = "earning.adjustment_waits"  # the kinds of notice, each with its sender below
DECIDED = "earning.adjustment_decided"


# --- Errors ----------------------------------------------------------------------------------------
# Subclasses of Django's own, so a form shows them and a view answers 403 without a mapping of its own.


class NotAllowedToAdjust(PermissionDenied):
    """The acting user may not adjust this partner's points (or does not see the partner at all)."""


class SecondPersonRequired(PermissionDenied):
    """The requester tried to decide their own adjustment."""


class InvalidAdjustment(ValidationError):
    """The points or the reason are not acceptable; `error_dict` names the field."""


class AdjustmentAlreadyDecided(ValidationError):
    """Approving a rejected adjustment, or rejecting a posted one."""


class AdjustmentExceedsBalance(ValidationError):
    """Taking the points away would leave the partner below zero (the ledger's `exceeds_available`)."""

    def __init__(self, error: InsufficientPoints):
        self.available = error.data["available"]
        self.amount = error.data["amount"]
        message = _("The partner has only %(available)s points available; %(amount)s cannot be taken away.") % {
            "available": f"{self.available:,}",
            "amount": f"{self.amount:,}",
        }
        super().__init__(message, code=error.code)


# --- Reads -----------------------------------------------------------------------------------------


def adjustments_visible_to(user: User) -> QuerySet[Adjustment]:
    return Adjustment.objects.filter(partner__in=partners_visible_to(user))


def may_adjust(user: User, partner: Partner) -> bool:
    return (
        user.is_active
        and user.is_staff
        and user.has_perm("earning.add_adjustment")
        and partners_visible_to(user).filter(pk=partner.pk).exists()
    )


def check_decider(user: User, adjustment: Adjustment) -> None:
    """A second person who may adjust the partner decides; the requester never does."""
    if adjustment.requested_by_id == user.pk:
        raise SecondPersonRequired(_("A second person must decide an adjustment you requested."))
    if not may_adjust(user, adjustment.partner):
        raise NotAllowedToAdjust(_("You may not decide adjustments for this partner."))


def approval_threshold_points() -> int:
    return settings.ADJUSTMENT_APPROVAL_THRESHOLD_POINTS


def needs_approval(points: int) -> bool:
    return abs(points) > approval_threshold_points()


def possible_deciders(adjustment: Adjustment) -> QuerySet[User]:
    """Everyone who may approve `adjustment`: the administrators and the partner's manager, not the requester."""
    administrators = ModelBackend().with_perm("accounts.view_all_partners", is_active=True, include_superusers=True)
    adjusters = ModelBackend().with_perm("earning.add_adjustment", is_active=True, include_superusers=True)
    return (
        User.objects.filter(is_active=True, is_staff=True, pk__in=adjusters.values("pk"))
        .filter(Q(pk__in=administrators.values("pk")) | Q(pk=adjustment.partner.account_manager_id))
        .exclude(pk=adjustment.requested_by_id)
        .order_by("pk")
    )


# --- The workflow: a waiting adjustment is approved (posted) or rejected, once -------------------------

ADJUSTMENT_FLOW = Workflow(
    "adjustment",
    refusal=AdjustmentAlreadyDecided,
    transitions=[
        Transition(
            "approve",
            gettext_lazy("Approve"),
            sources=(Status.AWAITING_APPROVAL,),
            targets=(Status.POSTED,),
            who=check_decider,
            refused=gettext_lazy("This adjustment was rejected; it cannot be approved."),
            refused_code="rejected",
        ),
        Transition(
            "reject",
            gettext_lazy("Reject"),
            sources=(Status.AWAITING_APPROVAL,),
            targets=(Status.REJECTED,),
            who=check_decider,
            refused=gettext_lazy("This adjustment has been posted; it cannot be rejected."),
            refused_code="posted",
        ),
    ],
)


# --- Use cases -------------------------------------------------------------------------------------


@transaction.atomic
def request_adjustment(partner: Partner, *, points: int, reason: str, acting_user: User) -> Adjustment:
    """Give (positive) or take (negative) points; above the threshold it waits for a second person."""
    if not may_adjust(acting_user, partner):
        raise NotAllowedToAdjust(_("You may not adjust the points of this partner."))
    reason = check_request(points=points, reason=reason)
    waits = needs_approval(points)
    adjustment = Adjustment.objects.create(
        partner=partner,
        points=points,
        reason=reason,
        status=Status.AWAITING_APPROVAL if waits else Status.POSTED,
        requested_by=acting_user,
    )
    if waits:
        notify_deciders([adjustment.pk])
    else:
        _post(adjustment)
    return adjustment


@ADJUSTMENT_FLOW.step("approve")
@transaction.atomic
def approve_adjustment(adjustment: Adjustment, *, acting_user: User, note: str = "") -> Adjustment:
    """Post a waiting adjustment. Approving a posted one again changes nothing."""
    adjustment = _lock_for_decision(adjustment)
    if not ADJUSTMENT_FLOW.require(adjustment, "approve", acting_user):
        return adjustment
    _post(adjustment, approved_by=acting_user)
    _decide(adjustment, Status.POSTED, acting_user, note)
    return adjustment


@ADJUSTMENT_FLOW.step("reject")
@transaction.atomic
def reject_adjustment(adjustment: Adjustment, *, acting_user: User, note: str) -> Adjustment:
    """Refuse a waiting adjustment, saying why; nothing moves. Rejecting it again changes nothing."""
    note = (note or "").strip()
    if not note:
        raise InvalidAdjustment({"note": _("Say why the adjustment is rejected.")}, code="note_required")
    adjustment = _lock_for_decision(adjustment)
    if not ADJUSTMENT_FLOW.require(adjustment, "reject", acting_user):
        return adjustment
    _decide(adjustment, Status.REJECTED, acting_user, note)
    return adjustment


# --- Steps -----------------------------------------------------------------------------------------


def check_request(*, points, reason) -> str:
    """Refuse zero or non-whole points and a blank reason; return the reason as it is stored."""
    if not isinstance(points, int) or isinstance(points, bool) or points == 0:
        raise InvalidAdjustment(
            {"points": _("Enter a whole number of points other than zero.")}, code="points_not_zero"
        )
    reason = (reason or "").strip()
    if not reason:
        raise InvalidAdjustment({"reason": _("Say why the points are adjusted.")}, code="reason_required")
    return reason


def _lock_for_decision(adjustment: Adjustment) -> Adjustment:
    # The workflow is required on the locked row: two approvals of the same adjustment run one after the other.
    if adjustment.order_id:  # a return of the order locks it first too, then lowers what waits
        Order.objects.select_for_update(no_key=True).filter(pk=adjustment.order_id).values_list("pk").get()
    return Adjustment.objects.select_for_update(no_key=True).select_related("partner").get(pk=adjustment.pk)


def _post(adjustment: Adjustment, *, approved_by: User | None = None) -> None:
    if adjustment.is_review:
        services.post_reviewed_points(adjustment, approved_by_id=approved_by.pk)
        return
    build = ledger.earning if adjustment.points > 0 else ledger.spending
    details = {"about": AdjustmentAbout(adjustment.reason).as_details()}
    if approved_by:
        details["approved_by"] = approved_by.pk
    request = build(
        adjustment.partner_id,
        key=f"adjustment:{adjustment.pk}",
        amount=abs(adjustment.points),
        code=Code.ADJUSTMENT,
        reason=f"Adjustment: {adjustment.reason}",
        actor_id=adjustment.requested_by_id,
        ref_type="adjustment",
        ref_id=str(adjustment.pk),
        details=details,
    )
    try:
        ledger.post_transfer(request)
    except InsufficientPoints as error:
        raise AdjustmentExceedsBalance(error) from error


def _decide(adjustment: Adjustment, status: str, acting_user: User, note: str) -> None:
    adjustment.status = status
    adjustment.decided_by = acting_user
    adjustment.decided_at = timezone.now()
    adjustment.decision_note = (note or "").strip()
    adjustment.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    if adjustment.requested_by_id:  # the ERP, which asked for a review, reads the outcome in the ledger
        notices.enqueue(DECIDED, key=f"{DECIDED}:{adjustment.pk}", payload={"adjustment": adjustment.pk})


# --- Notices (written with the change, sent by the outbox after commit) -----------------------------


def notify_deciders(adjustment_ids: list[int]) -> None:
    """Tell who may decide that these adjustments wait; call in the transaction that made them wait."""
    for adjustment_id in adjustment_ids:
        notices.enqueue(WAITS, key=f"{WAITS}:{adjustment_id}", payload={"adjustment": adjustment_id})


def deliver_waiting_notice(payload: dict) -> int:
    """The outbox's sender for WAITS (registered in the app's ready())."""
    return _notify_deciders(payload["adjustment"])


def deliver_decided_notice(payload: dict) -> int:
    """The outbox's sender for DECIDED."""
    return _notify_requester(payload["adjustment"])


def _notify_deciders(adjustment_id: int) -> int:
    adjustment = Adjustment.objects.select_related("partner", "requested_by").get(pk=adjustment_id)
    link = notices.link(reverse("adjustment:queue"))
    sent = 0
    for person in possible_deciders(adjustment):
        with translation.override(person.language):
            if adjustment.is_review:
                subject = _("%(points)s points for %(partner)s wait for approval: above the programme's limits") % (
                    _names(adjustment)
                )
                body = _(
                    "%(requester)s sent a record whose points wait for approval.\n"
                    "%(reason)s\n\nApprove or reject it here: %(link)s"
                ) % {**_names(adjustment), "link": link}
            else:
                subject = _("Adjustment of %(points)s points for %(partner)s awaits approval") % _names(adjustment)
                body = _(
                    "%(requester)s asks to adjust the points of %(partner)s by %(points)s.\n"
                    "Reason: %(reason)s\n\nApprove or reject it here: %(link)s"
                ) % {**_names(adjustment), "link": link}
        sent += _send(subject, body, person)
    return sent


def _notify_requester(adjustment_id: int) -> int:
    adjustment = Adjustment.objects.select_related("partner", "requested_by", "decided_by").get(pk=adjustment_id)
    person = adjustment.requested_by
    with translation.override(person.language):
        names = {**_names(adjustment), "decider": adjustment.decided_by, "note": adjustment.decision_note or "-"}
        if adjustment.status == Status.POSTED:
            subject = _("Your adjustment of %(points)s points for %(partner)s was approved") % names
        else:
            subject = _("Your adjustment of %(points)s points for %(partner)s was rejected") % names
        body = _("Decided by %(decider)s.\nNote: %(note)s\n\nYour reason was: %(reason)s") % names
    return _send(subject, body, person)


def _names(adjustment: Adjustment) -> dict:
    return {
        "points": f"{adjustment.points:+,}",
        "partner": adjustment.partner,
        "requester": adjustment.requester,
        "reason": adjustment.reason,
    }


def _send(subject: str, body: str, person: User) -> int:
    # The adjustment stands whatever the mail server says; a failed mail is logged, not raised (raising
    # would have the outbox send the others' again).
    try:
        return send_mail(subject, body, None, [person.email])
    except Exception:
        logger.exception("Could not send the adjustment notice %r to %s", subject, person.email)
        return 0
