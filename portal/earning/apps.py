from django.apps import AppConfig


class EarningConfig(AppConfig):
    name = "portal.earning"
    label = "earning"
    verbose_name = "Earning"
