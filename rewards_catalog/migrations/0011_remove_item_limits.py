from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("rewards_catalog", "0010_item_audiences_from_limits"),
    ]

    operations = [
        migrations.RemoveField(model_name="item", name="tiers"),
        migrations.RemoveField(model_name="item", name="partner_kinds"),
        migrations.RemoveField(model_name="item", name="segments"),
    ]
