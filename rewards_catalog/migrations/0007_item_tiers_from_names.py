"""Each item's tier names become links to the tiers of those names (English or Hebrew, in any case).

A name no tier has becomes a tier of that name whose threshold nobody reaches (10**15 and up), so the item
stays exactly as limited as it was (nobody could redeem it) until an administrator sets the threshold; and
when tiers are made so and none is the base tier (threshold 0), a base tier "Member" is made too.
"""

from django.db import migrations

UNREACHABLE = 10**15
BASE_TIER = "Member"


def tiers_for_names(Tier, names) -> dict[str, object]:
    """The tier of each name (by its casefolded form), making the tiers no name matches."""
    known = {}
    for tier in Tier.objects.order_by("threshold"):
        for name in (tier.name, tier.name_he):
            if name.strip():
                known.setdefault(name.strip().casefold(), tier)
    missing = sorted({name.strip() for name in names if name.strip() and name.strip().casefold() not in known})
    if not missing:
        return known
    highest = max(Tier.objects.order_by("-threshold").values_list("threshold", flat=True)[:1], default=0)
    start = max(UNREACHABLE, highest)
    for n, name in enumerate(missing, start=1):
        if name.casefold() not in known:  # "Gold" and "GOLD" are one tier
            known[name.casefold()] = Tier.objects.create(name=name, threshold=start + n)
    if not Tier.objects.filter(threshold=0).exists():
        taken = {tier_name.casefold() for tier_name in Tier.objects.values_list("name", flat=True)}
        base = BASE_TIER if BASE_TIER.casefold() not in taken else f"{BASE_TIER} (base)"
        Tier.objects.create(name=base, threshold=0)
    return known


def link_tiers(apps, schema_editor):
    Item = apps.get_model("rewards_catalog", "Item")
    Tier = apps.get_model("tiers", "Tier")
    limited = list(Item.objects.exclude(tier_names=[]).values_list("pk", "tier_names"))
    tiers = tiers_for_names(Tier, [name for _, names in limited for name in names])
    Link = Item.tiers.through
    Link.objects.bulk_create(
        [
            Link(item_id=pk, tier_id=tier_id)
            for pk, names in limited
            for tier_id in {tiers[name.strip().casefold()].pk for name in names if name.strip()}
        ],
        ignore_conflicts=True,
    )


def names_back(apps, schema_editor):
    Item = apps.get_model("rewards_catalog", "Item")
    for item in Item.objects.filter(tiers__isnull=False).distinct().prefetch_related("tiers"):
        item.tier_names = sorted(tier.name for tier in item.tiers.all())
        item.save(update_fields=["tier_names"])


class Migration(migrations.Migration):
    dependencies = [
        ("rewards_catalog", "0006_item_tiers_link"),
        ("tiers", "0001_initial"),
    ]

    operations = [migrations.RunPython(link_tiers, names_back)]
