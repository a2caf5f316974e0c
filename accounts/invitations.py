"""Invitations: how a company's owner brings a colleague in, and how the colleague joins.

Each use case takes its actor, checks it, and runs in one transaction that first locks the partner row
(then the invitation), the same order as accounts.services' people use cases, so concurrent changes to a
company's people queue up instead of interleaving. The e-mail leaves through the outbox
(``portal.notices``): its notice is written with the invitation, and delivered once after commit.

The link's token is signed with the secret key over the invitation's id and nonce (django.core.signing):
the database keeps nothing that opens an invitation, and a resend replaces the nonce, so only the latest
link works.
"""

import logging
import secrets
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from wagtail.log_actions import log

from accounts.models import Invitation, Membership, Partner, User
from accounts.services import check_manages_partner, check_manages_people, lock_partner
from portal.notices import services as notices

logger = logging.getLogger(__name__)

TOKEN_SALT = "accounts.invitation"
NOTICE_KIND = "accounts.invitation"
# Resending mails the invitee again: not more often than this, so the portal is no tool to flood a mailbox.
RESEND_INTERVAL = timedelta(minutes=10)
# Invitations of one company waiting for an answer; more is a sign of a mistake or abuse, not of hiring.
MAX_OPEN_INVITATIONS = 50

ACCEPT_ACTION = "accounts.invitation.accept"
RESEND_ACTION = "accounts.invitation.resend"
REVOKE_ACTION = "accounts.invitation.revoke"


# --- the link ---------------------------------------------------------------------------------


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps([invitation.pk, invitation.nonce], salt=TOKEN_SALT, compress=True)


def invitation_from_token(token: str) -> Invitation | None:
    """The invitation a link names, whatever its status; None for a forged, mangled or outdated link."""
    try:
        pk, nonce = signing.loads(token, salt=TOKEN_SALT)
    except (signing.BadSignature, TypeError, ValueError):
        return None
    return Invitation.objects.select_related("partner", "invited_by").filter(pk=pk, nonce=nonce).first()


def invitation_url(invitation: Invitation) -> str:
    path = reverse("web:invitation", kwargs={"token": invitation_token(invitation)})
    return settings.PORTAL_BASE_URL.rstrip("/") + path


# --- the owner's use cases --------------------------------------------------------------------


def check_may_join(email: str, *, partner: Partner) -> User | None:
    """Refuse an address that cannot join a company; return its user when it has one."""
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        return None
    if user.is_staff:
        raise ValidationError(
            {
                "email": ValidationError(
                    _("This e-mail address belongs to the vendor's staff, who cannot join a partner company."),
                    code="staff",
                )
            }
        )
    membership = Membership.objects.filter(user=user).select_related("partner").first()
    if membership is not None:
        if membership.partner_id == partner.pk:
            raise ValidationError(
                {"email": ValidationError(_("This person is already one of your company's people."), code="ours")}
            )
        raise ValidationError(
            {
                "email": ValidationError(
                    _("This person already belongs to another partner company."), code="member_elsewhere"
                )
            }
        )
    return user


def _check_role(role: str) -> None:
    if role not in Membership.Role.values:
        raise ValidationError({"role": ValidationError(_("Choose one of the roles."), code="role")})


def may_join(email: str, *, partner: Partner) -> bool:
    try:
        check_may_join(email, partner=partner)
    except ValidationError:
        return False
    return True


def _check_not_ours(email: str, *, partner: Partner) -> None:
    """Refuse one of the company's own people (its owner sees them anyway); nothing else, see invite()."""
    try:
        check_may_join(email, partner=partner)
    except ValidationError as refused:
        if any(error.code == "ours" for errors in refused.error_dict.values() for error in errors):
            raise


@transaction.atomic
def invite(partner: Partner, *, email: str, role: str, acting_user: User) -> Invitation:
    """Invite `email` into `partner` with `role`, and mail the link.

    An expired invitation of the same address is renewed (new link, role, expiry); a pending one must be
    resent or revoked instead, so one address never holds two different offers from the same company.

    An address that cannot join (the vendor's staff, another company's person) is invited exactly like
    any other, so the owner learns nothing about whose it is; its invitation is never mailed
    (send_invitation_email) and could not be accepted (accept_invitation). Only the company's own people
    are refused, by name: the owner already sees them.
    """
    partner = lock_partner(partner)
    check_manages_people(acting_user, partner)
    email = User.objects.normalize_email(email.strip()).lower()
    _check_role(role)
    _check_not_ours(email, partner=partner)
    now = timezone.now()
    invitation = (
        Invitation.objects.select_for_update()
        .filter(partner=partner, email__iexact=email, accepted_at=None, revoked_at=None)
        .first()
    )
    if invitation is not None and invitation.expires_at > now:
        raise ValidationError(
            {
                "email": ValidationError(
                    _("%(email)s already has a pending invitation: resend or revoke it.") % {"email": email},
                    code="pending",
                )
            }
        )
    if invitation is None:
        open_invitations = Invitation.objects.filter(
            partner=partner, accepted_at=None, revoked_at=None, expires_at__gt=now
        ).count()
        if open_invitations >= MAX_OPEN_INVITATIONS:
            raise ValidationError(
                _("Your company has %(count)s invitations waiting for an answer: revoke some before inviting more.")
                % {"count": open_invitations},
                code="too_many",
            )
        invitation = Invitation(partner=partner, email=email)
    return _issue(invitation, role=role, acting_user=acting_user, now=now)


