"""The tiers' CMS in the "Programme" menu: tier definitions (programme administrators, by the model's
permissions), grants and tier changes (account managers, scoped to their portfolio). The policies of grants and
changes are registered here, at import, before any viewset builds its views (PortfolioScopedViewSetMixin
insists on it). The tier and expiry settings are a registered Wagtail setting (portal.tiers.models)."""

from wagtail import hooks
from wagtail.permissions import register_permission_policy

from portal.tiers.admin_views import (
    grant_permission_policy,
    grant_viewset,
    tier_change_permission_policy,
    tier_change_viewset,
    tier_viewset,
)
from portal.tiers.models import TierChange, TierGrant

register_permission_policy(TierGrant, grant_permission_policy, exact_class=True)
register_permission_policy(TierChange, tier_change_permission_policy, exact_class=True)


@hooks.register("register_admin_viewset")
def register_tier_viewsets():
    return [tier_viewset, grant_viewset, tier_change_viewset]


@hooks.register("register_programme_menu_item")
def register_tiers_menu_item():
    return tier_viewset.get_menu_item(order=250)


@hooks.register("register_programme_menu_item")
def register_tier_grants_menu_item():
    return grant_viewset.get_menu_item(order=260)


@hooks.register("register_programme_menu_item")
def register_tier_changes_menu_item():
    return tier_change_viewset.get_menu_item(order=270)
