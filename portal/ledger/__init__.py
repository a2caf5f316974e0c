"""The points ledger: double-entry accounts and append-only transfers.

The single source of truth for balances. Other apps change balances only
through ``portal.ledger.services``; this package knows nothing of where points
come from and imports only ``accounts`` and Django.
"""
