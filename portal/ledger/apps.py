from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "portal.ledger"
    label = "ledger"
    verbose_name = "Points ledger"

    def ready(self):
        from portal.ledger import expiry

        expiry.register_wording()  # expiries are the ledger's own entries
