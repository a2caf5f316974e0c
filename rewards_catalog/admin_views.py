"""The catalog's CMS: items, categories, gift-card code pools (with CSV upload), and redemptions.

Items, categories and pools are the programme's own, not any partner's: plain model permissions, given
to account managers and programme administrators by a migration. Redemptions belong to partners, so they
are scoped the partners' way: Redemption has a ``PortfolioPermissionPolicy`` over
``redemptions_visible_to`` and the viewset wraps every view (the listing, the queue, inspect and each
decision) in the portfolio gate, so another portfolio's redemption id answers 404 on every URL.
Redemptions are never edited or deleted here; every step is a call to ``rewards_catalog.services``, and
which steps a page offers comes from the table, ``REDEMPTION_FLOW``, through ``portal.workflow_admin``.
Gift-card codes are shown masked, except to administrators on a redemption's own page. A pool serves every
partner, but its page names the partner (and redemption) a code went to only within the viewer's portfolio.
"""

from dataclasses import dataclass

from django import forms
from django.contrib.admin.utils import quote
from django.contrib.postgres.forms import SimpleArrayField
from django.core.exceptions import PermissionDenied
from django.db.models import ProtectedError
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse, reverse_lazy
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.views.generic.edit import FormView
from django_filters import ChoiceFilter, ModelChoiceFilter
from wagtail.admin import messages
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.menu import MenuItem
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel, ObjectList
from wagtail.admin.ui.tables import Column
from wagtail.admin.views import generic
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.views.generic.permissions import PermissionCheckedMixin
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.admin.widgets.button import HeaderButton

from accounts.admin_views import PortfolioPermissionPolicy, PortfolioScopedViewSetMixin
from accounts.queries import partners_visible_to
from portal.ledger.queries import balance_of
from portal.workflow_admin import (
    NextStepsColumn,
    NextStepsInspectMixin,
    QueueButtonMixin,
    QueueMixin,
    StepView,
    WorkflowViewSetMixin,
)
from rewards_catalog import queries, services
from rewards_catalog.errors import CodeUploadRefused
from rewards_catalog.models import Category, CodePool, GiftCode, Item, Redemption
from rewards_catalog.workflow import REDEMPTION_FLOW

redemption_permission_policy = PortfolioPermissionPolicy(Redemption, visible_to=queries.redemptions_visible_to)

Status = Redemption.Status


# --- Catalog items ---------------------------------------------------------------------------------


