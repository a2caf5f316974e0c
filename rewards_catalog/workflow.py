"""A redemption's workflow: the one table of its steps, who takes them and from which status.

A partner's redemption waits for approval (its points held); the account manager approves it (the points are
spent; a gift card with codes in its pool is fulfilled at once) or rejects it, and the company may cancel it
until then (both give the points and stock back). Approved goods are shipped, then fulfilled; anything
approved may be marked fulfilled. ``services`` takes each step (``REDEMPTION_FLOW.step``) and requires the
table on the locked row; the CMS offers exactly the steps the table gives the viewer, the portal its cancel.
"""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Membership, User
from accounts.queries import partners_visible_to
from portal.workflow import Transition, Workflow
from rewards_catalog.errors import InvalidTransition, NotAllowedToDecide, NotAllowedToRedeem
from rewards_catalog.models import Item, Redemption

Status = Redemption.Status


def check_decider(user: User, redemption: Redemption) -> None:
    """The partner's account manager or an administrator, with the CMS permission to change redemptions."""
    allowed = (
        isinstance(user, User)
        and user.is_active
        and user.is_staff
        and user.has_perm("rewards_catalog.change_redemption")
        and partners_visible_to(user).filter(pk=redemption.partner_id).exists()
    )
    if not allowed:
        raise NotAllowedToDecide()


def check_member(member: Membership, redemption: Redemption) -> None:
    """A member of the redeeming company whose role lets them redeem (the service reads the role afresh).

    `member` is a Membership or the service's fresher read of one: anything with a partner and a role."""
    if getattr(member, "partner_id", None) is None or member.partner_id != redemption.partner_id:
        raise NotAllowedToRedeem(_("You are not a member of this company."))
    if not Membership(role=member.role).may_redeem:
        raise NotAllowedToRedeem()


def is_goods(redemption: Redemption) -> bool:
    return redemption.item.kind == Item.Kind.GOODS


REDEMPTION_FLOW = Workflow(
    "redemption",
    refusal=InvalidTransition,
    transitions=[
        Transition(
            "approve",
            gettext_lazy("Approve"),
            sources=(Status.AWAITING_APPROVAL,),
            targets=(Status.APPROVED, Status.FULFILLED),  # fulfilled: a gift card whose pool has the codes
            done=(Status.APPROVED, Status.SHIPPED, Status.FULFILLED),
            who=check_decider,
            refused=gettext_lazy("Only a redemption awaiting approval can be approved."),
            refused_code="not_awaiting_approval",
        ),
        Transition(
            "reject",
            gettext_lazy("Reject"),
            sources=(Status.AWAITING_APPROVAL,),
            targets=(Status.REJECTED,),
            who=check_decider,
            refused=gettext_lazy("Only a redemption awaiting approval can be rejected."),
            refused_code="not_awaiting_approval",
        ),
        Transition(
            "ship",
            gettext_lazy("Mark shipped"),
            sources=(Status.APPROVED,),
            targets=(Status.SHIPPED,),
            who=check_decider,
            applies=is_goods,
            not_applicable=gettext_lazy("Only goods are shipped; mark it fulfilled."),
            refused=gettext_lazy("Only an approved redemption can be marked shipped."),
            refused_code="not_approved",
        ),
        Transition(
            "fulfil",
            gettext_lazy("Mark fulfilled"),
            sources=(Status.APPROVED, Status.SHIPPED),
            targets=(Status.FULFILLED,),
            who=check_decider,
            refused=gettext_lazy("Only an approved or shipped redemption can be marked fulfilled."),
            refused_code="status",
        ),
        Transition(
            "cancel",
            gettext_lazy("Cancel this redemption"),
            sources=(Status.AWAITING_APPROVAL,),
            targets=(Status.CANCELLED,),
            who=check_member,
            refused=gettext_lazy(
                "It has been decided already, so it can no longer be cancelled; ask your account manager."
            ),
            refused_code="not_awaiting_approval",
        ),
    ],
)
