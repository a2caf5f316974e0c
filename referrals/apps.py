"""Referral codes, applications, qualification and fraud checks."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class Config(AppConfig):
    name = "referrals"
    verbose_name = _("Referrals")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from portal.notices import services as notices
        from portal.signals import erp_records_recorded
        from referrals import notifications, receivers, wording

        wording.register()
        notices.register(notifications.NOTICE_KIND, notifications.deliver_notice)
        erp_records_recorded.connect(receivers.on_erp_records_recorded, dispatch_uid="referrals.qualification")