@transaction.atomic
def invite_owner(partner: Partner, *, email: str, acting_user: User) -> Invitation:
    """The partner's account manager (or an administrator) invites an owner into the company, as when an
    approved referral becomes a partner that has nobody yet; from then on its owners invite their colleagues.

    The invitation is like an owner's (same link, expiry, e-mail through the outbox); inviting the same
    address again while its invitation waits changes nothing. A manager may add people to their partners
    anyway (``services.add_member``), so this gives them no new power.
    """
    partner = lock_partner(partner)
    check_manages_partner(acting_user, partner)
    email = User.objects.normalize_email(email.strip()).lower()
    invitation = (
        Invitation.objects.select_for_update()
        .filter(partner=partner, email__iexact=email, accepted_at=None, revoked_at=None)
        .first()
    )
    now = timezone.now()
    if invitation is not None and invitation.expires_at > now:
        return invitation
    invitation = invitation or Invitation(partner=partner, email=email)
    return _issue(invitation, role=Membership.Role.OWNER, acting_user=acting_user, now=now)


def _issue(invitation: Invitation, *, role: str, acting_user: User, now) -> Invitation:
    """Save a new or renewed invitation with a fresh link, log it, and mail the link through the outbox."""
    invitation.role = role
    invitation.invited_by = acting_user
    _renew(invitation, now)
    invitation.save()
    log(instance=invitation, action="wagtail.create", user=acting_user, content_changed=True)
    _mail_latest_link(invitation)
    return invitation


@transaction.atomic
def resend_invitation(invitation: Invitation, *, acting_user: User) -> Invitation:
    """Mail a new link with a new expiry; the previous link stops working."""
    lock_partner(invitation.partner)
    check_manages_people(acting_user, invitation.partner)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at or invitation.revoked_at:
        closed = _("This invitation was already accepted.") if invitation.accepted_at else None
        closed = closed or _("This invitation was withdrawn: invite the person again instead.")
        raise ValidationError(closed, code="closed")
    now = timezone.now()
    if invitation.sent_at > now - RESEND_INTERVAL:
        minutes = -(-(invitation.sent_at + RESEND_INTERVAL - now).total_seconds() // 60)
        raise ValidationError(
            _("The invitation to %(email)s was sent a moment ago. You can send it again in %(minutes)d minutes.")
            % {"email": invitation.email, "minutes": minutes},
            code="too_soon",
        )
    _renew(invitation, now)
    invitation.save(update_fields=["nonce", "sent_at", "mailed_at", "expires_at"])
    log(instance=invitation, action=RESEND_ACTION, user=acting_user)
    _mail_latest_link(invitation)
    return invitation


@transaction.atomic
def revoke_invitation(invitation: Invitation, *, acting_user: User) -> Invitation:
    """Withdraw an invitation; its link shows that it was revoked. Revoking again changes nothing."""
    lock_partner(invitation.partner)
    check_manages_people(acting_user, invitation.partner)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.revoked_at:
        return invitation
    if invitation.accepted_at:
        raise ValidationError(
            _("%(email)s already accepted this invitation: remove the person instead.") % {"email": invitation.email},
            code="accepted",
        )
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    log(instance=invitation, action=REVOKE_ACTION, user=acting_user)
    return invitation


def _renew(invitation: Invitation, now) -> None:
    invitation.nonce = secrets.token_urlsafe(16)
    invitation.sent_at = now
    invitation.mailed_at = None
    invitation.expires_at = now + Invitation.VALID_FOR


def _mail_latest_link(invitation: Invitation) -> None:
    """The notice of this link (a resend's new nonce is a new notice; an older one finds its link gone)."""
    payload = {"invitation": invitation.pk, "nonce": invitation.nonce}
    notices.enqueue(NOTICE_KIND, key=f"{NOTICE_KIND}:{invitation.pk}:{invitation.nonce}", payload=payload)


# --- the invitee's use cases ------------------------------------------------------------------


def check_open(invitation: Invitation) -> None:
    """Refuse an invitation that can no longer be accepted, saying why."""
    messages = {
        Invitation.Status.ACCEPTED: _("This invitation has already been used."),
        Invitation.Status.REVOKED: _("This invitation was withdrawn by the company."),
        Invitation.Status.EXPIRED: _("This invitation has expired. Ask your company's owner to send it again."),
    }
    if invitation.status in messages:
        raise ValidationError(messages[invitation.status], code=invitation.status)


def may_join_with_password(invitation: Invitation) -> bool:
    """Whether the invitee joins by choosing a password here (no account, or one nobody can sign in to),
    rather than by signing in first."""
    user = User.objects.filter(email__iexact=invitation.email).first()
    return user is None or not user.has_usable_password()


@transaction.atomic
def accept_invitation(invitation: Invitation, *, user: User) -> Membership:
    """`user` joins the invitation's company with its role. Accepting again returns the same membership."""
    partner = lock_partner(invitation.partner)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if user.email.lower() != invitation.email.lower():
        raise PermissionDenied(_("This invitation is for %(email)s.") % {"email": invitation.email})
    if invitation.accepted_by_id == user.pk:
        membership = Membership.objects.filter(user=user, partner=partner).first()
        if membership is not None:
            return membership
    check_open(invitation)
    check_may_join(user.email, partner=partner)
    try:
        with transaction.atomic():
            membership = Membership.objects.create(user=user, partner=partner, role=invitation.role)
    except IntegrityError:  # joined another company at this very moment
        raise ValidationError(_("You already belong to a partner company."), code="member_elsewhere") from None
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    _mark_email_verified(user, invitation.email)
    log(instance=invitation, action=ACCEPT_ACTION, user=user)
    log(instance=membership, action="wagtail.create", user=user, content_changed=True)
    return membership


@transaction.atomic
def join_with_password(
    invitation: Invitation, *, first_name: str, last_name: str, password: str, language: str
) -> Membership:
    """Create the invitee's account (or give a password to one nobody could sign in to) and accept.

    The link was mailed to the address, so following it proves the address: it is stored as verified.
    """
    lock_partner(invitation.partner)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    check_open(invitation)
    check_may_join(invitation.email, partner=invitation.partner)
    user = User.objects.select_for_update().filter(email__iexact=invitation.email).first()
    if user is not None and user.has_usable_password():
        raise ValidationError(_("You already have an account: sign in to accept the invitation."), code="has_account")
    if user is None:
        user = User(email=invitation.email)
    user.first_name, user.last_name = first_name.strip(), last_name.strip()
    if language in dict(settings.LANGUAGES):
        user.language = language
    validate_password(password, user)
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    return accept_invitation(invitation, user=user)


def _mark_email_verified(user: User, email: str) -> None:
    email = email.lower()
    address = EmailAddress.objects.filter(user=user, email__iexact=email).first()
    if address is None:
        has_primary = EmailAddress.objects.filter(user=user, primary=True).exists()
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=not has_primary)
    elif not address.verified:
        address.verified = True
        address.save(update_fields=["verified"])


