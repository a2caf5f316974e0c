"""The catalog's CMS: a "Rewards" menu with the redemptions to handle, the redemptions, the catalog
items, categories and gift-card code pools. The redemptions' permission policy is registered here, at
import, before any viewset builds its views (PortfolioScopedViewSetMixin insists on it)."""

from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import Menu, SubmenuMenuItem
from wagtail.permissions import register_permission_policy

from rewards_catalog.admin_views import (
    category_viewset,
    code_pool_viewset,
    item_viewset,
    queue_menu_item,
    redemption_permission_policy,
    redemption_viewset,
)
from rewards_catalog.models import Redemption

register_permission_policy(Redemption, redemption_permission_policy, exact_class=True)

rewards_menu = Menu(register_hook_name="register_rewards_menu_item", construct_hook_name="construct_rewards_menu")


@hooks.register("register_admin_menu_item")
def register_rewards_menu():
    return SubmenuMenuItem(_("Rewards"), rewards_menu, icon_name="gift", order=350)


@hooks.register("register_admin_viewset")
def register_catalog_viewsets():
    return [redemption_viewset, item_viewset, category_viewset, code_pool_viewset]


@hooks.register("register_rewards_menu_item")
def register_queue_menu_item():
    return queue_menu_item()


@hooks.register("register_rewards_menu_item")
def register_redemptions_menu_item():
    return redemption_viewset.get_menu_item()


@hooks.register("register_rewards_menu_item")
def register_items_menu_item():
    return item_viewset.get_menu_item()


@hooks.register("register_rewards_menu_item")
def register_categories_menu_item():
    return category_viewset.get_menu_item()


@hooks.register("register_rewards_menu_item")
def register_code_pools_menu_item():
    return code_pool_viewset.get_menu_item()
