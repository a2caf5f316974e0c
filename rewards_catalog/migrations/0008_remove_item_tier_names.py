from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("rewards_catalog", "0007_item_tiers_from_names")]

    operations = [migrations.RemoveField(model_name="item", name="tier_names")]
