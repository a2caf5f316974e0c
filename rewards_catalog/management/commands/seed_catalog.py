"""A demo gift catalog: categories, items of every kind (English and Hebrew), a gift-card code pool, and a
few redemptions of the demo's first company so the portal and the approval queue have something to show.

Safe to run again: what exists is left as it is. Redemptions go through the services, as in the portal.
"""

import secrets

from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Membership, User
from accounts.services import load_audience
from portal.tiers.models import Tier
from rewards_catalog import services
from rewards_catalog.models import Category, CodePool, Item, Redemption

# A tier the catalog names that does not exist yet is made at a threshold nobody reaches (as the migration
# from names does): its item stays out of reach until the tier's threshold is set (by name) by whoever seeds tiers.
UNREACHABLE = 10**15

CATEGORIES = [
    ("vouchers", "Vouchers", "שוברים", 10),
    ("office", "For the office", "למשרד", 20),
    ("experiences", "Experiences", "חוויות", 30),
    ("pioneers", "Pioneers", "חלוצים", 40),
    ("giving", "Giving back", "תרומה לקהילה", 50),
]
K = Item.Kind
ITEMS = [
    # (category, kind, cost, title, title_he, description, extra)
    ("vouchers", K.GIFT_CARD, 150, "Coffee shop voucher 25 ₪", "שובר לבית קפה 25 ₪",
     "A code for any branch of the chain; delivered at once.", {"pool": True}),
    ("vouchers", K.GIFT_CARD, 600, "Bookshop voucher 100 ₪", "שובר לחנות ספרים 100 ₪",
     "A code for the bookshop chain, online or in store.", {"pool": True}),
    ("office", K.GOODS, 450, "Branded thermal mug", "ספל תרמי ממותג",
     "Stainless steel, keeps coffee hot for six hours.", {"stock": 40, "limit": (2, "month")}),
    ("office", K.GOODS, 2400, "Espresso machine for the shop", "מכונת אספרסו לחנות",
     "A compact espresso machine, delivered and installed.", {"stock": 3}),
    ("experiences", K.EXPERIENCE, 3200, "Factory tour for two", "סיור במפעל לשניים",
     "A day with our engineers, lunch included.", {"stock": 12}),
    ("experiences", K.EXPERIENCE, 90000, "Team weekend at the Dead Sea", "סוף שבוע צוותי בים המלח",
     "Two nights for four at a Dead Sea resort, spa included.", {"stock": 4}),
    ("experiences", K.EXPERIENCE, 8000, "Partner summit: VIP seat", "כנס השותפים: מושב VIP",
     "Front-row seat and dinner with the product team.", {"tiers": ["Gold", "Platinum"]}),
    ("pioneers", K.EARLY_ACCESS, 1200, "Preview unit of the new range", "יחידת הדגמה של הסדרה החדשה",
     "Be the first to show the new range to your customers.", {"segments": ["pioneers"]}),
    ("pioneers", K.EARLY_ACCESS, 900, "Distributor preview pack", "ערכת הדגמה למפיצים",
     "Samples for your sales team.", {"kinds": ["distributor"]}),
    ("giving", K.DONATION, 300, "Plant trees with us", "נטיעת עצים",
     "We plant a tree for every 300 points; you choose where.", {"causes": ["Negev forest", "Galilee forest"]}),
    ("giving", K.DONATION, 500, "Support a local school", "תמיכה בבית ספר מקומי",
     "Laptops and books for a school you name.", {}),
]  # fmt: skip


class Command(BaseCommand):
    help = "Create the demo gift catalog (and a few redemptions of the demo company). Safe to run again."

    @transaction.atomic
    def handle(self, *args, **options):
        categories = {}
        for slug, name, name_he, order in CATEGORIES:
            categories[slug], _ = Category.objects.get_or_create(
                slug=slug, defaults={"name": name, "name_he": name_he, "sort_order": order}
            )
        uploader = self._uploader()
        made = 0
        for slug, kind, cost, title, title_he, description, extra in ITEMS:
            if Item.objects.filter(title=title).exists():
                continue
            Item.objects.create(
                title=title,
                title_he=title_he,
                description=description,
                category=categories[slug],
                kind=kind,
                cost_points=cost,
                stock=extra.get("stock"),
                audience=self._audience(extra),
                causes=extra.get("causes", []),
                limit_per_period=(extra.get("limit") or (None, ""))[0],
                limit_period=(extra.get("limit") or (None, ""))[1],
                code_pool=self._pool(title, uploader) if extra.get("pool") else None,
            )
            made += 1
        self.stdout.write(f"Catalog: {made} items made, {Item.objects.filter(is_active=True).count()} shown.")
        self._demo_redemptions()

    def _uploader(self) -> User:
        administrators = Group.objects.get(name="Programme administrators")
        user = administrators.user_set.filter(is_active=True).first() or User.objects.filter(is_superuser=True).first()
        if user is None:
            raise SystemExit("Run seed_demo first: the catalog's codes are uploaded by a programme administrator.")
        return user

    def _audience(self, extra: dict):
        """The demo item's audience (``accounts.Audience``), named for who it is: None for every partner."""
        if extra.get("tiers"):
            tiers = [self._tier(name) for name in extra["tiers"]]
            return load_audience(name=" and ".join(extra["tiers"]) + " tiers", tiers=tiers)
        if extra.get("segments"):
            return load_audience(name="Segment " + ", ".join(extra["segments"]), tags=extra["segments"])
        if extra.get("kinds"):
            return load_audience(name="Distributors", partner_kinds=extra["kinds"])
        return None

    def _tier(self, name: str) -> Tier:
        found = Tier.objects.filter(name__iexact=name).first()
        if found is None:
            highest = Tier.objects.order_by("-threshold").values_list("threshold", flat=True).first() or 0
            found = Tier.objects.create(name=name, threshold=max(UNREACHABLE, highest) + 1)
        return found

    def _pool(self, title: str, uploader: User) -> CodePool:
        import io

        pool, created = CodePool.objects.get_or_create(name=title, defaults={"low_stock_threshold": 10})
        if created:
            codes = [f"DEMO-{secrets.token_hex(2).upper()}-{secrets.token_hex(2).upper()}-{n:04d}" for n in range(25)]
            file = io.BytesIO(("code\n" + "\n".join(codes) + "\n").encode())
            file.name = "demo-codes.csv"
            services.upload_codes(pool, file=file, acting_user=uploader)
        return pool

    def _demo_redemptions(self) -> None:
        owner = Membership.objects.select_related("partner").filter(user__email="owner@northwind.example").first()
        if owner is None or Redemption.objects.filter(partner=owner.partner).exists():
            return
        coffee = Item.objects.get(title="Coffee shop voucher 25 ₪")
        mug = Item.objects.get(title="Branded thermal mug")
        try:
            services.redeem(coffee, member=owner, quantity=1)
            services.redeem(mug, member=owner, quantity=1, shipping_address="Northwind Traders\n12 Harbour Road\nHaifa")
        except (ValidationError, PermissionDenied) as error:  # e.g. not enough points: the catalog still stands
            self.stdout.write(f"No demo redemptions: {error}")
            return
        self.stdout.write(
            "Demo redemptions: a gift card (fulfilled) and a mug (awaiting approval) for Northwind Traders."
        )
