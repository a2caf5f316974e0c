from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Partners and people"

    def ready(self):
        from accounts import invitations
        from portal.notices import services as notices

        notices.register(invitations.NOTICE_KIND, invitations.deliver_notice)
