"""An account's entries by date, now covering what expiry and tier qualification sum (amount, code, phase,
and id for the oldest-first order), so those runs read the index alone instead of a table page per entry.

Built concurrently, the new beside the old, then the old dropped: a live ledger keeps taking transfers.
"""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("ledger", "0002_programme_shards_leaner_indexes"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="transfer",
            index=models.Index(
                fields=["debit_account", "effective_at"],
                include=("amount", "code", "phase"),
                name="transfer_debit_cover_idx",
            ),
        ),
        AddIndexConcurrently(
            model_name="transfer",
            index=models.Index(
                fields=["credit_account", "effective_at"],
                include=("id", "amount", "code", "phase"),
                name="transfer_credit_cover_idx",
            ),
        ),
        RemoveIndexConcurrently(model_name="transfer", name="transfer_debit_idx"),
        RemoveIndexConcurrently(model_name="transfer", name="transfer_credit_idx"),
    ]
