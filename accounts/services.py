"""Use cases that change partners and their people. Each one checks its actor and runs in one transaction.

The CMS, the API and tasks call these the same way; each change leaves a row in Wagtail's audit log,
which is what the CMS shows as a partner's or person's history. The bulk loads at the end are the
exception: they are for trusted commands (the demo programme), have no actor and log nothing.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils.translation import gettext as _
from taggit.models import Tag, TaggedItem
from wagtail.log_actions import log

from accounts.models import Audience, Membership, Partner, User
from accounts.queries import partners_visible_to, sees_all_partners


def assignable_account_managers(acting_user: User) -> QuerySet[User]:
    """Whom `acting_user` may name as a partner's account manager: any active staff user for an
    administrator, only themselves for an account manager (a portfolio is not handed over by its holder)."""
    if not (acting_user.is_active and acting_user.is_staff):
        return User.objects.none()
    if sees_all_partners(acting_user):
        return User.objects.filter(is_staff=True, is_active=True)
    return User.objects.filter(pk=acting_user.pk)


def may_leave_partner_unmanaged(acting_user: User) -> bool:
    """Only an administrator may leave a partner without account manager: anyone else would lose sight of it."""
    return sees_all_partners(acting_user)


def check_manages_partner(acting_user: User, partner: Partner) -> None:
    if not partners_visible_to(acting_user).filter(pk=partner.pk).exists():
        raise PermissionDenied(_("You do not manage this partner."))


def _check_perm(acting_user: User, codename: str) -> None:
    if not acting_user.has_perm(f"accounts.{codename}"):
        raise PermissionDenied(_("You are not allowed to do this."))


def _check_account_manager(acting_user: User, account_manager: User | None, *, current: User | None = None) -> None:
    if account_manager is not None and account_manager == current:
        return  # keeping the partner's manager is always allowed, even one who has since left the staff
    if account_manager is None:
        if not may_leave_partner_unmanaged(acting_user):
            raise PermissionDenied(_("Only an administrator may leave a partner without account manager."))
        return
    if not assignable_account_managers(acting_user).filter(pk=account_manager.pk).exists():
        raise PermissionDenied(
            _("You may not make %(user)s this partner's account manager.") % {"user": account_manager}
        )


@transaction.atomic
def create_partner(
    *,
    name: str,
    external_id: str,
    registration_number: str,
    kind: str,
    region: str,
    language: str = Partner.Language.ENGLISH,
    status: str = Partner.Status.APPLIED,
    account_manager: User | None,
    tags: Iterable[str] = (),
    acting_user: User,
) -> Partner:
    _check_perm(acting_user, "add_partner")
    _check_account_manager(acting_user, account_manager)
    partner = Partner(
        name=name,
        external_id=external_id,
        registration_number=registration_number,
        kind=kind,
        region=region,
        language=language,
        status=status,
        account_manager=account_manager,
    )
    partner.full_clean()
    partner.save()
    partner.tags.set(list(tags))
    log(instance=partner, action="wagtail.create", user=acting_user, content_changed=True)
    return partner


@transaction.atomic
def update_partner(
    partner: Partner,
    *,
    name: str,
    external_id: str,
    registration_number: str,
    kind: str,
    region: str,
    language: str,
    status: str,
    account_manager: User | None,
    tags: Iterable[str],
    acting_user: User,
) -> Partner:
    _check_perm(acting_user, "change_partner")
    partner = Partner.objects.select_for_update().get(pk=partner.pk)
    check_manages_partner(acting_user, partner)
    _check_account_manager(acting_user, account_manager, current=partner.account_manager)
    partner.name = name
    partner.external_id = external_id
    partner.registration_number = registration_number
    partner.kind = kind
    partner.region = region
    partner.language = language
    partner.status = status
    partner.account_manager = account_manager
    partner.full_clean()
    partner.save()
    partner.tags.set(list(tags))
    log(instance=partner, action="wagtail.edit", user=acting_user, content_changed=True)
    return partner


@transaction.atomic
def delete_partner(partner: Partner, *, acting_user: User) -> None:
    """Delete a partner and its memberships. A partner with points history is protected by the ledger
    (django.db.models.ProtectedError): suspend it instead."""
    _check_perm(acting_user, "delete_partner")
    check_manages_partner(acting_user, partner)
    log(instance=partner, action="wagtail.delete", user=acting_user)
    partner.delete()


@transaction.atomic
def add_member(
    partner: Partner,
    *,
    email: str,
    first_name: str,
    last_name: str,
    role: str,
    acting_user: User,
) -> Membership:
    """Put a person into a partner company, creating their user (without password) if the e-mail is new.

    The person signs in later through a password reset or an invitation. A person belongs to one
    company, and vendor staff belong to none.
    """
    _check_perm(acting_user, "add_membership")
    check_manages_partner(acting_user, partner)
    email = User.objects.normalize_email(email).lower()
    user = User.objects.select_for_update().filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(email, password=None, first_name=first_name, last_name=last_name)
    elif user.is_staff:
        raise ValidationError(
            {"email": ValidationError(_("This e-mail address belongs to vendor staff."), code="staff")}
        )
    elif Membership.objects.filter(user=user).exists():
        raise ValidationError(
            {"email": ValidationError(_("This person already belongs to a partner company."), code="member")}
        )
    membership = Membership.objects.create(user=user, partner=partner, role=role)
    log(instance=membership, action="wagtail.create", user=acting_user, content_changed=True)
    return membership


@transaction.atomic
def update_member(
    membership: Membership,
    *,
    first_name: str,
    last_name: str,
    role: str,
    acting_user: User,
) -> Membership:
    _check_perm(acting_user, "change_membership")
    lock_partner(membership.partner)
    membership = Membership.objects.select_for_update().select_related("user", "partner").get(pk=membership.pk)
    check_manages_partner(acting_user, membership.partner)
    if role != Membership.Role.OWNER:
        _check_keeps_an_owner(membership)
    membership.role = role
    membership.full_clean()
    membership.save(update_fields=["role"])
    user = membership.user
    user.first_name, user.last_name = first_name, last_name
    user.save(update_fields=["first_name", "last_name"])
    log(instance=membership, action="wagtail.edit", user=acting_user, content_changed=True)
    return membership


@transaction.atomic
def remove_member(membership: Membership, *, acting_user: User) -> None:
    """Take a person out of their company, by the same rules as an owner in the portal: the company keeps
    an owner, and the person's sessions end at once. Their user stays (the ledger may name them as a cause)."""
    _check_perm(acting_user, "delete_membership")
    check_manages_partner(acting_user, membership.partner)
    lock_partner(membership.partner)
    membership = Membership.objects.select_for_update().select_related("user").filter(pk=membership.pk).first()
    if membership is None:
        return
    _check_keeps_an_owner(membership)
    log(instance=membership, action="wagtail.delete", user=acting_user)
    membership.delete()
    _end_sessions(membership.user)


