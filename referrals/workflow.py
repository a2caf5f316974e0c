"""A referral application's review: the one table of its steps (``portal.workflow``).

An application waits (applied) for the referring partner's account manager, or, for a business that came
without a referrer, for an administrator, who approves it (a new active partner, its owner invited) or
rejects it with a reason. Qualification and expiry follow by themselves (``services.check_qualification``),
not by a person's step, so they are not in the table.
"""

from django.utils.translation import gettext_lazy

from accounts.models import User
from portal.workflow import Transition, Workflow
from referrals.errors import InvalidTransition, NotAllowedToReview
from referrals.models import Application
from referrals.queries import applications_visible_to

Status = Application.Status


def check_reviewer(user: User, application: Application) -> None:
    """Staff with the CMS permission to change applications, who see this application (portfolio rule)."""
    allowed = (
        isinstance(user, User)
        and user.is_active
        and user.is_staff
        and user.has_perm("referrals.change_application")
        and applications_visible_to(user).filter(pk=application.pk).exists()
    )
    if not allowed:
        raise NotAllowedToReview()


REFERRAL_FLOW = Workflow(
    "referral application",
    refusal=InvalidTransition,
    transitions=[
        Transition(
            "approve",
            gettext_lazy("Approve"),
            sources=(Status.APPLIED,),
            targets=(Status.APPROVED,),
            done=(Status.APPROVED, Status.QUALIFIED, Status.EXPIRED),
            who=check_reviewer,
            refused=gettext_lazy("Only an application waiting for review can be approved."),
            refused_code="not_applied",
        ),
        Transition(
            "reject",
            gettext_lazy("Reject"),
            sources=(Status.APPLIED,),
            targets=(Status.REJECTED,),
            who=check_reviewer,
            refused=gettext_lazy("Only an application waiting for review can be rejected."),
            refused_code="not_applied",
        ),
    ],
)