# --- the e-mail -----------------------------------------------------------------------------


def deliver_notice(payload: dict) -> int:
    """The outbox's sender for invitations (registered in the app's ready()): the link the notice names."""
    return int(send_invitation_email(payload["invitation"], nonce=payload["nonce"]))


def send_invitation_email(invitation_id: int, *, nonce: str | None = None) -> bool:
    """Mail the latest link of an open invitation once, if its address can join; True when a mail left.

    The invitation is claimed (mailed_at) before sending, so a second delivery sends nothing; a failed send
    releases the claim and raises, so the outbox tries it again. With `nonce`, only while that link is the
    latest.
    """
    invitations = Invitation.objects.select_related("partner", "invited_by")
    if nonce is not None:
        invitations = invitations.filter(nonce=nonce)
    invitation = invitations.filter(pk=invitation_id, accepted_at=None, revoked_at=None, mailed_at=None).first()
    if invitation is None:
        return False
    claim = Invitation.objects.filter(pk=invitation.pk, nonce=invitation.nonce, mailed_at=None)
    if not claim.update(mailed_at=timezone.now()):
        return False
    if not may_join(invitation.email, partner=invitation.partner):
        logger.info("Invitation %s not mailed: its address cannot join the company.", invitation.pk)
        return False  # claimed all the same: the owner sees it as sent, like any other
    try:
        subject, body = render_invitation_email(invitation)
        send_mail(subject, body, None, [invitation.email])
    except Exception:
        Invitation.objects.filter(pk=invitation.pk, nonce=invitation.nonce).update(mailed_at=None)
        raise
    return True


def render_invitation_email(invitation: Invitation) -> tuple[str, str]:
    """The subject and text, in the invitee's language if they have an account, else the company's."""
    invitee = User.objects.filter(email__iexact=invitation.email).first()
    language = (invitee.language if invitee else None) or invitation.partner.language
    with translation.override(language):
        context = {
            "invitation": invitation,
            "partner": invitation.partner,
            "inviter": invitation.invited_by,
            "role": invitation.get_role_display(),
            "url": invitation_url(invitation),
            "expires_at": invitation.expires_at,
        }
        subject = render_to_string("accounts/email/invitation_subject.txt", context)
        body = render_to_string("accounts/email/invitation_message.txt", context)
    return " ".join(subject.split()), body
