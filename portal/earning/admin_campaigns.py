"""The CMS for campaigns: programme administrators only, through the model permissions on Campaign.

A campaign is programme data with no use case beyond saving it (its rules apply when orders are
recorded), so Wagtail's own create, edit and delete are enough; the database's constraints (it ends
after it starts, its multiplier is at least one) show as form errors.
"""

from django.utils.translation import gettext_lazy as _
from wagtail.admin.viewsets.model import ModelViewSet

from portal.earning.models import Campaign


class CampaignViewSet(ModelViewSet):
    model = Campaign
    icon = "date"
    menu_label = _("Campaigns")
    add_to_admin_menu = False  # listed in the "Programme" menu
    list_display = ["name", "starts_at", "ends_at", "multiplier", "bonus_points"]
    search_fields = ["name"]
    search_backend_name = None
    inspect_view_enabled = True
    form_fields = [
        "name",
        "starts_at",
        "ends_at",
        "partner_kinds",
        "regions",
        "tags",
        "categories",
        "skus",
        "multiplier",
        "bonus_points",
    ]


campaign_viewset = CampaignViewSet("campaign", url_prefix="campaigns")
