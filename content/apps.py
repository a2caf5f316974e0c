from django.apps import AppConfig


class Config(AppConfig):
    name = "content"

    def ready(self):
        from content import wording

        wording.register()
