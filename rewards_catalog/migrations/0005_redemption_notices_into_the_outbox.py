"""Redemption notices move to the programme's outbox (portal.notices): the changes whose e-mails had not
gone out yet become notices, so the outbox sends them; the old outbox's index goes."""

from django.db import migrations

KIND = "rewards_catalog.redemption_event"  # rewards_catalog.notifications.NOTICE_KIND


def carry_over(apps, schema_editor):
    RedemptionEvent = apps.get_model("rewards_catalog", "RedemptionEvent")
    Notice = apps.get_model("notices", "Notice")
    unsent = RedemptionEvent.objects.filter(notified_at__isnull=True).order_by("pk").values_list("pk", flat=True)
    Notice.objects.bulk_create(
        (Notice(kind=KIND, key=f"{KIND}:{pk}", payload={"event": pk}) for pk in unsent.iterator()),
        batch_size=1000,
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("notices", "0001_initial"),
        ("rewards_catalog", "0004_fk_indexes_covered_by_composites"),
    ]

    operations = [
        migrations.RunPython(carry_over, migrations.RunPython.noop),
        migrations.RemoveIndex(model_name="redemptionevent", name="redemption_event_unsent_idx"),
    ]
