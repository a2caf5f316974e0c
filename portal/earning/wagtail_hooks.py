"""The programme's CMS: the "Programme" menu and the earning app's admin views.

Each feature registers its own block below, separated by a heading comment. An item joins
the "Programme" menu through the hook `register_programme_menu_item`; the menu shows only
the items a user may use, and hides itself when there are none.
"""

from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import Menu, SubmenuMenuItem

programme_menu = Menu(register_hook_name="register_programme_menu_item", construct_hook_name="construct_programme_menu")


@hooks.register("register_admin_menu_item")
def register_programme_menu():
    return SubmenuMenuItem(_("Programme"), programme_menu, icon_name="cogs", order=300)


# --- Manual adjustments, campaigns and audiences ---------------------------------------------
# Adjustments are scoped to the user's portfolio (a PortfolioPermissionPolicy, registered before the
# viewset is built); campaigns use Wagtail's plain model permissions (programme administrators only);
# audiences too (administrators change them, account managers view them).

from wagtail.permissions import register_permission_policy  # noqa: E402

from portal.earning.admin_adjustments import (  # noqa: E402
    adjustment_permission_policy,
    adjustment_viewset,
    awaiting_approval_menu_item,
)
from portal.earning.admin_audiences import audience_viewset  # noqa: E402
from portal.earning.admin_campaigns import campaign_viewset  # noqa: E402
from portal.earning.models import Adjustment  # noqa: E402

register_permission_policy(Adjustment, adjustment_permission_policy, exact_class=True)


@hooks.register("register_admin_viewset")
def register_adjustment_and_campaign_viewsets():
    return [adjustment_viewset, campaign_viewset, audience_viewset]


@hooks.register("register_programme_menu_item")
def register_adjustments_menu_item():
    return adjustment_viewset.get_menu_item()


@hooks.register("register_programme_menu_item")
def register_adjustments_awaiting_menu_item():
    return awaiting_approval_menu_item()


@hooks.register("register_programme_menu_item")
def register_campaigns_menu_item():
    return campaign_viewset.get_menu_item(order=200)


@hooks.register("register_programme_menu_item")
def register_audiences_menu_item():
    return audience_viewset.get_menu_item(order=210)


# --- API keys for the ERP API ------------------------------------------------------------------
# Made and revoked by administrators (earning.add_apikey / earning.change_apikey); never deleted.

from portal.earning import keys  # noqa: E402
from portal.earning.api_key_admin import api_key_permission_policy, api_key_viewset  # noqa: E402
from portal.earning.models import ApiKey  # noqa: E402

register_permission_policy(ApiKey, api_key_permission_policy, exact_class=True)


@hooks.register("register_admin_viewset")
def register_api_key_viewset():
    return api_key_viewset


@hooks.register("register_programme_menu_item")
def register_api_keys_menu_item():
    return api_key_viewset.get_menu_item(order=400)


@hooks.register("register_log_actions")
def register_api_key_log_actions(actions):
    actions.register_action(keys.REVOKE_ACTION, _("Revoke API key"), _("API key revoked"))


# --- CSV import of orders, invoices and payments ---------------------------------------------
# For users with earning.add_importjob (superusers always); the views answer 403 to anyone else.

from portal.earning import admin_imports  # noqa: E402


@hooks.register("register_admin_urls")
def register_csv_import_urls():
    return admin_imports.urlpatterns


@hooks.register("register_programme_menu_item")
def register_csv_import_menu_item():
    return admin_imports.import_menu_item()
