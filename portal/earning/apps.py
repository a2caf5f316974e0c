from django.apps import AppConfig


class EarningConfig(AppConfig):
    name = "portal.earning"
    label = "earning"
    verbose_name = "Earning"

    def ready(self):
        from portal.earning import wording

        wording.register()  # how the ledger's entries of orders, returns, payments and adjustments read
