from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "portal.ledger"
    label = "ledger"
    verbose_name = "Points ledger"
