from django.apps import AppConfig


class StatementsConfig(AppConfig):
    name = "portal.statements"
    label = "statements"
    verbose_name = "Monthly statements"
