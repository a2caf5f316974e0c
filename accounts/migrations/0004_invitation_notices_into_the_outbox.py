"""Invitation e-mails move to the programme's outbox (portal.notices): an open invitation whose latest link
was never mailed (its task lost, its send failed) becomes a notice, so the outbox sends it."""

from django.db import migrations
from django.db.models.functions import Now

KIND = "accounts.invitation"  # accounts.invitations.NOTICE_KIND


def carry_over(apps, schema_editor):
    Invitation = apps.get_model("accounts", "Invitation")
    Notice = apps.get_model("notices", "Notice")
    unmailed = Invitation.objects.filter(
        mailed_at=None, accepted_at=None, revoked_at=None, expires_at__gt=Now()
    ).values_list("pk", "nonce")
    Notice.objects.bulk_create(
        (
            Notice(kind=KIND, key=f"{KIND}:{pk}:{nonce}", payload={"invitation": pk, "nonce": nonce})
            for pk, nonce in unmailed.iterator()
        ),
        batch_size=1000,
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_people_invitations_preferences"),
        ("notices", "0001_initial"),
    ]

    operations = [migrations.RunPython(carry_over, migrations.RunPython.noop)]