# --- A company's people, managed by its owner in the portal -------------------------------------
# Each use case locks the partner row first (then the membership or invitation), so two owners changing
# the company's people at once queue up and the "at least one owner" rule holds under races.


def lock_partner(partner: Partner) -> Partner:
    return Partner.objects.select_for_update(no_key=True).get(pk=partner.pk)


def check_manages_people(acting_user: User, partner: Partner) -> Membership:
    """The acting person must be an active owner of `partner`; returns their membership."""
    membership = Membership.objects.filter(user=acting_user, partner=partner).first() if acting_user.pk else None
    if not (acting_user.is_active and membership is not None and membership.may_manage_people):
        raise PermissionDenied(_("Only the company's owners may manage its people."))
    return membership


def _check_keeps_an_owner(membership: Membership) -> None:
    if membership.role != Membership.Role.OWNER:
        return
    others = Membership.objects.filter(partner=membership.partner_id, role=Membership.Role.OWNER).exclude(
        pk=membership.pk
    )
    if not others.exists():
        raise ValidationError(
            _("%(person)s is the company's last owner: make someone else an owner first.")
            % {"person": membership.user},
            code="last_owner",
        )


@transaction.atomic
def change_role(membership: Membership, *, role: str, acting_user: User) -> Membership:
    """Give a colleague another role; the company always keeps at least one owner."""
    partner = lock_partner(membership.partner)
    check_manages_people(acting_user, partner)
    membership = (
        Membership.objects.select_for_update().select_related("user").filter(pk=membership.pk, partner=partner).first()
    )
    if membership is None:
        raise ValidationError(_("This person is no longer one of the company's people."), code="gone")
    if role not in Membership.Role.values:
        raise ValidationError({"role": ValidationError(_("Choose one of the roles."), code="role")})
    if membership.role == role:
        return membership
    if role != Membership.Role.OWNER:
        _check_keeps_an_owner(membership)
    membership.role = role
    membership.save(update_fields=["role"])
    log(instance=membership, action="wagtail.edit", user=acting_user, content_changed=True)
    return membership


