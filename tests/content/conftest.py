import pytest

from accounts.models import Audience, Partner
from content.models import ContentSettings
from tests.factories import MembershipFactory, PartnerFactory


@pytest.fixture
def content_settings(db):
    settings = ContentSettings.load()
    settings.monthly_cap_points = 1_000
    settings.retry_wait_hours = 24
    settings.save()
    return settings


@pytest.fixture
def reseller(db):
    return PartnerFactory(kind=Partner.Kind.RESELLER)


@pytest.fixture
def shop(db):
    return PartnerFactory(kind=Partner.Kind.POINT_OF_SALE)


@pytest.fixture
def reseller_member(reseller):
    return MembershipFactory(partner=reseller)


@pytest.fixture
def shop_member(shop):
    return MembershipFactory(partner=shop)


@pytest.fixture
def resellers_only(db):
    return Audience.objects.create(name="Resellers", partner_kinds=[Partner.Kind.RESELLER])
