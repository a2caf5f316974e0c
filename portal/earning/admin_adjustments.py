"""The CMS for manual adjustments: list them, request one, and decide those that wait.

Scoping reuses the partners' CMS: Adjustment has a ``PortfolioPermissionPolicy`` over
``adjustments_visible_to`` and the viewset wraps every view in the portfolio gate, so an id of
another portfolio's adjustment answers 404 on every URL, and listings show only the portfolio.
Adjustments are never edited or deleted here: the viewset has no edit, delete, copy, history or
usage URL. Requesting, approving and rejecting are calls to ``portal.earning.adjustments``, which
checks who may do what; these views only turn forms into those calls and errors into messages. The
buttons and step pages come from its table, ``ADJUSTMENT_FLOW``, through ``portal.workflow_admin``.
"""

from django import forms
from django.contrib.admin.utils import quote
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext_lazy as _
from django_filters import ChoiceFilter, ModelChoiceFilter
from wagtail.admin import messages
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.tables import Column
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet

from accounts.admin_views import (
    PartnerChooserWidget,
    PortfolioPermissionPolicy,
    PortfolioScopedViewSetMixin,
    ServiceFormViewMixin,
)
from accounts.queries import partners_visible_to
from portal.earning import adjustments
from portal.earning.models import Adjustment
from portal.ledger.queries import balance_of
from portal.workflow_admin import (
    NextStepsColumn,
    NextStepsInspectMixin,
    QueueButtonMixin,
    QueueMixin,
    StepView,
    WorkflowViewSetMixin,
)

adjustment_permission_policy = PortfolioPermissionPolicy(Adjustment, visible_to=adjustments.adjustments_visible_to)

AWAITING = Adjustment.Status.AWAITING_APPROVAL


# --- Request ----------------------------------------------------------------------------------------


class AdjustmentForm(WagtailAdminModelForm):
    class Meta:
        model = Adjustment
        fields = ["partner", "points", "reason"]
        widgets = {"partner": PartnerChooserWidget, "reason": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partner"].queryset = partners_visible_to(self.for_user)
        self.fields["points"].help_text = _(
            "Positive gives points, negative takes them. Above %(threshold)s either way, a second person approves."
        ) % {"threshold": f"{adjustments.approval_threshold_points():,}"}

    def clean(self):
        cleaned = super().clean()
        if "points" in cleaned and "reason" in cleaned:
            try:  # the service's own check, so the form says the same as a refused call would
                adjustments.check_request(points=cleaned["points"], reason=cleaned["reason"])
            except ValidationError as error:
                self.add_error(None, error)
        return cleaned


class AdjustmentCreateView(ServiceFormViewMixin, generic.CreateView):
    inspect_url_name = None

    def save_instance(self):
        data = self.form.cleaned_data
        return adjustments.request_adjustment(
            data["partner"], points=data["points"], reason=data["reason"], acting_user=self.request.user
        )

    def get_success_message(self, instance):
        if instance.status == AWAITING:
            return _("Adjustment of %(adjustment)s requested; it waits for a second person's approval.") % {
                "adjustment": instance
            }
        return _("Adjustment of %(adjustment)s posted.") % {"adjustment": instance}

    def get_success_buttons(self):
        return [messages.button(reverse(self.inspect_url_name, args=[quote(self.object.pk)]), _("View"))]


# --- Listings ---------------------------------------------------------------------------------------


class QueueFilterSet(WagtailFilterSet):
    partner = ModelChoiceFilter(label=_("partner"), queryset=lambda request: partners_visible_to(request.user))

    class Meta:
        model = Adjustment
        fields = ["partner"]


class AdjustmentFilterSet(QueueFilterSet):
    status = ChoiceFilter(label=_("status"), choices=Adjustment.Status.choices)

    class Meta:
        model = Adjustment
        fields = ["status", "partner"]


class RequesterColumn(Column):
    """The person who asked, or what did: the ERP's key or CSV file, for points above the programme's limits."""

    def __init__(self, **kwargs):
        super().__init__("requester", label=_("requested by"), **kwargs)


class DecisionColumn(NextStepsColumn):
    """Approve (a POST from the row itself) or reject (a page that asks why), for whoever may decide."""

    def __init__(self, viewset, **kwargs):
        super().__init__(viewset, name="decision", label=_("Decision"), **kwargs)

    def get_waiting_note(self, instance, user):
        own = instance.status == AWAITING and instance.requested_by_id == user.pk
        return _("Waiting for a second person") if own else ""


class AdjustmentIndexView(QueueButtonMixin, generic.IndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().select_related("partner", "requested_by", "decided_by", "order", "payment")


class AdjustmentQueueView(QueueMixin, AdjustmentIndexView):
    """The adjustments waiting for a second person, oldest first, with their approve and reject buttons."""

    page_title = _("Awaiting approval")


# --- Inspect and decide -----------------------------------------------------------------------------


class AdjustmentInspectView(NextStepsInspectMixin, generic.InspectView):
    def get_object(self, queryset=None):
        return get_object_or_404(adjustments.adjustments_visible_to(self.request.user), pk=self.pk)

    def get_points_display_value(self):
        return f"{self.object.points:+,}"

    def get_requested_by_display_value(self):
        return self.object.requester or "—"

    def get_order_display_value(self):
        return self.object.order or "—"

    def get_payment_display_value(self):
        return self.object.payment or "—"

    def get_decided_by_display_value(self):
        return self.object.decided_by or "—"

    def get_decided_at_display_value(self):
        return self.object.decided_at or "—"


class DecisionForm(forms.Form):
    note = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}), required=False)


