import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_audience"),
        ("rewards_catalog", "0008_remove_item_tier_names"),
    ]

    operations = [
        migrations.AddField(
            model_name="item",
            name="audience",
            field=models.ForeignKey(
                blank=True,
                help_text="The partners it is offered to. Empty: every partner.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="catalog_items",
                to="accounts.audience",
                verbose_name="audience",
            ),
        ),
    ]
