"""The CMS's review of referral applications: the listing, the queue of those waiting, inspect with the
fraud signals and their reasons, and the decisions.

Applications are scoped the portfolio way: a ``PortfolioPermissionPolicy`` over ``applications_visible_to``
(a manager: those referred by the partners of their portfolio; administrators: all, the unreferred too),
and the viewset wraps every view in the portfolio gate, so another portfolio's application answers 404 on
every URL. Applications are never edited here; each step is a call to ``referrals.services`` through the
table ``REFERRAL_FLOW`` (``portal.workflow_admin``).
"""

from django import forms
from django.contrib.admin.utils import quote
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext_lazy as _
from django_filters import ChoiceFilter
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.ui.tables import Column
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet

from accounts.admin_views import PortfolioPermissionPolicy, PortfolioScopedViewSetMixin
from portal.workflow_admin import (
    NextStepsColumn,
    NextStepsInspectMixin,
    QueueButtonMixin,
    QueueMixin,
    StepView,
    WorkflowViewSetMixin,
)
from referrals import services
from referrals.models import Application
from referrals.queries import applications_visible_to, signals_of
from referrals.workflow import REFERRAL_FLOW

application_permission_policy = PortfolioPermissionPolicy(Application, visible_to=applications_visible_to)

Status = Application.Status


class SignalsColumn(Column):
    """How many fraud signals the application shows now (each with its reason on its page)."""

    def __init__(self, **kwargs):
        super().__init__("signals", label=_("Fraud signals"), **kwargs)

    def get_value(self, instance):
        return len(signals_of(instance)) or "—"


class ApplicationFilterSet(WagtailFilterSet):
    status = ChoiceFilter(label=_("status"), choices=Status.choices)

    class Meta:
        model = Application
        fields = ["status"]


class ApplicationIndexView(QueueButtonMixin, generic.IndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().select_related("referrer", "partner", "decided_by")


class ApplicationQueueView(QueueMixin, ApplicationIndexView):
    """Applications waiting for a decision, oldest first."""

    page_title = _("Referrals to review")


class ApplicationInspectView(NextStepsInspectMixin, generic.InspectView):
    template_name = "referrals/admin/application_inspect.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["signals"] = signals_of(self.object)
        context["signals_at_decision"] = self.object.signals_at_decision
        return context

    def get_referrer_display_value(self):
        return self.object.referrer or _("nobody (applied without a referral link)")

    def get_partner_display_value(self):
        return self.object.partner or "—"

    def get_decided_by_display_value(self):
        return self.object.decided_by or "—"

    def get_note_display_value(self):
        return self.object.note or "—"

    def get_decided_at_display_value(self):
        return self.object.decided_at or "—"

    def get_qualified_at_display_value(self):
        return self.object.qualified_at or "—"

    def get_qualifying_order_display_value(self):
        return self.object.qualifying_order or "—"


class ApprovalForm(forms.Form):
    external_id = forms.CharField(
        label=_("ERP id of the new partner"),
        max_length=64,
        help_text=_("The id the vendor's ERP will use for this company in its orders and invoices."),
    )
    note = forms.CharField(
        label=_("Note (required when the application shows fraud signals)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )


class RejectionForm(forms.Form):
    note = forms.CharField(
        label=_("Why is it rejected? The applicant reads this."), widget=forms.Textarea(attrs={"rows": 3})
    )


class ApplicationStepView(StepView):
    model = Application
    flow = REFERRAL_FLOW
    context_object_name = "application"
    permission_required = "change"  # who may decide which application: checked in the service too
    template_name = "referrals/admin/step.html"
    header_icon = "group"

    def get_queryset(self):
        return applications_visible_to(self.request.user).select_related("referrer")

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse(self.index_url_name), "label": _("Referral applications")},
            {"url": reverse(self.inspect_url_name, args=[quote(self.object.pk)]), "label": str(self.object)},
            {"url": "", "label": self.get_page_title()},
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["signals"] = signals_of(self.object)
        return context


class ApproveView(ApplicationStepView):
    step = "approve"
    page_title = _("Approve referral application")
    form_class = ApprovalForm
    submit_label = _("Approve: make it a partner and invite its owner")
    success_message = _("%(application)s approved: it is a partner now, and its owner is invited.")
    icon = "check"
    aria_label = _("Approve %(application)s")

    def get_initial(self):
        return {"external_id": services.suggested_erp_id(self.object)}

    def take_step(self, form) -> None:
        services.approve_application(
            self.object,
            acting_user=self.request.user,
            note=form.cleaned_data["note"],
            external_id=form.cleaned_data["external_id"],
        )


class RejectView(ApplicationStepView):
    step = "reject"
    page_title = _("Reject referral application")
    form_class = RejectionForm
    submit_label = _("Reject and tell the applicant")
    success_message = _("%(application)s rejected; the applicant is told why.")
    icon = "cross"
    aria_label = _("Reject %(application)s")


class ApplicationViewSet(PortfolioScopedViewSetMixin, WorkflowViewSetMixin, ModelViewSet):
    model = Application
    flow = REFERRAL_FLOW
    step_views = (ApproveView, RejectView)
    queue_view_class = ApplicationQueueView
    queue_ordering = "created_at"
    icon = "group"
    menu_label = _("Referral applications")
    add_to_reference_index = False
    add_to_admin_menu = False
    inspect_view_enabled = True
    copy_view_enabled = False
    list_display = ["company_name", "referrer", "status", "created_at", SignalsColumn()]
    filterset_class = ApplicationFilterSet
    search_fields = ["company_name", "registration_number", "email", "referrer__name"]
    search_backend_name = None
    index_view_class = ApplicationIndexView
    inspect_view_class = ApplicationInspectView
    inspect_view_fields = [
        "company_name",
        "registration_number",
        "contact_name",
        "email",
        "phone",
        "kind",
        "region",
        "language",
        "referrer",
        "status",
        "created_at",
        "decided_by",
        "decided_at",
        "note",
        "partner",
        "qualified_at",
        "qualifying_order",
        "referrer_points",
        "welcome_points",
    ]
    exposed_url_names = {"index", "index_results", "inspect"}
    form_fields = ["note"]  # Wagtail builds add and edit views anyway; they are never routed

    def get_common_view_kwargs(self, **kwargs):
        view_kwargs = super().get_common_view_kwargs(**kwargs)
        for url_name in ("add_url_name", "edit_url_name", "delete_url_name", "history_url_name", "usage_url_name"):
            view_kwargs[url_name] = None
        return view_kwargs

    def get_queue_list_display(self):
        return ["company_name", "referrer", "created_at", SignalsColumn(), NextStepsColumn(self)]

    def get_urlpatterns(self):
        return [
            *(pattern for pattern in super().get_urlpatterns() if pattern.name in self.exposed_url_names),
            *self.get_workflow_urlpatterns(),
        ]


application_viewset = ApplicationViewSet("referral_application", url_prefix="referrals")


def queue_menu_item():
    return application_viewset.menu_item_class(
        _("Referrals to review"),
        reverse_lazy(application_viewset.get_url_name("queue")),
        name="referrals-to-review",
        icon_name="time",
        order=application_viewset.get_menu_item_order() - 1,
    )
