"""Factories for tests. Ledger history is made through the ledger's services, never here."""

from itertools import count

import factory
from django.contrib.auth.models import Group

from accounts.models import Membership, Partner, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password("correct horse battery staple")


class StaffFactory(UserFactory):
    """Vendor staff with an authenticator app, as the CMS requires (accounts.middleware);
    `StaffFactory(authenticator_app=False)` makes one who has not set it up yet."""

    class Meta:
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"manager{n}@vendor.example")
    is_staff = True

    @factory.post_generation
    def authenticator_app(user, create, extracted, **kwargs):
        if create and extracted is not False:
            give_authenticator_app(user)


def give_authenticator_app(user, secret: str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"):
    """A TOTP authenticator with a known secret (allauth.mfa's TOTP.activate), so a test can make codes."""
    from allauth.mfa.totp.internal.auth import TOTP

    return TOTP.activate(user, secret).instance


class PartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Partner

    name = factory.Sequence(lambda n: f"Partner {n} Ltd")
    external_id = factory.Sequence(lambda n: f"ERP-{n:05d}")
    registration_number = factory.Sequence(lambda n: f"51{n:07d}")
    kind = Partner.Kind.RESELLER
    region = "Center"
    status = Partner.Status.ACTIVE


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    partner = factory.SubFactory(PartnerFactory)
    role = Membership.Role.OWNER


def _join_group(name):
    def join(user, create, extracted, **kwargs):
        if create:
            user.groups.add(Group.objects.get(name=name))

    return factory.PostGeneration(join)


class AccountManagerFactory(StaffFactory):
    """Vendor staff in the CMS group "Account managers" (made by a migration): sees their portfolio."""

    class Meta:
        skip_postgeneration_save = True

    cms_group = _join_group("Account managers")


class ProgrammeAdministratorFactory(StaffFactory):
    """Vendor staff in the CMS group "Programme administrators": sees every partner."""

    class Meta:
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"admin{n}@vendor.example")
    cms_group = _join_group("Programme administrators")


_audience_numbers = count(1)


def audience(name: str | None = None, *, kinds=(), regions=(), tiers=(), tags=()):
    """An audience (``accounts.Audience``) with these limits; `tags` are taggit tags or their names."""
    from taggit.models import Tag

    from accounts.models import Audience

    made = Audience.objects.create(
        name=name or f"Audience {next(_audience_numbers)}", partner_kinds=list(kinds), regions=list(regions)
    )
    made.tiers.set(tiers)
    made.tags.set([tag if isinstance(tag, Tag) else Tag.objects.get_or_create(name=tag)[0] for tag in tags])
    return made
