from django.apps import AppConfig


class EarningConfig(AppConfig):
    name = "portal.earning"
    label = "earning"
    verbose_name = "Earning"

    def ready(self):
        from portal.earning import adjustments
        from portal.notices import services as notices

        notices.register(adjustments.WAITS, adjustments.deliver_waiting_notice)
        notices.register(adjustments.DECIDED, adjustments.deliver_decided_notice)
