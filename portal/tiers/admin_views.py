"""The tiers' CMS: tier definitions for programme administrators; grants and the history of tier changes for
account managers, scoped to their portfolio.

Tiers use Wagtail's plain model permissions. Grants and tier changes reuse the partners' CMS scoping: each has
a ``PortfolioPermissionPolicy`` over the partners the user may see, and the viewsets wrap every view in the
portfolio gate, so an id of another portfolio's grant answers 404 on every URL and listings show only the
portfolio. Grants are made and ended through ``portal.tiers.services`` (which checks the portfolio again);
they are never edited or deleted here, and tier changes are a read-only history.
"""

import re

from django import forms
from django.contrib.admin.utils import quote
from django.contrib.messages import error as error_message
from django.db.models import ProtectedError
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils import formats
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView
from django_filters import ChoiceFilter, ModelChoiceFilter
from wagtail.admin import messages
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.ui.tables import Column
from wagtail.admin.views import generic
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.views.generic.permissions import PermissionCheckedMixin
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.admin.widgets.button import HeaderButton

from accounts.admin_views import (
    PartnerChooserWidget,
    PortfolioPermissionPolicy,
    PortfolioScopedViewSetMixin,
    ServiceFormViewMixin,
)
from accounts.queries import partners_visible_to
from portal.tiers import services
from portal.tiers.models import Tier, TierChange, TierGrant
from portal.tiers.queries import programme_today


def grants_visible_to(user):
    return TierGrant.objects.filter(partner__in=partners_visible_to(user))


def tier_changes_visible_to(user):
    return TierChange.objects.filter(partner__in=partners_visible_to(user))


grant_permission_policy = PortfolioPermissionPolicy(TierGrant, visible_to=grants_visible_to)
tier_change_permission_policy = PortfolioPermissionPolicy(TierChange, visible_to=tier_changes_visible_to)


COLOUR = re.compile(r"#[0-9a-fA-F]{6}")  # nothing else reaches a style attribute


def _day(value) -> str:
    return formats.date_format(value, "SHORT_DATE_FORMAT") if value else "—"


# --- Tier definitions ---------------------------------------------------------------------------------


class ColourColumn(Column):
    def get_value(self, instance):
        return format_html(
            '<span style="display:inline-block;inline-size:1em;block-size:1em;border-radius:.2em;'
            'vertical-align:middle;background:{}" aria-hidden="true"></span> {}',
            instance.colour if COLOUR.fullmatch(instance.colour or "") else "",
            instance.colour,
        )


class TierDeleteView(generic.DeleteView):
    """A tier that a partner holds, held or was granted is kept: its history refers to it."""

    def form_valid(self, form):
        try:
            return super().form_valid(form)
        except ProtectedError:
            error_message(
                self.request,
                _("Partners hold or held %(tier)s, so it cannot be deleted. Rename it or change its points instead.")
                % {"tier": self.object},
            )
            return redirect(reverse(self.edit_url_name, args=[quote(self.object.pk)]))


class TierViewSet(ModelViewSet):
    model = Tier
    icon = "pick"
    menu_label = _("Tiers")
    add_to_admin_menu = False  # in the "Programme" menu
    copy_view_enabled = False  # names and points are unique: a copy is never valid as it is
    list_display = ["name", "name_he", "threshold", "multiplier", ColourColumn("colour", label=_("badge colour"))]
    search_fields = ["name", "name_he"]
    search_backend_name = None
    delete_view_class = TierDeleteView


tier_viewset = TierViewSet("tier", url_prefix="tiers")


# --- Grants ---------------------------------------------------------------------------------------------


