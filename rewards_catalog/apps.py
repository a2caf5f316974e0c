from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class Config(AppConfig):
    name = "rewards_catalog"
    label = "rewards_catalog"
    verbose_name = _("Gift catalog")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from portal.notices import services as notices
        from rewards_catalog import notifications, wording

        wording.register()  # how the ledger's entries of redemptions read
        notices.register(notifications.NOTICE_KIND, notifications.deliver_notice)