class ItemForm(WagtailAdminModelForm):
    causes = SimpleArrayField(
        forms.CharField(max_length=200),
        label=_("Causes"),
        delimiter="\n",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Donations: one cause per line for the partner to choose from. Empty: the partner names one."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "audience" in self.fields:
            self.fields["audience"].empty_label = _("Every partner")

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if cleaned.get("code_pool") and kind != Item.Kind.GIFT_CARD:
            self.add_error("code_pool", _("Only gift cards draw codes from a pool."))
        if bool(cleaned.get("limit_per_period")) != bool(cleaned.get("limit_period")):
            self.add_error("limit_period", _("Give both the number and the period, or neither."))
        if cleaned.get("cost_points") is not None and cleaned["cost_points"] <= 0:
            self.add_error("cost_points", _("The cost must be above zero."))
        if cleaned.get("stock") is not None and cleaned["stock"] < 0:
            self.add_error("stock", _("Stock cannot be below zero; leave it empty for no limit."))
        start, end = cleaned.get("active_from"), cleaned.get("active_until")
        if start and end and end <= start:
            self.add_error("active_until", _("The end must come after the start."))
        return cleaned


ITEM_PANELS = ObjectList(
    [
        MultiFieldPanel(
            [
                FieldPanel("title"),
                FieldPanel("title_he"),
                FieldPanel("description"),
                FieldPanel("description_he"),
                FieldPanel("category"),
                FieldPanel("image"),
            ],
            heading=_("What it is"),
        ),
        MultiFieldPanel(
            [
                FieldPanel("kind"),
                FieldRowPanel([FieldPanel("cost_points"), FieldPanel("stock")]),
                FieldPanel("code_pool"),
                FieldPanel("causes"),
            ],
            heading=_("Cost and delivery"),
        ),
        MultiFieldPanel(
            [
                FieldPanel("audience"),
                FieldRowPanel([FieldPanel("limit_per_period"), FieldPanel("limit_period")]),
            ],
            heading=_("Who may redeem it"),
        ),
        MultiFieldPanel(
            [FieldPanel("is_active"), FieldRowPanel([FieldPanel("active_from"), FieldPanel("active_until")])],
            heading=_("When"),
        ),
    ],
    base_form_class=ItemForm,
)


class ItemDeleteView(generic.DeleteView):
    """An item that was ever redeemed stays (its redemptions refer to it): say so, and how to withdraw it."""

    def form_valid(self, form):
        if self.object.redemptions.exists():
            return self._refuse()
        try:
            return super().form_valid(form)
        except ProtectedError:  # redeemed a moment ago
            return self._refuse()

    def _refuse(self):
        messages.error(
            self.request,
            _("%(item)s has been redeemed, so it cannot be deleted. Untick “shown in the catalog” instead.")
            % {"item": self.object},
        )
        return redirect(reverse(self.edit_url_name, args=[quote(self.object.pk)]))


class ItemIndexView(generic.IndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().select_related("category", "audience")  # columns: no query per row


class ItemViewSet(ModelViewSet):
    model = Item
    icon = "gift"
    menu_label = _("Catalog items")
    add_to_admin_menu = False
    menu_order = 300
    copy_view_enabled = True
    list_display = ["title", "kind", "cost_points", "stock", "category", "audience", "is_active"]
    list_filter = ["kind", "category", "audience", "is_active"]
    search_fields = ["title", "title_he", "description"]
    search_backend_name = None
    edit_handler = ITEM_PANELS
    index_view_class = ItemIndexView
    delete_view_class = ItemDeleteView


class CategoryViewSet(ModelViewSet):
    model = Category
    icon = "folder-open-inverse"
    menu_label = _("Categories")
    add_to_admin_menu = False
    menu_order = 400
    form_fields = ["name", "name_he", "slug", "sort_order"]
    list_display = ["name", "name_he", "slug", "sort_order"]
    copy_view_enabled = False


# --- Gift-card code pools --------------------------------------------------------------------------


class RemainingColumn(Column):
    """The codes left, with a warning when fewer than the pool's threshold."""

    cell_template_name = "rewards_catalog/admin/remaining_cell.html"

    def __init__(self, **kwargs):
        super().__init__("remaining", label=_("Codes left"), sort_key="remaining", **kwargs)

    def get_cell_context_data(self, instance, parent_context):
        context = super().get_cell_context_data(instance, parent_context)
        context["low"] = instance.remaining < instance.low_stock_threshold
        return context


class CodePoolIndexView(generic.IndexView):
    def get_base_queryset(self):
        return queries.pools_with_remaining()


@dataclass(frozen=True)
class LatestCode:
    """A row of the pool's latest codes: `redemption` and its `url` only when the viewer may see it."""

    code: GiftCode
    redemption: Redemption | None
    url: str | None


class CodePoolInspectView(generic.InspectView):
    template_name = "rewards_catalog/admin/pool_inspect.html"
    upload_url_name = None

    def get_object(self, queryset=None):
        return get_object_or_404(queries.pools_with_remaining(), pk=self.pk)

    @cached_property
    def header_buttons(self):
        if not services.may_upload_codes(self.request.user):
            return []
        url = reverse(self.upload_url_name, args=[quote(self.object.pk)])
        return [HeaderButton(_("Upload codes"), url=url, icon_name="upload")]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        pool = self.object
        context["low"] = pool.remaining < pool.low_stock_threshold
        context["uploads"] = pool.uploads.select_related("uploaded_by")[:20]
        context["latest_codes"] = self.latest_codes(pool)
        context["items"] = pool.items.all()
        return context

    def latest_codes(self, pool: CodePool) -> list[LatestCode]:
        """The pool's newest codes; to whom each went only where the viewer sees that partner (a code given
        outside the portfolio is just "given": the pool serves every partner, its page names only the viewer's)."""
        codes = list(pool.codes.order_by("-id")[:50])
        given = {code.redemption_id for code in codes if code.redemption_id}
        shown = queries.redemptions_visible_to(self.request.user).select_related("partner").in_bulk(given)
        inspect_url_name = redemption_viewset.get_url_name("inspect")
        rows = []
        for code in codes:
            redemption = shown.get(code.redemption_id)
            url = reverse(inspect_url_name, args=[quote(redemption.pk)]) if redemption else None
            rows.append(LatestCode(code=code, redemption=redemption, url=url))
        return rows


class CodeUploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file of codes"),
        help_text=_("One code per row, in the first column; a first row “code” is a header. UTF-8, at most 5 MB."),
    )


class CodeUploadView(PermissionCheckedMixin, WagtailAdminTemplateMixin, FormView):
    model = CodePool
    permission_required = "change"
    template_name = "rewards_catalog/admin/pool_upload.html"
    form_class = CodeUploadForm
    page_title = _("Upload gift-card codes")
    header_icon = "upload"
    index_url_name = None
    inspect_url_name = None

    def setup(self, request, *args, pk, **kwargs):
        super().setup(request, *args, pk=pk, **kwargs)
        self.pool = get_object_or_404(queries.pools_with_remaining(), pk=pk)

    def get_page_subtitle(self):
        return str(self.pool)

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse(self.index_url_name), "label": _("Gift-card code pools")},
            {"url": reverse(self.inspect_url_name, args=[quote(self.pool.pk)]), "label": str(self.pool)},
            {"url": "", "label": self.get_page_title()},
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["pool"] = self.pool
        context["low"] = self.pool.remaining < self.pool.low_stock_threshold
        return context

    def form_valid(self, form):
        try:
            result = services.upload_codes(self.pool, file=form.cleaned_data["file"], acting_user=self.request.user)
        except PermissionDenied:
            raise
        except CodeUploadRefused as refused:
            form.add_error(None, refused)
            return self.render_to_response(self.get_context_data(form=form, row_errors=refused.rows))
        if result.same_file_before:
            messages.warning(
                self.request,
                _("This file was uploaded to this pool on %(when)s by %(who)s: no code was added twice.")
                % {"when": result.upload.uploaded_at.strftime("%Y-%m-%d %H:%M"), "who": result.upload.uploaded_by},
            )
        else:
            names = {"count": result.added, "pool": self.pool}
            messages.success(self.request, _("%(count)s codes added to %(pool)s.") % names)
        return redirect(reverse(self.inspect_url_name, args=[quote(self.pool.pk)]))


