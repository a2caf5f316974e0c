"""Offers' own targeting fields become audiences: what the data migrations of campaigns and catalog items share.

Before ``accounts.Audience`` each offer carried its own limits (campaigns: kinds, regions, tag names; catalog
items: tiers, kinds, tags). Each distinct combination becomes one audience, named for what it asks
("Resellers · North · tier Gold · tag vip"); a campaign and an item that asked the same share it, whichever
migration runs first making it and the other finding it by name. The functions take the migration's
historical models (``apps``), never the current ones.
"""

from django.utils.text import slugify

NAME_MAX = 120  # Audience.name's max_length
KIND_NAMES = {"reseller": "Resellers", "distributor": "Distributors", "point_of_sale": "Points of sale"}
KIND_ORDER = list(KIND_NAMES)


def audience_for(apps, *, partner_kinds=(), regions=(), tier_ids=(), tag_ids=()):
    """The audience asking exactly these terms (made when missing), or None when they ask nothing."""
    kinds = sorted(set(partner_kinds), key=lambda kind: (KIND_ORDER.index(kind) if kind in KIND_ORDER else 99, kind))
    regions = sorted(set(regions))
    tier_ids, tag_ids = set(tier_ids), set(tag_ids)
    if not (kinds or regions or tier_ids or tag_ids):
        return None
    Audience = apps.get_model("accounts", "Audience")
    Tier = apps.get_model("tiers", "Tier")
    Tag = apps.get_model("taggit", "Tag")
    tier_names = list(Tier.objects.filter(pk__in=tier_ids).order_by("threshold", "name").values_list("name", flat=True))
    tag_names = sorted(Tag.objects.filter(pk__in=tag_ids).values_list("name", flat=True))
    base = name_of(kinds, regions, tier_names, tag_names)
    for n in range(1, 1000):
        name = base if n == 1 else _numbered(base, n)
        audience = Audience.objects.filter(name=name).first()
        if audience is None:
            audience = Audience.objects.create(name=name, partner_kinds=kinds, regions=regions)
            audience.tiers.set(tier_ids)
            audience.tags.set(tag_ids)
            return audience
        same = (
            sorted(audience.partner_kinds) == sorted(kinds)
            and sorted(audience.regions) == regions
            and set(audience.tiers.values_list("pk", flat=True)) == tier_ids
            and set(audience.tags.values_list("pk", flat=True)) == tag_ids
        )
        if same:
            return audience
    raise RuntimeError(f"no free name for the audience {base!r}")


def name_of(kinds, regions, tier_names, tag_names) -> str:
    """A readable name: each kind of limit in turn, set apart by a middle dot."""
    parts = []
    if kinds:
        parts.append(", ".join(KIND_NAMES.get(kind, kind) for kind in kinds))
    if regions:
        parts.append(", ".join(regions))
    if tier_names:
        parts.append(("tiers " if len(tier_names) > 1 else "tier ") + ", ".join(tier_names))
    if tag_names:
        parts.append(("tags " if len(tag_names) > 1 else "tag ") + ", ".join(tag_names))
    name = " · ".join(parts)
    return name if len(name) <= NAME_MAX else name[: NAME_MAX - 1] + "…"


def _numbered(base: str, n: int) -> str:
    suffix = f" ({n})"
    return base[: NAME_MAX - len(suffix)] + suffix


def tags_named(apps, names) -> list[int]:
    """The ids of the taggit tags of these names, the missing ones made (a campaign named its tags)."""
    Tag = apps.get_model("taggit", "Tag")
    ids = []
    for name in sorted({name.strip() for name in names if name.strip()}):
        tag = Tag.objects.filter(name=name).first()
        if tag is None:
            slug = base = slugify(name, allow_unicode=True)[:90] or "tag"
            n = 1
            while Tag.objects.filter(slug=slug).exists():
                n += 1
                slug = f"{base}-{n}"
            tag = Tag.objects.create(name=name, slug=slug)
        ids.append(tag.pk)
    return ids
