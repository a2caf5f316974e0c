"""Who may see which partner: the one rule every page, API and admin view shares."""

from django.db.models import Case, QuerySet, When
from django.db.models.functions import Lower

from accounts.models import Invitation, Membership, Partner, User


def sees_all_partners(user: User) -> bool:
    return user.is_active and (user.is_superuser or user.has_perm("accounts.view_all_partners"))


def partners_visible_to(user: User) -> QuerySet[Partner]:
    """The partners a staff user manages: all for an administrator, else their portfolio."""
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return Partner.objects.none()
    if sees_all_partners(user):
        return Partner.objects.all()
    return Partner.objects.filter(account_manager=user)


def memberships_visible_to(user: User) -> QuerySet[Membership]:
    return Membership.objects.filter(partner__in=partners_visible_to(user))


def membership_of(user: User) -> Membership | None:
    """The signed-in person's company membership, or None for staff and strangers."""
    if not user.is_authenticated:
        return None
    return Membership.objects.select_related("partner").filter(user=user).first()


def people_of(partner: Partner) -> QuerySet[Membership]:
    """A company's people, owners first."""
    owners_first = Case(When(role=Membership.Role.OWNER, then=0), default=1)
    return (
        Membership.objects.filter(partner=partner).select_related("user").order_by(owners_first, Lower("user__email"))
    )


def open_invitations_of(partner: Partner) -> QuerySet[Invitation]:
    """Invitations neither accepted nor revoked, expired ones included (they can be resent)."""
    return Invitation.objects.filter(partner=partner, accepted_at=None, revoked_at=None).order_by("-sent_at")