class CodePoolViewSet(ModelViewSet):
    model = CodePool
    icon = "key"
    menu_label = _("Gift-card code pools")
    add_to_admin_menu = False
    menu_order = 500
    inspect_view_enabled = True
    copy_view_enabled = False
    form_fields = ["name", "low_stock_threshold"]
    list_display = ["name", RemainingColumn(), "low_stock_threshold"]
    index_view_class = CodePoolIndexView
    inspect_view_class = CodePoolInspectView
    # A pool with codes is never deleted (its codes were sold or may be): no delete URL at all.
    exposed_url_names = {"index", "index_results", "add", "edit", "inspect"}

    def get_common_view_kwargs(self, **kwargs):
        # Nor history or usage URLs: the edit page links to neither (naming them there failed the page).
        unrouted = {"delete_url_name": None, "history_url_name": None, "usage_url_name": None}
        return super().get_common_view_kwargs(**{**unrouted, **kwargs})

    def get_inspect_view_kwargs(self, **kwargs):
        return super().get_inspect_view_kwargs(upload_url_name=self.get_url_name("upload"), **kwargs)

    def upload_view(self):
        return self.construct_view(
            CodeUploadView, index_url_name=self.get_url_name("index"), inspect_url_name=self.get_url_name("inspect")
        )

    def get_urlpatterns(self):
        return [
            *(pattern for pattern in super().get_urlpatterns() if pattern.name in self.exposed_url_names),
            path("upload/<int:pk>/", self.upload_view(), name="upload"),
        ]


