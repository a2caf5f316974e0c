from django.apps import AppConfig


class NoticesConfig(AppConfig):
    name = "portal.notices"
    label = "notices"
    verbose_name = "Notices (outbox)"
    default_auto_field = "django.db.models.BigAutoField"
