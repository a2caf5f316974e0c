"""The company people pages and the invitation link, as an owner, a colleague and an invitee use them."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import invitations
from accounts.models import Invitation, Membership, User
from tests.factories import MembershipFactory, PartnerFactory, UserFactory

pytestmark = pytest.mark.django_db

Role = Membership.Role
PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a-long-new-secret-2026"


@pytest.fixture
def owner(partner):
    return MembershipFactory(partner=partner, role=Role.OWNER).user


@pytest.fixture
def colleague(partner):
    return MembershipFactory(partner=partner, role=Role.SALES, user__email="colleague@example.com")


@pytest.fixture
def signed_in(client, owner):
    client.force_login(owner)
    return client


def invite_through_the_page(client, callbacks, email="newcomer@example.com", role=Role.PURCHASER):
    with callbacks(execute=True):
        return client.post(reverse("web:people_invite"), {"email": email, "role": role})


def link_in(message) -> str:
    return re.search(r"http://\S+(/invitations/\S+/)", message.body).group(1)


# --- the owner's page -------------------------------------------------------------------------------


def test_the_owner_sees_the_people_and_the_waiting_invitations(signed_in, partner, owner, colleague):
    invitations.invite(partner, email="waiting@example.com", role=Role.VIEWER, acting_user=owner)
    MembershipFactory(user__email="stranger@example.com")  # another company's person
    response = signed_in.get(reverse("web:people"))
    assert response.status_code == 200
    for shown in [owner.email, "colleague@example.com", "waiting@example.com", "Salesperson"]:
        assert shown in response.text
    assert "stranger@example.com" not in response.text


def test_the_people_page_needs_the_same_queries_for_3_and_for_30_people(signed_in, partner, owner):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert signed_in.get(reverse("web:people")).status_code == 200
        return len(captured)

    for n in range(2):
        MembershipFactory(partner=partner, role=Role.VIEWER)
        invitations.invite(partner, email=f"w{n}@example.com", role=Role.VIEWER, acting_user=owner)
    queries()
    few = queries()
    for n in range(2, 29):
        MembershipFactory(partner=partner, role=Role.VIEWER)
        invitations.invite(partner, email=f"w{n}@example.com", role=Role.VIEWER, acting_user=owner)
    assert queries() == few


def test_an_invitation_is_mailed_with_its_link(signed_in, owner, mailoutbox, django_capture_on_commit_callbacks):
    response = invite_through_the_page(signed_in, django_capture_on_commit_callbacks)
    assert response.status_code == 302 and response["Location"] == reverse("web:people")
    [message] = mailoutbox
    assert message.to == ["newcomer@example.com"]
    assert link_in(message).startswith("/invitations/")
    assert "newcomer@example.com" in signed_in.get(reverse("web:people")).text


@pytest.mark.parametrize(
    ("email", "says"),
    [
        ("ours", "is already one of your company"),
        ("not an address", "Enter a valid email address"),
    ],
)
def test_a_refused_invitation_says_why(signed_in, partner, mailoutbox, django_capture_on_commit_callbacks, email, says):
    # Staff and other companies' people were refused here too, each with its own reason: that told any
    # owner whose an address is. They now get the same answer as everyone (the test below).
    if email == "ours":
        email = MembershipFactory(partner=partner).user.email
    response = invite_through_the_page(signed_in, django_capture_on_commit_callbacks, email=email)
    assert response.status_code == 400
    assert says in response.text
    assert not mailoutbox and not Invitation.objects.exists()


def test_an_owner_cannot_tell_staff_or_another_companys_person_from_a_newcomer(
    signed_in, mailoutbox, django_capture_on_commit_callbacks
):
    from tests.factories import StaffFactory

    addresses = {
        "staff": StaffFactory().email,
        "elsewhere": MembershipFactory().user.email,
        "newcomer": "newcomer@example.com",
    }
    answers = {}
    for whose, email in addresses.items():
        response = invite_through_the_page(signed_in, django_capture_on_commit_callbacks, email=email)
        page = signed_in.get(response["Location"])
        said = re.search(r'<ul class="messages">(.*?)</ul>', page.text, re.S).group(1)
        waiting = re.search(
            rf"<strong>{re.escape(email)}</strong>\s*<span class=\"note\">(.*?)</span>", page.text, re.S
        )
        answers[whose] = (response.status_code, response["Location"], said.replace(email, "EMAIL"), waiting.group(1))
    assert answers["staff"] == answers["elsewhere"] == answers["newcomer"]
    assert "EMAIL can join your company, the invitation is on its way" in answers["newcomer"][2]
    # ...and only the newcomer receives anything.
    assert [message.to for message in mailoutbox] == [["newcomer@example.com"]]


def test_a_company_may_send_only_so_many_invitations_an_hour(
    signed_in, partner, mailoutbox, django_capture_on_commit_callbacks, settings
):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "invite": "3/h/key,10/h/user"}
    for n in range(3):
        assert (
            invite_through_the_page(signed_in, django_capture_on_commit_callbacks, f"n{n}@example.com").status_code
            == 302
        )
    stopped = invite_through_the_page(signed_in, django_capture_on_commit_callbacks, "n3@example.com")
    assert stopped.status_code == 429
    assert "You have sent many invitations in the last hour" in stopped.text
    assert len(mailoutbox) == 3 and Invitation.objects.count() == 3
    # a second owner of the same company shares the company's limit
    from django.test import Client

    second = Client()
    second.force_login(MembershipFactory(partner=partner, role=Role.OWNER).user)
    assert invite_through_the_page(second, django_capture_on_commit_callbacks, "n4@example.com").status_code == 429
    # another company has its own
    other = Client()
    other.force_login(MembershipFactory(role=Role.OWNER).user)
    assert invite_through_the_page(other, django_capture_on_commit_callbacks, "n5@example.com").status_code == 302


def test_one_person_may_send_only_so_many_invitations_an_hour(signed_in, django_capture_on_commit_callbacks, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "invite": "20/h/key,2/h/user"}
    for n in range(2):
        assert (
            invite_through_the_page(signed_in, django_capture_on_commit_callbacks, f"p{n}@example.com").status_code
            == 302
        )
    assert invite_through_the_page(signed_in, django_capture_on_commit_callbacks, "p2@example.com").status_code == 429


def test_resend_and_revoke_from_the_page(signed_in, partner, owner, mailoutbox, django_capture_on_commit_callbacks):
    invite_through_the_page(signed_in, django_capture_on_commit_callbacks)
    invitation = Invitation.objects.get()
    too_soon = signed_in.post(reverse("web:invitation_resend", args=[invitation.pk]), follow=True)
    assert "You can send it again in" in too_soon.text and len(mailoutbox) == 1
    Invitation.objects.filter(pk=invitation.pk).update(sent_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        signed_in.post(reverse("web:invitation_resend", args=[invitation.pk]))
    assert len(mailoutbox) == 2 and link_in(mailoutbox[0]) != link_in(mailoutbox[1])
    signed_in.post(reverse("web:invitation_revoke", args=[invitation.pk]))
    assert Invitation.objects.get().status == Invitation.Status.REVOKED
    assert reverse("web:invitation_resend", args=[invitation.pk]) not in signed_in.get(reverse("web:people")).text
    assert "withdrawn" in signed_in.get(link_in(mailoutbox[1])).text


def test_change_a_role_and_remove_someone(signed_in, colleague, client):
    signed_in.post(reverse("web:person_role", args=[colleague.pk]), {"role": Role.PURCHASER})
    assert Membership.objects.get(pk=colleague.pk).role == Role.PURCHASER
    confirm = signed_in.get(reverse("web:person_remove", args=[colleague.pk]))
    assert confirm.status_code == 200 and "loses access to the company at once" in confirm.text
    assert signed_in.post(reverse("web:person_remove", args=[colleague.pk])).status_code == 302
    assert not Membership.objects.filter(pk=colleague.pk).exists()
    assert User.objects.filter(pk=colleague.user_id).exists()


def test_a_removed_person_loses_access_at_once(signed_in, colleague):
    from django.test import Client

    theirs = Client()
    theirs.force_login(colleague.user)
    assert theirs.get(reverse("web:dashboard")).status_code == 200
    signed_in.post(reverse("web:person_remove", args=[colleague.pk]))
    response = theirs.get(reverse("web:dashboard"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))


def test_the_last_owner_is_told_why_they_cannot_leave(signed_in, owner):
    mine = Membership.objects.get(user=owner)
    response = signed_in.post(reverse("web:person_remove", args=[mine.pk]), follow=True)
    assert "last owner" in response.text
    response = signed_in.post(reverse("web:person_role", args=[mine.pk]), {"role": Role.VIEWER}, follow=True)
    assert "last owner" in response.text
    assert Membership.objects.get(pk=mine.pk).role == Role.OWNER


# --- the invitee ----------------------------------------------------------------------------------------


def test_a_newcomer_sets_a_password_and_lands_in_the_company(
    signed_in, partner, client, mailoutbox, django_capture_on_commit_callbacks
):
    from django.test import Client

    invite_through_the_page(signed_in, django_capture_on_commit_callbacks, role=Role.SALES)
    link = link_in(mailoutbox[0])
    newcomer = Client()
    page = newcomer.get(link)
    assert page.status_code == 200 and partner.name in page.text and "newcomer@example.com" in page.text
    weak = newcomer.post(link, {"first_name": "Noa", "last_name": "Levi", "password1": "123", "password2": "123"})
    assert weak.status_code == 400 and not User.objects.filter(email="newcomer@example.com").exists()
    form = {"first_name": "Noa", "last_name": "Levi", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    joined = newcomer.post(link, form)
    assert joined.status_code == 302 and joined["Location"] == reverse("web:dashboard")
    membership = Membership.objects.get(user__email="newcomer@example.com")
    assert (membership.partner, membership.role) == (partner, Role.SALES)
    assert partner.name in newcomer.get(reverse("web:dashboard")).text
    again = newcomer.get(link)
    assert again.status_code == 410 and "already been used" in again.text
    # and the newcomer signs in later like anyone: the address is verified
    later = Client(REMOTE_ADDR="10.9.8.7")
    signed = later.post(reverse("account_login"), {"login": "newcomer@example.com", "password": NEW_PASSWORD})
    assert signed["Location"] == "/"


def test_someone_with_an_account_signs_in_and_accepts(
    signed_in, partner, mailoutbox, django_capture_on_commit_callbacks
):
    from allauth.account.models import EmailAddress
    from django.test import Client

    person = UserFactory(email="former@example.com")
    EmailAddress.objects.create(user=person, email=person.email, verified=True, primary=True)
    invite_through_the_page(signed_in, django_capture_on_commit_callbacks, email="former@example.com")
    link = link_in(mailoutbox[0])
    theirs = Client(REMOTE_ADDR="10.9.8.6")
    page = theirs.get(link)
    assert "Sign in to accept" in page.text
    assert theirs.post(link, {"password1": "x", "password2": "x"}).status_code == 200  # no password set here
    assert not Membership.objects.filter(user=person).exists()
    signed = theirs.post(reverse("account_login") + "?next=" + link, {"login": person.email, "password": PASSWORD})
    assert signed["Location"] == link
    assert "Accept the invitation" in theirs.get(link).text
    accepted = theirs.post(link)
    assert accepted["Location"] == reverse("web:dashboard")
    assert Membership.objects.get(user=person).partner == partner
    assert theirs.post(link).status_code == 410  # used: nothing changes
    assert Membership.objects.filter(user=person).count() == 1


def test_someone_signed_in_as_another_person_is_told_so(signed_in, owner, partner, client):
    invitation = invitations.invite(partner, email="newcomer@example.com", role=Role.VIEWER, acting_user=owner)
    link = reverse("web:invitation", args=[invitations.invitation_token(invitation)])
    response = signed_in.get(link)
    assert response.status_code == 403 and "newcomer@example.com" in response.text
    assert signed_in.post(link).status_code == 403
    assert Invitation.objects.get().status == Invitation.Status.PENDING


@pytest.mark.parametrize(
    ("state", "status", "says"),
    [
        ("expired", 410, "has expired"),
        ("revoked", 410, "withdrawn"),
        ("replaced", 404, "not valid"),
        ("forged", 404, "not valid"),
    ],
)
def test_a_link_that_no_longer_works_says_why(client, partner, owner, state, status, says):
    invitation = invitations.invite(partner, email="newcomer@example.com", role=Role.VIEWER, acting_user=owner)
    token = invitations.invitation_token(invitation)
    if state == "expired":
        Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())
    elif state == "revoked":
        invitations.revoke_invitation(invitation, acting_user=owner)
    elif state == "replaced":
        Invitation.objects.filter(pk=invitation.pk).update(sent_at=timezone.now() - timedelta(hours=1))
        invitations.resend_invitation(invitation, acting_user=owner)
    else:
        token = token[:-3] + "abc"
    form = {"first_name": "M", "last_name": "M", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    for response in [client.get(f"/invitations/{token}/"), client.post(f"/invitations/{token}/", form)]:
        assert response.status_code == status and says in response.text
    assert not User.objects.filter(email="newcomer@example.com").exists()


# --- who may do what: roles x URLs, and another company's ids -----------------------------------------


def owner_urls(invitation_id, membership_id):
    """(method, url, data) of every people page an owner uses."""
    return [
        ("get", reverse("web:people"), None),
        ("post", reverse("web:people_invite"), {"email": "x@example.com", "role": Role.OWNER}),
        ("post", reverse("web:invitation_resend", args=[invitation_id]), {}),
        ("post", reverse("web:invitation_revoke", args=[invitation_id]), {}),
        ("post", reverse("web:person_role", args=[membership_id]), {"role": Role.OWNER}),
        ("get", reverse("web:person_remove", args=[membership_id]), None),
        ("post", reverse("web:person_remove", args=[membership_id]), {}),
    ]


def state_of(partner):
    return (
        sorted(Membership.objects.filter(partner=partner).values_list("id", "role")),
        sorted(Invitation.objects.filter(partner=partner).values_list("id", "email", "nonce", "revoked_at")),
    )


@pytest.mark.parametrize("role", [Role.PURCHASER, Role.SALES, Role.VIEWER])
def test_only_owners_reach_the_people_pages(client, partner, owner, role, mailoutbox):
    person = MembershipFactory(partner=partner, role=role)
    invitation = invitations.invite(partner, email="waiting@example.com", role=Role.VIEWER, acting_user=owner)
    Invitation.objects.filter(pk=invitation.pk).update(sent_at=timezone.now() - timedelta(hours=1))
    victim = MembershipFactory(partner=partner, role=Role.VIEWER)
    before = state_of(partner)
    client.force_login(person.user)
    for method, url, data in owner_urls(invitation.pk, victim.pk):
        response = getattr(client, method)(url, data)
        assert response.status_code == 403, (role, method, url)
        assert "Only owners manage the company" in response.text
    assert state_of(partner) == before
    assert not mailoutbox


def test_owners_reach_every_people_page(signed_in, partner, owner, colleague):
    invitation = invitations.invite(partner, email="waiting@example.com", role=Role.VIEWER, acting_user=owner)
    Invitation.objects.filter(pk=invitation.pk).update(sent_at=timezone.now() - timedelta(hours=1))
    for method, url, data in owner_urls(invitation.pk, colleague.pk):
        response = getattr(signed_in, method)(url, data)
        assert response.status_code in (200, 302), (method, url, response.status_code)


def test_another_companys_invitations_and_people_are_not_found(signed_in, partner):
    theirs = PartnerFactory(name="Foreign Roasters Ltd")
    their_owner = MembershipFactory(partner=theirs, role=Role.OWNER)
    their_person = MembershipFactory(partner=theirs, role=Role.VIEWER)
    their_invitation = invitations.invite(
        theirs, email="theirs@example.com", role=Role.VIEWER, acting_user=their_owner.user
    )
    Invitation.objects.filter(pk=their_invitation.pk).update(sent_at=timezone.now() - timedelta(hours=1))
    before = state_of(theirs)
    for membership in [their_person, their_owner]:
        for method, url, data in owner_urls(their_invitation.pk, membership.pk)[2:]:
            response = getattr(signed_in, method)(url, data)
            assert response.status_code == 404, (method, url)
            assert "Foreign Roasters" not in response.text and "theirs@example.com" not in response.text
    assert state_of(theirs) == before
