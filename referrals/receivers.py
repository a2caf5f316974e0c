"""What referrals does when earning announces a batch of ERP records (``portal.signals``): queue the
qualification check of those partners after the ERP's transaction commits, never inside it."""

from functools import partial

from django.db import transaction


def on_erp_records_recorded(sender, *, kind: str, partner_ids, **kwargs) -> None:
    if kind not in ("orders", "invoices", "payments"):
        return
    from referrals.tasks import check_newcomers

    transaction.on_commit(partial(check_newcomers.delay, sorted(partner_ids)))