class GrantForm(WagtailAdminModelForm):
    class Meta:
        model = TierGrant
        fields = ["partner", "tier", "starts_on", "ends_on", "reason"]
        widgets = {"partner": PartnerChooserWidget, "reason": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partner"].queryset = partners_visible_to(self.for_user)
        self.fields["starts_on"].initial = programme_today()
        self.fields["reason"].help_text = _(
            "For example: a status match with another programme. The partner does not see it."
        )


class GrantFilterSet(WagtailFilterSet):
    partner = ModelChoiceFilter(label=_("partner"), queryset=lambda request: partners_visible_to(request.user))
    tier = ModelChoiceFilter(label=_("tier"), queryset=Tier.objects.all())

    class Meta:
        model = TierGrant
        fields = ["partner", "tier"]


def grant_state(grant: TierGrant) -> str:
    today = programme_today()
    if grant.ended_early_on:
        return _("Ended early on %(day)s") % {"day": _day(grant.ended_early_on)}
    if grant.starts_on > today:
        return _("Starts on %(day)s") % {"day": _day(grant.starts_on)}
    if grant.ends_on < today:
        return _("Over")
    return _("Running")


def may_end(grant: TierGrant) -> bool:
    return grant.ended_early_on is None and grant.ends_on >= programme_today()


class GrantIndexView(generic.IndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().select_related("partner", "tier", "granted_by")


class GrantCreateView(ServiceFormViewMixin, generic.CreateView):
    inspect_url_name = None

    def save_instance(self):
        data = self.form.cleaned_data
        return services.grant_tier(
            data["partner"],
            tier=data["tier"],
            starts_on=data["starts_on"],
            ends_on=data["ends_on"],
            reason=data["reason"],
            granted_by=self.request.user,
        )

    def get_success_message(self, instance):
        return _("%(tier)s granted to %(partner)s until %(day)s.") % {
            "tier": instance.tier,
            "partner": instance.partner,
            "day": _day(instance.ends_on),
        }

    def get_success_buttons(self):
        return [messages.button(reverse(self.inspect_url_name, args=[quote(self.object.pk)]), _("View"))]

    def get_success_url(self):
        return reverse(self.inspect_url_name, args=[quote(self.object.pk)])


class GrantInspectView(generic.InspectView):
    end_url_name = None
    changes_url_name = None

    def get_object(self, queryset=None):
        return get_object_or_404(grants_visible_to(self.request.user).select_related("partner", "tier"), pk=self.pk)

    @cached_property
    def header_buttons(self):
        buttons = [
            HeaderButton(
                _("Tier history of this partner"),
                url=f"{reverse(self.changes_url_name)}?partner={self.object.partner_id}",
                icon_name="history",
            )
        ]
        if may_end(self.object) and self.user_has_permission("change"):
            buttons.insert(
                0,
                HeaderButton(
                    _("End early"), url=reverse(self.end_url_name, args=[quote(self.object.pk)]), icon_name="cross"
                ),
            )
        return buttons

    def get_state_display_value(self):
        return grant_state(self.object)

    def get_granted_by_display_value(self):
        return self.object.granted_by or "—"

    def get_ended_by_display_value(self):
        return self.object.ended_by or "—"

    def get_ended_early_on_display_value(self):
        return _day(self.object.ended_early_on)

    def get_field_label(self, field_name, field):
        if field_name == "state":
            return _("State")
        return super().get_field_label(field_name, field)


class EndGrantView(PermissionCheckedMixin, WagtailAdminTemplateMixin, TemplateView):
    """GET asks to confirm; POST ends the grant today through the service (the partner keeps what it earned)."""

    model = TierGrant
    permission_required = "change"
    template_name = "tiers/admin/end_grant.html"
    page_title = _("End grant early")
    header_icon = "pick"
    index_url_name = None
    inspect_url_name = None

    def setup(self, request, *args, pk, **kwargs):
        super().setup(request, *args, pk=pk, **kwargs)
        self.object = get_object_or_404(grants_visible_to(request.user).select_related("partner", "tier"), pk=pk)

    def get_page_subtitle(self):
        return str(self.object)

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse(self.index_url_name), "label": TierGrant._meta.verbose_name_plural.capitalize()},
            {"url": reverse(self.inspect_url_name, args=[quote(self.object.pk)]), "label": str(self.object)},
            {"url": "", "label": self.get_page_title()},
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            grant=self.object,
            may_end=may_end(self.object),
            inspect_url=reverse(self.inspect_url_name, args=[quote(self.object.pk)]),
        )
        return context

    def post(self, request, *args, **kwargs):
        if not may_end(self.object):
            error_message(request, _("This grant is over or ended already."))
            return redirect(reverse(self.inspect_url_name, args=[quote(self.object.pk)]))
        services.end_grant(self.object, ended_by=request.user)
        messages.success(request, _("The grant of %(grant)s is ended.") % {"grant": self.object})
        return redirect(reverse(self.inspect_url_name, args=[quote(self.object.pk)]))


