"""The partners' CMS: its permission policies (registered first, before any viewset asks for one) and viewsets."""

from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.permissions import register_permission_policy

from accounts import invitations
from accounts.admin_views import (
    AdministratorsOnlyUserPolicy,
    PartnersViewSetGroup,
    membership_permission_policy,
    partner_chooser_viewset,
    partner_permission_policy,
)
from accounts.models import Membership, Partner, User
from accounts.queries import sees_all_partners

register_permission_policy(Partner, partner_permission_policy, exact_class=True)
register_permission_policy(Membership, membership_permission_policy, exact_class=True)
# wagtail.users registered a plain model policy for User in its AppConfig.ready(); this one takes precedence.
register_permission_policy(User, AdministratorsOnlyUserPolicy(User), exact_class=True)


@hooks.register("register_admin_viewset")
def register_partner_viewsets():
    return [PartnersViewSetGroup(), partner_chooser_viewset]


@hooks.register("construct_reports_menu")
def hide_site_history_from_account_managers(request, menu_items):
    if not sees_all_partners(request.user):
        menu_items[:] = [item for item in menu_items if item.name != "site-history"]


@hooks.register("register_log_actions")
def register_invitation_log_actions(actions):
    actions.register_action(invitations.RESEND_ACTION, _("Resend invitation"), _("Invitation sent again"))
    actions.register_action(invitations.REVOKE_ACTION, _("Revoke invitation"), _("Invitation revoked"))
    actions.register_action(invitations.ACCEPT_ACTION, _("Accept invitation"), _("Invitation accepted"))
