from django.apps import AppConfig


class TiersConfig(AppConfig):
    name = "portal.tiers"
    label = "tiers"
    verbose_name = "Tiers and expiry"

    def ready(self):
        from portal.notices import services as notices
        from portal.tiers import notifications, services

        notices.register(services.DOWNGRADE_WARNING, notifications.deliver_downgrade_warning)
        notices.register(services.EXPIRY_WARNING, notifications.deliver_expiry_warning)
