from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("earning", "0010_campaign_audiences_from_targeting"),
    ]

    operations = [
        migrations.RemoveField(model_name="campaign", name="partner_kinds"),
        migrations.RemoveField(model_name="campaign", name="regions"),
        migrations.RemoveField(model_name="campaign", name="tags"),
    ]
