"""Each item's own limits (tiers, kinds, segments) become its audience.

Backwards, the audience's tiers, kinds and tags go back into the item's fields (a region limit, which items
could not express before, is dropped).
"""

from django.db import migrations

from accounts.legacy_targeting import audience_for


def to_audiences(apps, schema_editor):
    Item = apps.get_model("rewards_catalog", "Item")
    for item in Item.objects.order_by("pk").prefetch_related("tiers", "segments"):
        item.audience = audience_for(
            apps,
            partner_kinds=item.partner_kinds,
            tier_ids=[tier.pk for tier in item.tiers.all()],
            tag_ids=[tag.pk for tag in item.segments.all()],
        )
        if item.audience is not None:
            item.save(update_fields=["audience"])


def to_fields(apps, schema_editor):
    Item = apps.get_model("rewards_catalog", "Item")
    for item in Item.objects.filter(audience__isnull=False).select_related("audience"):
        audience = item.audience
        item.partner_kinds = list(audience.partner_kinds)
        item.tiers.set(audience.tiers.all())
        item.segments.set(audience.tags.all())
        item.audience = None
        item.save(update_fields=["partner_kinds", "audience"])


class Migration(migrations.Migration):
    dependencies = [
        ("rewards_catalog", "0009_item_audience"),
        ("tiers", "0002_cms_roles"),
        ("taggit", "0006_rename_taggeditem_content_type_object_id_taggit_tagg_content_8fc721_idx"),
    ]

    operations = [migrations.RunPython(to_audiences, to_fields)]
