from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo programme as an app only so that ``manage.py seed_demo`` is its command: it has no models."""

    name = "portal.demo"
    label = "demo"
    verbose_name = "Demo programme"