# --- Redemptions: the listing, the approval queue, inspect, and the decisions ------------------------


class RedemptionFilterSet(WagtailFilterSet):
    status = ChoiceFilter(label=_("status"), choices=Status.choices)
    partner = ModelChoiceFilter(label=_("partner"), queryset=lambda request: partners_visible_to(request.user))
    item = ModelChoiceFilter(label=_("item"), queryset=Item.objects.order_by("title"))

    class Meta:
        model = Redemption
        fields = ["status", "partner", "item"]


class QueueFilterSet(WagtailFilterSet):
    partner = ModelChoiceFilter(label=_("partner"), queryset=lambda request: partners_visible_to(request.user))

    class Meta:
        model = Redemption
        fields = ["partner"]


class NextStepColumn(NextStepsColumn):
    """What the manager does next with this redemption: approve or reject it, mark it shipped or fulfilled."""

    def get_steps(self, instance, user):
        steps = super().get_steps(instance, user)
        if any(step.name == "ship" for step in steps):  # the queue ships goods first; fulfilling at once is on its page
            steps = [step for step in steps if step.name != "fulfil"]
        return steps


class RedemptionIndexView(QueueButtonMixin, generic.IndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().select_related("partner", "item", "member", "decided_by")


class RedemptionQueueView(QueueMixin, RedemptionIndexView):
    """Redemptions that wait for the manager, oldest first: to approve or reject, then to ship or fulfil."""

    page_title = _("Redemptions to handle")


class RedemptionInspectView(NextStepsInspectMixin, generic.InspectView):
    template_name = "rewards_catalog/admin/redemption_inspect.html"

    def get_object(self, queryset=None):
        visible = queries.redemptions_visible_to(self.request.user)
        return get_object_or_404(visible.select_related("partner", "item", "member", "decided_by"), pk=self.pk)

    def get_points_display_value(self):
        return f"{self.object.points:,}"

    def get_decided_by_display_value(self):
        return self.object.decided_by or "—"

    def get_shipping_address_display_value(self):
        return self.object.shipping_address or "—"

    def get_cause_display_value(self):
        return self.object.cause or "—"

    def get_tracking_note_display_value(self):
        return self.object.tracking_note or "—"

    def get_reason_display_value(self):
        return self.object.reason or "—"

    def get_decided_at_display_value(self):
        return self.object.decided_at or "—"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        redemption = self.object
        context["events"] = redemption.events.select_related("actor")
        context["codes"] = list(redemption.codes.order_by("pk"))
        context["show_codes"] = queries.may_read_codes(self.request.user, redemption)
        return context


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Note for the partner"), widget=forms.Textarea(attrs={"rows": 3}), required=False)


class RejectionForm(forms.Form):
    note = forms.CharField(
        label=_("Why is it rejected? The partner reads this."), widget=forms.Textarea(attrs={"rows": 3})
    )


class ShippingForm(forms.Form):
    note = forms.CharField(label=_("Tracking number or note"), widget=forms.Textarea(attrs={"rows": 3}))


class FulfilmentForm(forms.Form):
    note = forms.CharField(
        label=_("Tracking or delivery note"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )


class RedemptionStepView(StepView):
    """GET shows the redemption and asks for a note; POST takes the step through the service."""

    model = Redemption
    flow = REDEMPTION_FLOW
    context_object_name = "redemption"
    permission_required = "change"  # who may decide which partner's redemption: checked in the service too
    template_name = "rewards_catalog/admin/step.html"
    header_icon = "gift"

    def get_queryset(self):
        return queries.redemptions_visible_to(self.request.user).select_related("partner", "item", "member")

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse(self.index_url_name), "label": _("Redemptions")},
            {"url": reverse(self.inspect_url_name, args=[quote(self.object.pk)]), "label": str(self.object)},
            {"url": "", "label": self.get_page_title()},
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["available"] = balance_of(self.object.partner).available
        return context


class ApproveView(RedemptionStepView):
    step = "approve"
    page_title = _("Approve redemption")
    form_class = NoteForm
    submit_label = _("Approve: spend the points")
    success_message = _("Redemption %(redemption)s approved.")
    icon = "check"
    one_click = True
    aria_label = _("Approve %(redemption)s")


class RejectView(RedemptionStepView):
    step = "reject"
    page_title = _("Reject redemption")
    form_class = RejectionForm
    submit_label = _("Reject: give the points and stock back")
    success_message = _("Redemption %(redemption)s rejected; its points and stock are back.")
    icon = "cross"
    aria_label = _("Reject %(redemption)s")


class ShipView(RedemptionStepView):
    step = "ship"
    page_title = _("Mark shipped")
    form_class = ShippingForm
    submit_label = _("Mark shipped")
    success_message = _("Redemption %(redemption)s marked shipped.")
    icon = "pick"
    aria_label = _("Mark %(redemption)s shipped")


class FulfilView(RedemptionStepView):
    step = "fulfil"
    page_title = _("Mark fulfilled")
    form_class = FulfilmentForm
    submit_label = _("Mark fulfilled")
    success_message = _("Redemption %(redemption)s marked fulfilled.")
    icon = "success"
    aria_label = _("Mark %(redemption)s fulfilled")


class RedemptionViewSet(PortfolioScopedViewSetMixin, WorkflowViewSetMixin, ModelViewSet):
    model = Redemption
    flow = REDEMPTION_FLOW
    step_views = (ApproveView, RejectView, ShipView, FulfilView)  # cancelling is the partner's, in the portal
    queue_view_class = RedemptionQueueView
    queue_filterset_class = QueueFilterSet
    queue_ordering = "created_at"
    icon = "gift"
    menu_label = _("Redemptions")
    add_to_reference_index = False  # a redemption is a fact about its own partner, not content others use
    add_to_admin_menu = False
    menu_order = 200
    inspect_view_enabled = True
    copy_view_enabled = False
    list_display = ["__str__", "status", "points", "created_at", "decided_by"]
    filterset_class = RedemptionFilterSet
    search_fields = ["partner__name", "partner__external_id", "item__title", "member__email"]
    search_backend_name = None
    index_view_class = RedemptionIndexView
    inspect_view_class = RedemptionInspectView
    inspect_view_fields = [
        "partner",
        "member",
        "item",
        "quantity",
        "points",
        "status",
        "shipping_address",
        "cause",
        "tracking_note",
        "reason",
        "decided_by",
        "decided_at",
        "created_at",
    ]
    # Redemptions are made by partners in the portal and changed only by their steps: no add, edit or delete.
    exposed_url_names = {"index", "index_results", "inspect"}
    form_fields = ["tracking_note"]  # Wagtail builds its add and edit views anyway; they are never routed

    def get_common_view_kwargs(self, **kwargs):
        view_kwargs = super().get_common_view_kwargs(**kwargs)
        for url_name in ("add_url_name", "edit_url_name", "delete_url_name", "history_url_name", "usage_url_name"):
            view_kwargs[url_name] = None
        return view_kwargs

    def get_queue_list_display(self):
        return ["__str__", "status", "points", "created_at", NextStepColumn(self)]

    def get_urlpatterns(self):
        return [
            *(pattern for pattern in super().get_urlpatterns() if pattern.name in self.exposed_url_names),
            *self.get_workflow_urlpatterns(),
        ]


redemption_viewset = RedemptionViewSet("redemption", url_prefix="redemptions")
item_viewset = ItemViewSet("catalog_item", url_prefix="catalog/items")
category_viewset = CategoryViewSet("catalog_category", url_prefix="catalog/categories")
code_pool_viewset = CodePoolViewSet("code_pool", url_prefix="catalog/code-pools")


def queue_menu_item() -> MenuItem:
    """The queue, next to the redemptions' own item and shown to the same people."""
    return redemption_viewset.menu_item_class(
        _("Redemptions to handle"),
        reverse_lazy(redemption_viewset.get_url_name("queue")),
        name="redemptions-to-handle",
        icon_name="time",
        order=redemption_viewset.get_menu_item_order() - 1,
    )
