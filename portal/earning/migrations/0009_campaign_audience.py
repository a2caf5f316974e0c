import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_audience"),
        ("earning", "0008_import_rows_held"),
    ]

    operations = [
        migrations.AddField(
            model_name="campaign",
            name="audience",
            field=models.ForeignKey(
                blank=True,
                help_text="The partners it runs for. Empty: every partner.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="campaigns",
                to="accounts.audience",
                verbose_name="audience",
            ),
        ),
    ]