@transaction.atomic
def remove_from_company(membership: Membership, *, acting_user: User) -> None:
    """Take a colleague out of the company: they lose access at once (every session of theirs ends), while
    their user stays, so what they did remains attributed to them. Removing again changes nothing."""
    partner = lock_partner(membership.partner)
    check_manages_people(acting_user, partner)
    membership = (
        Membership.objects.select_for_update().select_related("user").filter(pk=membership.pk, partner=partner).first()
    )
    if membership is None:
        return
    _check_keeps_an_owner(membership)
    log(instance=membership, action="wagtail.delete", user=acting_user)
    membership.delete()
    _end_sessions(membership.user)


# --- A person's own account ----------------------------------------------------------------------


def _check_self(user: User, acting_user: User) -> None:
    if acting_user.pk != user.pk:
        raise PermissionDenied(_("You may change only your own account."))


@transaction.atomic
def update_account(
    user: User,
    *,
    first_name: str,
    last_name: str,
    language: str,
    email_statements: bool,
    email_redemption_updates: bool,
    email_programme_news: bool,
    email_points_alerts: bool,
    acting_user: User,
) -> User:
    _check_self(user, acting_user)
    user.first_name, user.last_name = first_name.strip(), last_name.strip()
    user.language = language
    user.email_statements = email_statements
    user.email_redemption_updates = email_redemption_updates
    user.email_programme_news = email_programme_news
    user.email_points_alerts = email_points_alerts
    fields = {"first_name", "last_name", "language", "email_statements", "email_redemption_updates"}
    fields |= {"email_programme_news", "email_points_alerts"}
    user.clean_fields(exclude=[field.name for field in User._meta.fields if field.name not in fields])
    user.save(update_fields=sorted(fields))
    return user


@transaction.atomic
def change_language(user: User, *, language: str, acting_user: User) -> User:
    """The language the portal and its e-mails speak to this person."""
    _check_self(user, acting_user)
    if language not in dict(User._meta.get_field("language").choices):
        raise ValidationError({"language": ValidationError(_("Choose English or Hebrew."), code="language")})
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])
    return user


@transaction.atomic
def sign_out_everywhere(user: User, *, acting_user: User) -> None:
    """End every session of `user`, on every device, this one included."""
    _check_self(user, acting_user)
    _end_sessions(user)


def _end_sessions(user: User) -> None:
    # The version is part of the session auth hash (User.get_session_auth_hash): every session signed
    # with the old one fails Django's check on its next request and is flushed, whatever the backend.
    User.objects.filter(pk=user.pk).update(session_version=F("session_version") + 1)
    user.refresh_from_db(fields=["session_version"])


# --- A partner base loaded in bulk (the demo programme) ------------------------------------------
# For trusted commands, not for requests: no actor to check, no audit-log rows, a few statements for
# hundreds of rows. What exists is left as it is (people found by e-mail, partners by ERP id, members
# by person), so loading the same base twice adds nothing.


@dataclass(frozen=True)
class PersonRecord:
    email: str
    first_name: str
    last_name: str
    language: str = "en"
    is_staff: bool = False
    is_superuser: bool = False


@dataclass(frozen=True)
class PartnerRecord:
    name: str
    external_id: str
    registration_number: str
    kind: str
    region: str
    language: str
    status: str
    account_manager: User | None
    joined_at: datetime  # when the partner joined: its created_at, which auto_now_add cannot be told
    tags: tuple[str, ...] = ()