class RejectionForm(forms.Form):
    note = forms.CharField(label=_("Why is it rejected?"), widget=forms.Textarea(attrs={"rows": 3}))


class DecisionView(StepView):
    """GET shows the adjustment and asks for a note; POST decides through the service."""

    model = Adjustment
    flow = adjustments.ADJUSTMENT_FLOW
    context_object_name = "adjustment"
    permission_required = "add"  # those who may adjust may decide others' adjustments (checked in the service)
    template_name = "earning/adjustments/decide.html"
    header_icon = "tasks"

    def get_queryset(self):
        return adjustments.adjustments_visible_to(self.request.user).select_related("partner", "requested_by")

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse(self.index_url_name), "label": _("Adjustments")},
            {"url": reverse(self.queue_url_name), "label": _("Awaiting approval")},
            {"url": "", "label": self.get_page_title(), "sublabel": self.get_page_subtitle()},
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["points"] = f"{self.object.points:+,}"
        context["available"] = balance_of(self.object.partner).available
        return context

    def get_why_not(self):
        if self.object.requested_by_id == self.request.user.pk:
            return _("You requested this adjustment, so a second person decides it.")
        return ""

    def get_default_success_url(self):
        return reverse(self.queue_url_name)


class ApproveView(DecisionView):
    step = "approve"
    page_title = _("Approve adjustment")
    form_class = DecisionForm
    submit_label = _("Approve and post")
    success_message = _("Adjustment of %(adjustment)s approved and posted.")
    icon = "check"
    one_click = True
    aria_label = _("Approve %(adjustment)s")


class RejectView(DecisionView):
    step = "reject"
    page_title = _("Reject adjustment")
    form_class = RejectionForm
    submit_label = _("Reject")
    success_message = _("Adjustment of %(adjustment)s rejected.")
    icon = "cross"
    aria_label = _("Reject %(adjustment)s")


# --- The viewset ------------------------------------------------------------------------------------


class AdjustmentViewSet(PortfolioScopedViewSetMixin, WorkflowViewSetMixin, ModelViewSet):
    model = Adjustment
    flow = adjustments.ADJUSTMENT_FLOW
    step_views = (ApproveView, RejectView)
    queue_view_class = AdjustmentQueueView
    queue_filterset_class = QueueFilterSet
    queue_ordering = "requested_at"
    icon = "tasks"
    menu_label = _("Adjustments")
    add_to_admin_menu = False  # listed in the "Programme" menu, with the queue
    menu_order = 100
    inspect_view_enabled = True
    copy_view_enabled = False
    add_to_reference_index = False  # an adjustment is a fact about its own partner, not content others use
    list_display = ["__str__", "status", RequesterColumn(), "requested_at", "decided_by"]
    filterset_class = AdjustmentFilterSet
    search_fields = ["reason", "partner__name", "partner__external_id"]
    search_backend_name = None
    index_view_class = AdjustmentIndexView
    add_view_class = AdjustmentCreateView
    inspect_view_class = AdjustmentInspectView
    inspect_view_fields = [
        "partner",
        "points",
        "reason",
        "status",
        "order",
        "payment",
        "requested_by",
        "requested_at",
        "decided_by",
        "decided_at",
        "decision_note",
    ]
    form_fields = ["partner", "points", "reason"]
    # Adjustments are facts: no edit, delete, history or usage pages.
    exposed_url_names = {"index", "index_results", "add", "inspect"}

    def get_form_class(self, for_update=False):
        return AdjustmentForm

    def get_common_view_kwargs(self, **kwargs):
        view_kwargs = super().get_common_view_kwargs(**kwargs)
        for url_name in ("edit_url_name", "delete_url_name", "history_url_name", "usage_url_name"):
            view_kwargs[url_name] = None
        return view_kwargs

    def get_queue_list_display(self):
        return ["__str__", RequesterColumn(), "requested_at", "reason", DecisionColumn(self)]

    def get_urlpatterns(self):
        return [
            *(pattern for pattern in super().get_urlpatterns() if pattern.name in self.exposed_url_names),
            *self.get_workflow_urlpatterns(),
        ]


adjustment_viewset = AdjustmentViewSet("adjustment", url_prefix="adjustments")


def awaiting_approval_menu_item() -> MenuItem:
    """The queue, next to the viewset's own "Adjustments" item and shown to the same people."""
    return adjustment_viewset.menu_item_class(
        _("Awaiting approval"),
        reverse_lazy(adjustment_viewset.get_url_name("queue")),
        name="adjustments-awaiting-approval",
        icon_name="time",
        order=adjustment_viewset.get_menu_item_order() + 1,
    )
