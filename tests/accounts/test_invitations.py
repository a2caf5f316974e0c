"""Invitations and a company's people, through the use cases the portal calls (accounts.invitations,
accounts.services): who may do what, what the invitee receives, and that repeating changes nothing."""

import re
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation
from django.utils.formats import date_format

from accounts import invitations, services
from accounts.models import Invitation, Membership, Partner, User
from tests.factories import MembershipFactory, PartnerFactory, StaffFactory, UserFactory
from tests.ledger.racing import race

pytestmark = pytest.mark.django_db

Role = Membership.Role


@pytest.fixture
def owner(partner):
    return MembershipFactory(partner=partner, role=Role.OWNER).user


def invite(partner, owner, email="newcomer@example.com", role=Role.PURCHASER, callbacks=None):
    if callbacks is None:
        return invitations.invite(partner, email=email, role=role, acting_user=owner)
    with callbacks(execute=True):
        return invitations.invite(partner, email=email, role=role, acting_user=owner)


def link_in(message) -> str:
    return re.search(r"http://\S+/invitations/(\S+)/", message.body).group(1)


def refused_with(code, call, *args, **kwargs):
    with pytest.raises(ValidationError) as refused:
        call(*args, **kwargs)
    error = refused.value
    by_field = getattr(error, "error_dict", {"": error.error_list if not hasattr(error, "error_dict") else []})
    errors = [e for field_errors in by_field.values() for e in field_errors]
    assert code in {e.code for e in errors}, error
    return error


# --- inviting ------------------------------------------------------------------------------------


def test_an_invitation_is_mailed_after_commit_with_a_link_that_names_it(
    partner, owner, mailoutbox, django_capture_on_commit_callbacks
):
    invitation = invite(partner, owner, "Newcomer@Example.com", callbacks=django_capture_on_commit_callbacks)
    assert invitation.email == "newcomer@example.com"
    assert invitation.status == Invitation.Status.PENDING
    assert invitation.expires_at - invitation.sent_at == timedelta(days=14)
    [message] = mailoutbox
    assert message.to == ["newcomer@example.com"]
    assert partner.name in message.subject
    assert invitations.invitation_from_token(link_in(message)) == invitation
    assert Invitation.objects.get().mailed_at is not None


def test_the_database_holds_no_token_that_opens_an_invitation(partner, owner):
    invitation = invite(partner, owner)
    token = invitations.invitation_token(invitation)
    stored = " ".join(str(value) for value in Invitation.objects.filter(pk=invitation.pk).values().get().values())
    assert token not in stored
    assert invitations.invitation_from_token(token[:-2] + "xx") is None
    assert invitations.invitation_from_token("not-a-token") is None


def written_in(language, when) -> str:
    """A date as the invitation e-mail writes it in `language` (Django's own catalogs name the months,
    so this tells the language even before the portal's Hebrew catalog exists)."""
    with translation.override(language):
        return date_format(timezone.localtime(when), "DATE_FORMAT")


def test_the_mail_speaks_the_companys_language_to_a_newcomer(
    owner, partner, mailoutbox, django_capture_on_commit_callbacks
):
    Partner.objects.filter(pk=partner.pk).update(language="he")
    partner.refresh_from_db()
    invitation = invite(partner, owner, callbacks=django_capture_on_commit_callbacks)
    [message] = mailoutbox
    assert written_in("he", invitation.expires_at) in message.body
    assert written_in("en", invitation.expires_at) not in message.body


def test_the_mail_speaks_an_existing_persons_own_language(
    partner, owner, mailoutbox, django_capture_on_commit_callbacks
):
    UserFactory(email="former@example.com", language="he")
    invitation = invite(partner, owner, "former@example.com", callbacks=django_capture_on_commit_callbacks)
    assert written_in("he", invitation.expires_at) in mailoutbox[0].body


def test_the_mail_is_in_english_for_an_english_company(partner, owner, mailoutbox, django_capture_on_commit_callbacks):
    with translation.override("he"):  # whatever the owner's own language
        invitation = invite(partner, owner, callbacks=django_capture_on_commit_callbacks)
    assert written_in("en", invitation.expires_at) in mailoutbox[0].body
    assert "invites you to join" in mailoutbox[0].body


def test_the_mail_task_sends_once_however_often_it_runs(partner, owner, mailoutbox):
    invitation = invite(partner, owner)  # the on-commit task never ran in this test's transaction
    assert invitations.send_invitation_email(invitation.pk) is True
    assert invitations.send_invitation_email(invitation.pk) is False
    assert len(mailoutbox) == 1


