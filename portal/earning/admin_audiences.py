"""The CMS for audiences (Programme → Audiences): who an offer is for, defined once and chosen by campaigns,
catalog items and content pages.

Plain model permissions on ``accounts.Audience``: programme administrators add, change and delete; account
managers view them (and choose them on the offers their own permissions let them edit). The list says whom
each audience includes and how many active partners are in it now (``portal.tiers.queries.audience_sizes``,
one query per page: a partner's tier is the tiers app's, so the page lives here, beside campaigns, rather
than in accounts). An audience an offer still uses cannot be deleted: its page names the offers instead.
"""

from django import forms
from django.db.models import ProtectedError
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from taggit.models import Tag
from wagtail.admin import messages
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.panels import FieldPanel, ObjectList
from wagtail.admin.ui.tables import Column
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet

from accounts.audiences import offers_using, with_offer_counts
from accounts.models import Audience, Partner
from portal.tiers.models import Tier
from portal.tiers.queries import audience_sizes


class AudienceForm(WagtailAdminModelForm):
    partner_kinds = forms.MultipleChoiceField(
        label=_("Partner kinds"),
        choices=Partner.Kind.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("None ticked: every kind."),
    )
    regions = forms.MultipleChoiceField(
        label=_("Regions"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("The regions partners are in. None ticked: every region."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The regions partners have, and any the audience names that no partner has any more.
        known = set(Partner.objects.exclude(region="").values_list("region", flat=True).distinct())
        known |= set(self.instance.regions or [])
        self.fields["regions"].choices = [(region, region) for region in sorted(known)]
        if "tiers" in self.fields:
            self.fields["tiers"].queryset = Tier.objects.order_by("threshold")
            self.fields["tiers"].widget = forms.CheckboxSelectMultiple(choices=self.fields["tiers"].choices)
        if "tags" in self.fields:
            self.fields["tags"].queryset = Tag.objects.order_by("name")
            self.fields["tags"].widget = forms.CheckboxSelectMultiple(choices=self.fields["tags"].choices)


AUDIENCE_PANELS = ObjectList(
    [FieldPanel("name"), FieldPanel("partner_kinds"), FieldPanel("regions"), FieldPanel("tiers"), FieldPanel("tags")],
    base_form_class=AudienceForm,
)


def _kinds(audience: Audience) -> str:
    labels = dict(Partner.Kind.choices)
    return ", ".join(str(labels.get(kind, kind)) for kind in audience.partner_kinds) or gettext("Every kind")


def _regions(audience: Audience) -> str:
    return ", ".join(audience.regions) or gettext("Every region")


def _tiers(audience: Audience) -> str:
    tiers = sorted(audience.tiers.all(), key=lambda tier: tier.threshold)
    return ", ".join(tier.display_name for tier in tiers) or gettext("Every tier")


def _tags(audience: Audience) -> str:
    return ", ".join(sorted(tag.name for tag in audience.tags.all())) or gettext("No tag needed")


class AudienceIndexView(generic.IndexView):
    def get_base_queryset(self):
        return with_offer_counts(super().get_base_queryset().prefetch_related("tiers", "tags"))

    def get_table(self, object_list):
        audiences = list(object_list)
        sizes = audience_sizes([audience.pk for audience in audiences])
        for audience in audiences:
            audience.partners_now = sizes.get(audience.pk, 0)
        return super().get_table(audiences)


class AudienceDeleteView(generic.DeleteView):
    """An audience an offer uses is not deleted (PROTECT): the page names the offers to move off it first."""

    template_name = "earning/audiences/confirm_delete.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "in_use": offers_using(self.object)}

    def form_valid(self, form):
        if offers_using(self.object, limit=1):
            return self._refuse()
        try:
            return super().form_valid(form)
        except ProtectedError:  # chosen by an offer a moment ago
            return self._refuse()

    def _refuse(self):
        messages.error(
            self.request,
            gettext("%(audience)s is in use, so it cannot be deleted. Choose another audience for its offers first.")
            % {"audience": self.object},
        )
        return redirect(reverse(self.delete_url_name, args=[self.object.pk]))


class AudienceViewSet(ModelViewSet):
    model = Audience
    icon = "group"
    menu_label = _("Audiences")
    add_to_admin_menu = False  # listed in the "Programme" menu, beside campaigns
    copy_view_enabled = False
    inspect_view_enabled = True
    inspect_view_fields = ["name", "partner_kinds", "regions", "tiers", "tags"]
    search_fields = ["name"]
    search_backend_name = None
    list_display = [
        "name",
        Column("partner_kinds", label=_("Partner kinds"), accessor=_kinds),
        Column("regions", label=_("Regions"), accessor=_regions),
        Column("tiers", label=_("Tiers"), accessor=_tiers),
        Column("tags", label=_("Tags"), accessor=_tags),
        Column("partners_now", label=_("Active partners in it now"), accessor="partners_now"),
        Column("offer_count", label=_("Offers using it"), accessor="offer_count"),
    ]
    edit_handler = AUDIENCE_PANELS
    index_view_class = AudienceIndexView
    delete_view_class = AudienceDeleteView


audience_viewset = AudienceViewSet("audience", url_prefix="audiences")