class GrantViewSet(PortfolioScopedViewSetMixin, ModelViewSet):
    model = TierGrant
    icon = "pick"
    menu_label = _("Tier grants")
    add_to_admin_menu = False
    inspect_view_enabled = True
    copy_view_enabled = False
    add_to_reference_index = False
    list_display = [
        "partner",
        "tier",
        Column("starts_on", label=_("from"), accessor=lambda grant: _day(grant.starts_on)),
        Column("ends_on", label=_("until"), accessor=lambda grant: _day(grant.ends_on)),
        Column("state", label=_("State"), accessor=grant_state),
        "granted_by",
    ]
    filterset_class = GrantFilterSet
    search_fields = ["reason", "partner__name", "partner__external_id"]
    search_backend_name = None
    index_view_class = GrantIndexView
    add_view_class = GrantCreateView
    inspect_view_class = GrantInspectView
    inspect_view_fields = [
        "partner",
        "tier",
        "starts_on",
        "ends_on",
        "state",
        "reason",
        "granted_by",
        "created_at",
        "ended_early_on",
        "ended_by",
    ]
    form_fields = ["partner", "tier", "starts_on", "ends_on", "reason"]
    # Grants are facts: no edit, delete, history or usage pages; a grant is ended early instead.
    exposed_url_names = {"index", "index_results", "add", "inspect"}

    def get_form_class(self, for_update=False):
        return GrantForm

    def get_common_view_kwargs(self, **kwargs):
        view_kwargs = super().get_common_view_kwargs(**kwargs)
        for url_name in ("edit_url_name", "delete_url_name", "history_url_name", "usage_url_name"):
            view_kwargs[url_name] = None
        return view_kwargs

    def get_inspect_view_kwargs(self, **kwargs):
        return super().get_inspect_view_kwargs(
            end_url_name=self.get_url_name("end"), changes_url_name=tier_change_viewset.get_url_name("index"), **kwargs
        )

    @cached_property
    def end_view(self):
        return self.construct_view(
            EndGrantView, index_url_name=self.get_url_name("index"), inspect_url_name=self.get_url_name("inspect")
        )

    def get_urlpatterns(self):
        return [
            *(pattern for pattern in super().get_urlpatterns() if pattern.name in self.exposed_url_names),
            path("end/<int:pk>/", self.end_view, name="end"),
        ]


# --- The history of tier changes -------------------------------------------------------------------------


class TierChangeFilterSet(WagtailFilterSet):
    partner = ModelChoiceFilter(label=_("partner"), queryset=lambda request: partners_visible_to(request.user))
    reason = ChoiceFilter(label=_("reason"), choices=TierChange.Reason.choices)
    to_tier = ModelChoiceFilter(label=_("to tier"), queryset=Tier.objects.all())

    class Meta:
        model = TierChange
        fields = ["partner", "reason", "to_tier"]


class TierChangeIndexView(generic.IndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().select_related("partner", "from_tier", "to_tier", "changed_by")


class TierChangeViewSet(PortfolioScopedViewSetMixin, ModelViewSet):
    model = TierChange
    icon = "history"
    menu_label = _("Tier changes")
    add_to_admin_menu = False
    add_to_reference_index = False
    list_display = [
        "partner",
        Column("changed_on", label=_("on"), accessor=lambda change: _day(change.changed_on)),
        Column("from_tier", label=_("from tier"), accessor=lambda change: change.from_tier or "—"),
        Column("to_tier", label=_("to tier")),
        Column("reason", label=_("reason"), accessor="get_reason_display"),
        Column(
            "qualifying_points", label=_("qualifying points"), accessor=lambda change: f"{change.qualifying_points:,}"
        ),
        Column("note", label=_("note")),
        Column("changed_by", label=_("by"), accessor=lambda change: change.changed_by or "—"),
    ]
    filterset_class = TierChangeFilterSet
    search_fields = ["partner__name", "partner__external_id", "note"]
    search_backend_name = None
    index_view_class = TierChangeIndexView
    form_fields = ["partner"]  # never offered: the history is written by the tier review alone

    def get_common_view_kwargs(self, **kwargs):
        view_kwargs = super().get_common_view_kwargs(**kwargs)
        for url_name in ("add_url_name", "edit_url_name", "delete_url_name", "history_url_name", "usage_url_name"):
            view_kwargs[url_name] = None
        return view_kwargs

    def get_urlpatterns(self):
        return [
            path("", self.index_view, name="index"),
            path("results/", self.index_results_view, name="index_results"),
        ]


tier_change_viewset = TierChangeViewSet("tier_change", url_prefix="tier-changes")
grant_viewset = GrantViewSet("tier_grant", url_prefix="tier-grants")
