"""Each campaign's own targeting (kinds, regions, tag names) becomes its audience; tag names become taggit tags.

Backwards, the audience's kinds, regions and tag names go back into the campaign's fields (a tier limit,
which campaigns could not express before, is dropped).
"""

from django.db import migrations

from accounts.legacy_targeting import audience_for, tags_named


def to_audiences(apps, schema_editor):
    Campaign = apps.get_model("earning", "Campaign")
    for campaign in Campaign.objects.order_by("pk"):
        campaign.audience = audience_for(
            apps,
            partner_kinds=campaign.partner_kinds,
            regions=campaign.regions,
            tag_ids=tags_named(apps, campaign.tags),
        )
        if campaign.audience is not None:
            campaign.save(update_fields=["audience"])


def to_fields(apps, schema_editor):
    Campaign = apps.get_model("earning", "Campaign")
    for campaign in Campaign.objects.filter(audience__isnull=False).select_related("audience"):
        audience = campaign.audience
        campaign.partner_kinds = list(audience.partner_kinds)
        campaign.regions = list(audience.regions)
        campaign.tags = sorted(audience.tags.values_list("name", flat=True))
        campaign.audience = None
        campaign.save(update_fields=["partner_kinds", "regions", "tags", "audience"])


class Migration(migrations.Migration):
    dependencies = [
        ("earning", "0009_campaign_audience"),
        ("tiers", "0002_cms_roles"),
        ("taggit", "0006_rename_taggeditem_content_type_object_id_taggit_tagg_content_8fc721_idx"),
    ]

    operations = [migrations.RunPython(to_audiences, to_fields)]
