"""Items limited to tiers link to the tier definitions: the names-only field steps aside as `tier_names`
(0007 maps it onto tiers, 0008 removes it) and `tiers` becomes a many-to-many to tiers.Tier."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("rewards_catalog", "0005_redemption_notices_into_the_outbox"),
        ("tiers", "0001_initial"),
    ]

    operations = [
        migrations.RenameField(model_name="item", old_name="tiers", new_name="tier_names"),
        migrations.AddField(
            model_name="item",
            name="tiers",
            field=models.ManyToManyField(
                blank=True,
                help_text="Partners in any of these tiers. None chosen: every tier.",
                related_name="+",
                to="tiers.tier",
                verbose_name="only for tiers",
            ),
        ),
    ]
