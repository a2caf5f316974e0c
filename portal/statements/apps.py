from django.apps import AppConfig


class StatementsConfig(AppConfig):
    name = "portal.statements"
    label = "statements"
    verbose_name = "Monthly statements"

    def ready(self):
        from portal.notices import services as notices
        from portal.statements import notifications, services

        notices.register(services.NOTICE_KIND, notifications.deliver_statement)
