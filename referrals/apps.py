from django.apps import AppConfig


class Config(AppConfig):
    name = "referrals"

    def ready(self):
        from referrals import wording

        wording.register()
