"""Referrals in the CMS: the applications and the queue of those to review, in the Partners menu's
neighbourhood. The permission policy is registered here, at import, before the viewset builds its views."""

from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.permissions import register_permission_policy

from referrals import services
from referrals.admin_views import application_permission_policy, application_viewset, queue_menu_item
from referrals.models import Application

register_permission_policy(Application, application_permission_policy, exact_class=True)


@hooks.register("register_admin_viewset")
def register_application_viewset():
    return application_viewset


@hooks.register("register_admin_menu_item")
def register_queue_menu_item():
    return queue_menu_item()


@hooks.register("register_admin_menu_item")
def register_applications_menu_item():
    return application_viewset.get_menu_item()


@hooks.register("register_log_actions")
def register_application_log_actions(actions):
    actions.register_action(services.APPROVE_ACTION, _("Approve referral"), _("Referral application approved"))
    actions.register_action(services.REJECT_ACTION, _("Reject referral"), _("Referral application rejected"))
