"""Catalog test data: items, pools with codes, and companies with points (given through the ledger)."""

import io
from itertools import count

import factory

from accounts.models import Membership
from portal.ledger import services as ledger
from portal.ledger.models import Code
from portal.tiers.models import Tier
from rewards_catalog import services
from rewards_catalog.models import Category, CodePool, Item
from tests.factories import MembershipFactory, PartnerFactory, StaffFactory, audience

_keys = count()


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Item
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Reward {n}")
    description = "Something partners like."
    kind = Item.Kind.EXPERIENCE
    cost_points = 100

    @factory.post_generation
    def tiers(self, create, extracted, **kwargs):
        """`tiers=[tier, ...]`: the item is only for those tiers (an audience of its own)."""
        if extracted:
            self.audience = audience(tiers=extracted)
            self.save(update_fields=["audience"])


class GoodsFactory(ItemFactory):
    kind = Item.Kind.GOODS
    stock = 10


class CodePoolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CodePool

    name = factory.Sequence(lambda n: f"Voucher pool {n}")
    low_stock_threshold = 2


def tier(name: str, *, threshold: int | None = None, multiplier: str = "1.00", name_he: str = "") -> Tier:
    """The tier of that name, made when missing (by default at a threshold nobody reaches in a test)."""
    found, _ = Tier.objects.get_or_create(
        name=name,
        defaults={
            "name_he": name_he,
            "multiplier": multiplier,
            "threshold": threshold if threshold is not None else 10**12 + next(_keys),
        },
    )
    return found


def give_points(partner, amount: int) -> None:
    ledger.post_transfer(
        ledger.earning(partner.id, key=f"test-points:{next(_keys)}", amount=amount, code=Code.ORDER, reason="Order")
    )


def company(points: int = 0, *, role=Membership.Role.OWNER, **partner_fields) -> Membership:
    """An active partner with one member of `role` and `points` available."""
    membership = MembershipFactory(partner=PartnerFactory(**partner_fields), role=role)
    if points:
        give_points(membership.partner, points)
    return membership


def colleague(membership: Membership, role=Membership.Role.PURCHASER) -> Membership:
    return MembershipFactory(partner=membership.partner, role=role)


def csv_file(lines: list[str], name: str = "codes.csv") -> io.BytesIO:
    file = io.BytesIO(("\n".join(lines) + "\n").encode())
    file.name = name
    return file


def gift_card(codes: list[str], *, cost_points: int = 100, uploader=None, **fields) -> Item:
    """A gift-card item whose pool holds `codes` (uploaded through the service, as the CMS does)."""
    pool = CodePoolFactory()
    if codes:
        uploader = uploader or _uploader()
        services.upload_codes(pool, file=csv_file(["code", *codes]), acting_user=uploader)
    return ItemFactory(kind=Item.Kind.GIFT_CARD, code_pool=pool, cost_points=cost_points, **fields)


def _uploader():
    from django.contrib.auth.models import Group

    user = StaffFactory()
    user.groups.add(Group.objects.get(name="Programme administrators"))
    return user