def test_a_failed_send_leaves_the_invitation_to_be_mailed_again(partner, owner, mailoutbox, monkeypatch):
    invitation = invite(partner, owner)

    def broken(*args, **kwargs):
        raise ConnectionRefusedError("SMTP down")

    monkeypatch.setattr(invitations, "send_mail", broken)
    with pytest.raises(ConnectionRefusedError):
        invitations.send_invitation_email(invitation.pk)
    monkeypatch.undo()
    assert invitations.send_invitation_email(invitation.pk) is True
    assert len(mailoutbox) == 1


def test_one_of_our_own_people_cannot_be_invited(partner, owner):
    MembershipFactory(partner=partner, user__email="ours@example.com", role=Role.VIEWER)
    error = refused_with("ours", invite, partner, owner, "OURS@example.com")
    assert error.message_dict["email"]
    assert not Invitation.objects.exists()


@pytest.mark.parametrize("whom", ["staff", "member elsewhere"])
def test_who_cannot_join_is_invited_like_anyone_but_never_mailed_and_cannot_accept(
    partner, owner, whom, mailoutbox, django_capture_on_commit_callbacks
):
    # These used to be refused with their own reason ("staff", "member_elsewhere"): that told the owner
    # whose the address is. Now the owner sees an invitation like any other; nothing leaves.
    email = f"{whom.replace(' ', '.')}@example.com"
    person = StaffFactory(email=email) if whom == "staff" else MembershipFactory(user__email=email).user
    invitation = invite(partner, owner, email.upper(), callbacks=django_capture_on_commit_callbacks)
    assert invitation.status == Invitation.Status.PENDING
    assert mailoutbox == []
    Invitation.objects.filter(pk=invitation.pk).update(sent_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        invitations.resend_invitation(invitation, acting_user=owner)
    assert mailoutbox == []
    code = "staff" if whom == "staff" else "member_elsewhere"
    refused_with(code, invitations.accept_invitation, invitation, user=person)
    assert not Membership.objects.filter(user=person, partner=partner).exists()


def test_a_pending_invitation_is_not_made_twice(partner, owner):
    invite(partner, owner)
    refused_with("pending", invite, partner, owner, "NEWCOMER@example.com", Role.VIEWER)
    assert Invitation.objects.count() == 1


def test_inviting_again_after_expiry_renews_the_invitation_with_the_new_role(partner, owner):
    first = invite(partner, owner)
    old_token = invitations.invitation_token(first)
    Invitation.objects.filter(pk=first.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    renewed = invite(partner, owner, role=Role.VIEWER)
    assert renewed.pk == first.pk and renewed.role == Role.VIEWER
    assert renewed.status == Invitation.Status.PENDING
    assert invitations.invitation_from_token(old_token) is None


def test_a_company_has_a_limit_of_waiting_invitations(partner, owner, monkeypatch):
    monkeypatch.setattr(invitations, "MAX_OPEN_INVITATIONS", 2)
    invite(partner, owner, "a@example.com")
    invite(partner, owner, "b@example.com")
    refused_with("too_many", invite, partner, owner, "c@example.com")


def test_an_unknown_role_is_refused(partner, owner):
    refused_with("role", invite, partner, owner, role="emperor")


# --- who may manage people ------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.PURCHASER, Role.SALES, Role.VIEWER])
def test_only_owners_manage_people(partner, owner, role):
    someone = MembershipFactory(partner=partner, role=role).user
    invitation = invite(partner, owner)
    colleague = MembershipFactory(partner=partner, role=Role.VIEWER)
    calls = [
        lambda: invitations.invite(partner, email="x@example.com", role=Role.VIEWER, acting_user=someone),
        lambda: invitations.resend_invitation(invitation, acting_user=someone),
        lambda: invitations.revoke_invitation(invitation, acting_user=someone),
        lambda: services.change_role(colleague, role=Role.OWNER, acting_user=someone),
        lambda: services.remove_from_company(colleague, acting_user=someone),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied):
            call()
    assert Membership.objects.get(pk=colleague.pk).role == Role.VIEWER
    assert Invitation.objects.get(pk=invitation.pk).revoked_at is None


def test_another_companys_owner_cannot_touch_our_people(partner, owner):
    stranger = MembershipFactory(role=Role.OWNER).user
    invitation = invite(partner, owner)
    colleague = MembershipFactory(partner=partner, role=Role.VIEWER)
    for call in [
        lambda: invitations.invite(partner, email="x@example.com", role=Role.OWNER, acting_user=stranger),
        lambda: invitations.revoke_invitation(invitation, acting_user=stranger),
        lambda: services.change_role(colleague, role=Role.OWNER, acting_user=stranger),
        lambda: services.remove_from_company(colleague, acting_user=stranger),
    ]:
        with pytest.raises(PermissionDenied):
            call()
    assert Membership.objects.filter(pk=colleague.pk, role=Role.VIEWER).exists()


def test_a_deactivated_owner_manages_nobody(partner, owner):
    User.objects.filter(pk=owner.pk).update(is_active=False)
    owner.refresh_from_db()
    with pytest.raises(PermissionDenied):
        invite(partner, owner)


# --- resending and revoking ----------------------------------------------------------------------------


def test_resending_mails_a_new_link_and_the_old_one_stops_working(
    partner, owner, mailoutbox, django_capture_on_commit_callbacks
):
    invitation = invite(partner, owner, callbacks=django_capture_on_commit_callbacks)
    Invitation.objects.filter(pk=invitation.pk).update(
        sent_at=timezone.now() - timedelta(days=3), expires_at=timezone.now() + timedelta(days=11)
    )
    with django_capture_on_commit_callbacks(execute=True):
        resent = invitations.resend_invitation(invitation, acting_user=owner)
    assert len(mailoutbox) == 2
    first, second = (link_in(m) for m in mailoutbox)
    assert invitations.invitation_from_token(first) is None
    assert invitations.invitation_from_token(second) == resent
    assert resent.expires_at > timezone.now() + timedelta(days=13)


def test_resending_at_once_is_refused(partner, owner, mailoutbox, django_capture_on_commit_callbacks):
    invitation = invite(partner, owner, callbacks=django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        error = refused_with("too_soon", invitations.resend_invitation, invitation, acting_user=owner)
    assert "10 minutes" in error.messages[0]
    assert len(mailoutbox) == 1


def test_revoking_twice_changes_nothing_the_second_time(partner, owner):
    invitation = invite(partner, owner)
    first = invitations.revoke_invitation(invitation, acting_user=owner)
    again = invitations.revoke_invitation(invitation, acting_user=owner)
    assert first.revoked_at == again.revoked_at
    assert invitation.email not in _open_emails(partner)
    refused_with("closed", invitations.resend_invitation, invitation, acting_user=owner)


def _open_emails(partner):
    from accounts.queries import open_invitations_of

    return [i.email for i in open_invitations_of(partner)]


def test_after_revoking_the_address_can_be_invited_again(partner, owner):
    invitations.revoke_invitation(invite(partner, owner), acting_user=owner)
    assert invite(partner, owner).status == Invitation.Status.PENDING


# --- accepting ----------------------------------------------------------------------------------------


def test_joining_with_a_password_makes_a_verified_member_with_the_invited_role(partner, owner):
    invitation = invite(partner, owner, "Newcomer@example.com", Role.SALES)
    membership = invitations.join_with_password(
        invitation, first_name=" Noa ", last_name="Levi", password="a long enough secret 42", language="he"
    )
    user = membership.user
    assert (membership.partner, membership.role) == (partner, Role.SALES)
    assert (user.email, user.first_name, user.language) == ("newcomer@example.com", "Noa", "he")
    assert user.check_password("a long enough secret 42")
    assert EmailAddress.objects.filter(user=user, email="newcomer@example.com", verified=True, primary=True).exists()
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.ACCEPTED and invitation.accepted_by == user


def test_a_weak_password_is_refused_and_nothing_is_made(partner, owner):
    invitation = invite(partner, owner)
    with pytest.raises(ValidationError):
        invitations.join_with_password(invitation, first_name="N", last_name="L", password="123", language="en")
    assert not User.objects.filter(email="newcomer@example.com").exists()
    assert Invitation.objects.get().status == Invitation.Status.PENDING


def test_joining_twice_is_refused_the_second_time(partner, owner):
    invitation = invite(partner, owner)
    invitations.join_with_password(invitation, first_name="N", last_name="L", password="x-secret-pass-1", language="en")
    refused_with(
        "accepted",
        invitations.join_with_password,
        invitation,
        first_name="Mallory",
        last_name="M",
        password="another-pass-2",
        language="en",
    )
    assert User.objects.get(email="newcomer@example.com").first_name == "N"


def test_accepting_twice_changes_nothing_the_second_time(partner, owner):
    person = UserFactory(email="newcomer@example.com")
    invitation = invite(partner, owner)
    first = invitations.accept_invitation(invitation, user=person)
    again = invitations.accept_invitation(invitation, user=person)
    assert first.pk == again.pk
    assert Membership.objects.filter(user=person).count() == 1


def test_someone_else_cannot_accept(partner, owner):
    invitation = invite(partner, owner)
    with pytest.raises(PermissionDenied):
        invitations.accept_invitation(invitation, user=UserFactory(email="mallory@example.com"))
    assert Invitation.objects.get().status == Invitation.Status.PENDING


@pytest.mark.parametrize("status", ["expired", "revoked"])
def test_a_closed_invitation_cannot_be_accepted(partner, owner, status):
    person = UserFactory(email="newcomer@example.com")
    invitation = invite(partner, owner)
    if status == "expired":
        Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())
    else:
        invitations.revoke_invitation(invitation, acting_user=owner)
    refused_with(status, invitations.accept_invitation, invitation, user=person)
    assert not Membership.objects.filter(user=person).exists()


def test_someone_who_joined_another_company_meanwhile_cannot_accept(partner, owner):
    person = UserFactory(email="newcomer@example.com")
    invitation = invite(partner, owner)
    MembershipFactory(user=person, role=Role.VIEWER)
    refused_with("member_elsewhere", invitations.accept_invitation, invitation, user=person)


def test_an_account_without_password_gets_one_through_the_invitation(partner, owner):
    removed = User.objects.create_user("newcomer@example.com", password=None)
    invitation = invite(partner, owner)
    assert invitations.may_join_with_password(invitation)
    membership = invitations.join_with_password(
        invitation, first_name="N", last_name="L", password="x-secret-pass-1", language="en"
    )
    assert membership.user == removed and removed.pk == User.objects.get(email="newcomer@example.com").pk


def test_an_account_with_a_password_must_sign_in_to_accept(partner, owner):
    UserFactory(email="newcomer@example.com")
    invitation = invite(partner, owner)
    assert not invitations.may_join_with_password(invitation)
    refused_with(
        "has_account",
        invitations.join_with_password,
        invitation,
        first_name="M",
        last_name="M",
        password="x-secret-pass-1",
        language="en",
    )


# --- roles and removal --------------------------------------------------------------------------------


def test_the_last_owner_can_neither_step_down_nor_leave(partner, owner):
    mine = Membership.objects.get(user=owner)
    refused_with("last_owner", services.change_role, mine, role=Role.VIEWER, acting_user=owner)
    refused_with("last_owner", services.remove_from_company, mine, acting_user=owner)
    assert Membership.objects.get(pk=mine.pk).role == Role.OWNER


def test_with_a_second_owner_an_owner_may_step_down(partner, owner):
    second = MembershipFactory(partner=partner, role=Role.PURCHASER)
    services.change_role(second, role=Role.OWNER, acting_user=owner)
    services.change_role(Membership.objects.get(user=owner), role=Role.VIEWER, acting_user=owner)
    assert Membership.objects.get(user=owner).role == Role.VIEWER


def test_changing_to_the_same_role_changes_nothing(partner, owner):
    colleague = MembershipFactory(partner=partner, role=Role.SALES)
    assert services.change_role(colleague, role=Role.SALES, acting_user=owner).role == Role.SALES


def test_removing_keeps_the_user_ends_their_sessions_and_is_safe_to_repeat(partner, owner):
    colleague = MembershipFactory(partner=partner, role=Role.PURCHASER)
    hash_before = colleague.user.get_session_auth_hash()
    services.remove_from_company(colleague, acting_user=owner)
    services.remove_from_company(colleague, acting_user=owner)
    user = User.objects.get(pk=colleague.user_id)
    assert not Membership.objects.filter(user=user).exists()
    assert user.get_session_auth_hash() != hash_before
    assert user.session_version == 1


@pytest.mark.django_db(transaction=True)
def test_two_owners_demoting_each_other_at_once_leave_one_owner():
    partner = PartnerFactory()
    first, second = (MembershipFactory(partner=partner, role=Role.OWNER) for _ in range(2))

    def demote(membership, by):
        def call():
            try:
                services.change_role(membership, role=Role.VIEWER, acting_user=by.user)
            except (ValidationError, PermissionDenied) as refused:
                return type(refused).__name__
            return "demoted"

        return call

    outcomes = race(demote(first, second), demote(second, first))
    assert sorted(outcomes) == ["PermissionDenied", "demoted"], outcomes  # the second is no owner any more
    assert Membership.objects.filter(partner=partner, role=Role.OWNER).count() == 1


@pytest.mark.django_db(transaction=True)
def test_accepting_the_same_invitation_at_once_makes_one_member():
    partner = PartnerFactory()
    owner = MembershipFactory(partner=partner, role=Role.OWNER).user
    invitation = invitations.invite(partner, email="newcomer@example.com", role=Role.SALES, acting_user=owner)

    def join():
        try:
            invitations.join_with_password(
                invitation, first_name="N", last_name="L", password="x-secret-pass-1", language="en"
            )
        except ValidationError as refused:
            return refused.code
        return "joined"

    assert sorted(race(join, join)) == ["accepted", "joined"]
    assert User.objects.filter(email="newcomer@example.com").count() == 1
    assert Membership.objects.filter(partner=partner, role=Role.SALES).count() == 1
