"""The CMS for campaigns: programme administrators only, through the model permissions on Campaign.

A campaign is programme data with no use case beyond saving it (its rules apply when orders are
recorded), so Wagtail's own create, edit and delete are enough; the database's constraints (it ends
after it starts, its multiplier is at least one) show as form errors. Who it runs for is its audience
(``accounts.Audience``, chosen here, defined under Programme → Audiences); none: every partner.
"""

from django.utils.translation import gettext_lazy as _
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet

from portal.earning.models import Campaign


class CampaignIndexView(generic.IndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().select_related("audience")  # a column: one query, not one per row


class CampaignViewSet(ModelViewSet):
    model = Campaign
    icon = "date"
    menu_label = _("Campaigns")
    add_to_admin_menu = False  # listed in the "Programme" menu
    list_display = ["name", "audience", "starts_at", "ends_at", "multiplier", "bonus_points"]
    search_fields = ["name"]
    search_backend_name = None
    inspect_view_enabled = True
    index_view_class = CampaignIndexView
    form_fields = [
        "name",
        "starts_at",
        "ends_at",
        "audience",
        "categories",
        "skus",
        "multiplier",
        "bonus_points",
    ]

    def formfield_for_dbfield(self, db_field, **kwargs):
        if db_field.name == "audience":
            kwargs["empty_label"] = _("Every partner")
        return super().formfield_for_dbfield(db_field, **kwargs)


campaign_viewset = CampaignViewSet("campaign", url_prefix="campaigns")