@transaction.atomic
def load_people(*, people: Sequence[PersonRecord], password_hash: str) -> tuple[dict[str, User], int]:
    """People who can sign in at once: the password of `password_hash` (one hash for all, since hashing is
    slow on purpose) and a verified primary e-mail address. Returns everyone by e-mail, and how many were new.
    """
    users = {u.email: u for u in User.objects.filter(email__in=[p.email for p in people])}
    created = User.objects.bulk_create(
        User(
            email=p.email,
            first_name=p.first_name,
            last_name=p.last_name,
            language=p.language,
            is_staff=p.is_staff,
            is_superuser=p.is_superuser,
            password=password_hash,
        )
        for p in people
        if p.email not in users
    )
    users |= {u.email: u for u in created}
    verified = set(EmailAddress.objects.filter(user__in=users.values()).values_list("email", flat=True))
    EmailAddress.objects.bulk_create(
        EmailAddress(user=u, email=email, verified=True, primary=True)
        for email, u in users.items()
        if email not in verified
    )
    return users, len(created)


@transaction.atomic
def add_to_group(*, users: Iterable[User], group_name: str) -> None:
    """Give `users` a CMS group's permissions (e.g. the account managers'); a group that does not exist
    (its migration not run) gives nothing."""
    group = Group.objects.filter(name=group_name).first()
    if group is not None:
        group.user_set.add(*users)


@transaction.atomic
def load_partners(*, partners: Sequence[PartnerRecord]) -> tuple[dict[str, Partner], list[Partner]]:
    """The partner companies by ERP id; those missing are created with their segments and join date.

    Returns every partner by ERP id, and the new ones.
    """
    by_id = {p.external_id: p for p in Partner.objects.filter(external_id__in=[r.external_id for r in partners])}
    missing = [r for r in partners if r.external_id not in by_id]
    created = Partner.objects.bulk_create(
        Partner(
            name=r.name,
            external_id=r.external_id,
            registration_number=r.registration_number,
            kind=r.kind,
            region=r.region,
            language=r.language,
            status=r.status,
            account_manager=r.account_manager,
        )
        for r in missing
    )
    for record, partner in zip(missing, created, strict=True):
        partner.created_at = record.joined_at
        by_id[record.external_id] = partner
    Partner.objects.bulk_update(created, ["created_at"])
    _tag_partners(created, {r.external_id: r.tags for r in missing})
    return by_id, created


def _tag_partners(partners: list[Partner], tags: dict[str, tuple[str, ...]]) -> None:
    names = sorted({name for names in tags.values() for name in names})
    by_name = {name: Tag.objects.get_or_create(name=name)[0] for name in names}
    content_type = ContentType.objects.get_for_model(Partner)
    TaggedItem.objects.bulk_create(
        TaggedItem(content_type=content_type, object_id=p.id, tag=by_name[name])
        for p in partners
        for name in tags[p.external_id]
    )


@transaction.atomic
def load_audience(
    *, name: str, partner_kinds: Sequence[str] = (), regions: Sequence[str] = (), tiers=(), tags: Sequence[str] = ()
) -> Audience:
    """The audience of that name, made with these terms when missing (an existing one is left as it is):
    `tiers` are Tier rows, `tags` tag names (made when missing)."""
    audience, created = Audience.objects.get_or_create(
        name=name, defaults={"partner_kinds": list(partner_kinds), "regions": list(regions)}
    )
    if created:
        audience.tiers.set(tiers)
        audience.tags.set([Tag.objects.get_or_create(name=tag)[0] for tag in tags])
    return audience


@transaction.atomic
def load_memberships(*, memberships: Iterable[tuple[User, Partner, str]]) -> dict[int, Membership]:
    """Each person's membership, by user id: a person who has none joins the given company in the given
    role (user, partner, role); one who has one keeps it (a person belongs to one company)."""
    memberships = list(memberships)
    existing = {m.user_id: m for m in Membership.objects.filter(user__in=[user for user, _, _ in memberships])}
    missing = [
        Membership(user=user, partner=partner, role=role)
        for user, partner, role in memberships
        if user.id not in existing
    ]
    return existing | {m.user_id: m for m in Membership.objects.bulk_create(missing)}


@transaction.atomic
def suspend_partners(*, partner_ids: Iterable[int]) -> None:
    Partner.objects.filter(pk__in=list(partner_ids)).update(status=Partner.Status.SUSPENDED)
