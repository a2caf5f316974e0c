"""The demo programme's rules and gift catalog, set up before its history is replayed through them."""

import hashlib
import io
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.core.management import call_command
from django.utils import timezone

from accounts.models import User
from accounts.services import load_audience
from portal.earning.models import Campaign, CategoryMultiplier, EarningSettings
from rewards_catalog import services as catalog
from rewards_catalog.models import CodePool

CATEGORY_MULTIPLIERS = {"Capsules": Decimal("1.25"), "Service": Decimal("1.50"), "Machines": Decimal("1.10")}
DEMO_CODES_PER_POOL = 200


def seed_earning_rules(today: date) -> bool:
    """The demo's earning rules, unless the programme has been configured (by an earlier seed or by hand).

    One point per 10 of net order value, so the catalog's prices (150 to 8,000 points) are a few
    orders away; a bulk bonus, the punch card, early payment, three category multipliers and two
    campaigns: one over, on grinders for resellers, and one running now, on the X5 capsules.
    """
    rules = EarningSettings.load()
    if rules.category_multipliers.exists() or Campaign.objects.exists():
        return False
    rules.points_per_unit = Decimal("0.1")
    rules.return_window_days = 30
    rules.bulk_threshold = Decimal("20000")
    rules.bulk_bonus_points = 500
    rules.punch_card_every = 5
    rules.punch_card_min_value = Decimal("1000")
    rules.punch_card_bonus_points = 250
    rules.early_payment_min_days = 10
    rules.early_payment_points_per_unit = Decimal("0.02")
    rules.save()
    CategoryMultiplier.objects.bulk_create(
        CategoryMultiplier(settings=rules, category=category, multiplier=multiplier)
        for category, multiplier in CATEGORY_MULTIPLIERS.items()
    )
    Campaign.objects.create(
        name="Grinder spring push",
        starts_at=_day(today, 150),
        ends_at=_day(today, 108),
        audience=load_audience(name="Resellers", partner_kinds=["reseller"]),
        categories=["Grinders"],
        multiplier=Decimal("1.5"),
    )
    Campaign.objects.create(
        name="X5 capsules launch", starts_at=_day(today, 40), ends_at=_day(today, -20), skus=["CAP-X5-100"],
        bonus_points=200,
    )  # fmt: skip
    return True


def seed_catalog(administrator: User) -> None:
    """The catalog helper's demo catalog (its own command), with enough gift-card codes for eight months.

    The command's own demo redemptions come to nothing here (the company has no points yet): the
    history's redemptions replace them. The extra codes are a fixed file per pool, so uploading it
    again adds nothing.
    """
    call_command("seed_catalog", stdout=io.StringIO())
    for pool in CodePool.objects.filter(items__isnull=False).distinct().order_by("id"):
        codes = [
            hashlib.sha256(f"demo-history:{pool.name}:{n}".encode()).hexdigest()[:12].upper()
            for n in range(DEMO_CODES_PER_POOL)
        ]
        file = io.BytesIO(("code\n" + "\n".join(f"DH-{c[:4]}-{c[4:8]}-{c[8:]}" for c in codes) + "\n").encode())
        file.name = "demo-history-codes.csv"
        catalog.upload_codes(pool, file=file, acting_user=administrator)


def _day(today: date, days_ago: int) -> datetime:
    return timezone.make_aware(datetime.combine(today - timedelta(days=days_ago), time.min))
