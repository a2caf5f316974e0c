"""Signals between apps that must not import each other (ARCHITECTURE.md: a source reacts to another by
reading its data or listening for an explicit, documented signal). This module imports no app.

``erp_records_recorded``
    Sent by ``portal.earning.recording`` at the end of each batch of ERP records it wrote (orders,
    invoices, payments; not returns), inside the batch's transaction, with:

    - ``kind``: ``"orders"``, ``"invoices"`` or ``"payments"``;
    - ``partner_ids``: a frozenset of the ids of the partners whose records the batch created (not the
      duplicates it answered, nor the items it rejected).

    The batch may still roll back: a receiver does no work in the ERP's transaction beyond queueing its
    own after commit (``transaction.on_commit``), and must be safe to run twice, as the ERP resends. A
    receiver that needs the records reads them (``apps.get_model("earning", ...)``).
    Listened to by ``referrals`` (a referred business's first order and payment qualify its referral).
"""

from django.dispatch import Signal

erp_records_recorded = Signal()


def announce_erp_records(*, kind: str, partner_ids) -> None:
    """What ``portal.earning.recording`` calls after writing a batch: one signal, if anything was created."""
    partner_ids = frozenset(partner_ids)
    if partner_ids:
        erp_records_recorded.send(sender="portal.earning", kind=kind, partner_ids=partner_ids)
