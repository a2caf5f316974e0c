from django.apps import AppConfig


class EarningConfig(AppConfig):
    name = "portal.earning"
    label = "earning"
    verbose_name = "Earning"

    def ready(self):
        from portal.earning import adjustments, wording
        from portal.notices import services as notices

        wording.register()  # how the ledger's entries of orders, returns, payments and adjustments read
        notices.register(adjustments.WAITS, adjustments.deliver_waiting_notice)
        notices.register(adjustments.DECIDED, adjustments.deliver_decided_notice)
