"""The partner and people use cases check their actor themselves, whoever calls them (CMS, API, task)."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts import services
from accounts.models import Membership, Partner, User
from tests.factories import (
    AccountManagerFactory,
    MembershipFactory,
    PartnerFactory,
    ProgrammeAdministratorFactory,
    StaffFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def manager():
    return AccountManagerFactory()


@pytest.fixture
def own_partner(manager):
    return PartnerFactory(account_manager=manager)


@pytest.fixture
def foreign_partner():
    return PartnerFactory(account_manager=AccountManagerFactory())


def add(partner, acting_user, email="new.person@example.com", role=Membership.Role.SALES):
    return services.add_member(
        partner, email=email, first_name="New", last_name="Person", role=role, acting_user=acting_user
    )


def test_add_member_creates_a_user_without_password(manager, own_partner):
    membership = add(own_partner, manager, email="  New.Person@EXAMPLE.com")
    user = membership.user
    assert (user.email, user.first_name, user.is_staff) == ("new.person@example.com", "New", False)
    assert not user.has_usable_password()
    assert (membership.partner, membership.role) == (own_partner, Membership.Role.SALES)


def test_add_member_refuses_a_partner_outside_the_portfolio(manager, foreign_partner):
    with pytest.raises(PermissionDenied):
        add(foreign_partner, manager)
    assert not User.objects.filter(email="new.person@example.com").exists()


def test_add_member_refuses_staff_without_the_cms_permission(own_partner):
    own_partner.account_manager.groups.clear()
    with pytest.raises(PermissionDenied):
        add(own_partner, User.objects.get(pk=own_partner.account_manager_id))


def test_an_administrator_adds_members_anywhere(foreign_partner):
    assert add(foreign_partner, ProgrammeAdministratorFactory()).partner == foreign_partner


@pytest.mark.parametrize("who", ["member elsewhere", "staff"])
def test_add_member_refuses_people_who_cannot_join(manager, own_partner, who):
    existing = MembershipFactory().user if who == "member elsewhere" else StaffFactory()
    with pytest.raises(ValidationError) as error:
        add(own_partner, manager, email=existing.email.upper())
    assert "email" in error.value.error_dict
    assert not own_partner.memberships.exists()


def test_add_member_reuses_a_user_who_left_their_company(manager, own_partner):
    former = UserFactory(first_name="Kept")
    membership = add(own_partner, manager, email=former.email)
    assert membership.user == former
    former.refresh_from_db()
    assert former.first_name == "Kept"


def partner_fields(**changes):
    fields = {
        "name": "Delta Stores",
        "external_id": "ERP-DELTA",
        "registration_number": "REG-DELTA",
        "kind": Partner.Kind.RESELLER,
        "region": "South",
        "tags": ["pioneers"],
    }
    return {**fields, **changes}


def test_a_manager_creates_partners_for_themselves_only(manager):
    partner = services.create_partner(**partner_fields(account_manager=manager), acting_user=manager)
    assert partner.account_manager == manager
    assert list(partner.tags.names()) == ["pioneers"]
    for other in (AccountManagerFactory(), None):
        with pytest.raises(PermissionDenied):
            services.create_partner(
                **partner_fields(account_manager=other, external_id="ERP-X", registration_number="REG-X"),
                acting_user=manager,
            )


def test_an_administrator_assigns_any_staff_but_not_a_partners_person():
    administrator = ProgrammeAdministratorFactory()
    other_manager = AccountManagerFactory()
    partner = services.create_partner(**partner_fields(account_manager=other_manager), acting_user=administrator)
    assert partner.account_manager == other_manager
    with pytest.raises(PermissionDenied):
        services.update_partner(
            partner,
            **partner_fields(account_manager=MembershipFactory().user),
            language=partner.language,
            status=partner.status,
            acting_user=administrator,
        )


def test_update_partner_refuses_a_partner_outside_the_portfolio(manager, foreign_partner):
    with pytest.raises(PermissionDenied):
        services.update_partner(
            foreign_partner,
            **partner_fields(account_manager=manager),
            language=foreign_partner.language,
            status=foreign_partner.status,
            acting_user=manager,
        )
    foreign_partner.refresh_from_db()
    assert foreign_partner.name != "Delta Stores"


def test_removing_and_deleting_outside_the_portfolio_is_refused(manager, foreign_partner):
    membership = MembershipFactory(partner=foreign_partner)
    with pytest.raises(PermissionDenied):
        services.remove_member(membership, acting_user=manager)
    with pytest.raises(PermissionDenied):
        services.delete_partner(foreign_partner, acting_user=manager)
    assert Membership.objects.filter(pk=membership.pk).exists()
    assert Partner.objects.filter(pk=foreign_partner.pk).exists()


def test_the_cms_keeps_a_company_owner_and_ends_a_removed_persons_sessions(db):
    from django.core.exceptions import ValidationError

    from accounts import services
    from accounts.models import Membership
    from tests.factories import MembershipFactory, PartnerFactory, StaffFactory

    manager = StaffFactory(is_superuser=True)
    partner = PartnerFactory(account_manager=manager)
    owner = MembershipFactory(partner=partner, role=Membership.Role.OWNER)
    buyer = MembershipFactory(partner=partner, role=Membership.Role.PURCHASER)
    with pytest.raises(ValidationError):
        services.remove_member(owner, acting_user=manager)
    with pytest.raises(ValidationError):
        services.update_member(owner, first_name="A", last_name="B", role=Membership.Role.VIEWER, acting_user=manager)
    version = buyer.user.session_version
    services.remove_member(buyer, acting_user=manager)
    buyer.user.refresh_from_db()
    assert buyer.user.session_version == version + 1
    assert not Membership.objects.filter(pk=buyer.pk).exists()
    assert Membership.objects.get(pk=owner.pk).role == Membership.Role.OWNER
