"""The learning report in the CMS ("Programme" → "Learning report"), its CSV exports, and Wagtail's own form
submissions scoped to the user's portfolio.

Thin layers over ``content.reports`` and ``content.exports``: every figure and every row is read for
``accounts.queries.partners_visible_to(user)``, so an account manager sees their portfolio's partners only, an
administrator every partner. Who may read what is a model permission given to the CMS groups
(``content.view_completion``: the report; ``content.view_quizattempt``: quiz answers;
``content.view_formanswers``: form answers); anyone else is answered 403.

Wagtail's Forms pages (``wagtail.contrib.forms``) list and export a form page's submissions with no notion of
a portfolio, and delete them. Their routes are answered here instead (registered ahead of Wagtail's, see
``wagtail_hooks``): the same listing and CSV/XLSX export, read for the user's partners, cells made safe
for spreadsheets; and no deleting, since each answer is the record of points given.
"""

import uuid

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.defaults import permission_denied
from django.views.generic import TemplateView
from wagtail.admin.menu import MenuItem
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.contrib.forms.models import FormMixin
from wagtail.contrib.forms.views import SubmissionsListView
from wagtail.models import Page

from accounts.queries import partners_visible_to
from content import exports, reports
from portal.csv_cells import csv_response, spreadsheet_safe

REPORT_PERMISSION = "content.view_completion"
ATTEMPTS_PERMISSION = "content.view_quizattempt"
ANSWERS_PERMISSION = "content.view_formanswers"


def _allowed(user, permission: str) -> bool:
    return user.is_active and user.is_staff and user.has_perm(permission)


class PeriodForm(forms.Form):
    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and end < start:
            self.add_error("end", _("The last day must not come before the first."))
        return cleaned

    def period(self) -> reports.Period:
        return reports.Period(start=self.cleaned_data["start"], end=self.cleaned_data["end"])


def _period_or_none(request) -> reports.Period | None:
    form = PeriodForm(request.GET)
    return form.period() if form.is_valid() else None


# --- The report ------------------------------------------------------------------------------------------


class LearningReportView(WagtailAdminTemplateMixin, TemplateView):
    template_name = "content/admin/learning_report.html"
    page_title = _("Learning report")
    header_icon = "doc-full"

    def dispatch(self, request, *args, **kwargs):
        if not _allowed(request.user, REPORT_PERMISSION):
            return permission_denied(request, PermissionDenied())
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self):
        return [*self.breadcrumbs_items, {"url": "", "label": self.page_title}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = PeriodForm(self.request.GET or None)
        user = self.request.user
        report = None
        if form.is_valid() or not form.is_bound:
            period = form.period() if form.is_bound else reports.Period()
            report = reports.learning_report(partners=partners_visible_to(user), period=period)
        context.update(
            form=form,
            report=report,
            totals=reports.report_totals(report) if report else None,
            query=self.request.GET.urlencode(),
            may_export_attempts=_allowed(user, ATTEMPTS_PERMISSION),
            may_export_answers=_allowed(user, ANSWERS_PERMISSION),
        )
        return context


def learning_report_menu_item():
    return _ReportMenuItem(_("Learning report"), reverse("content_learning_report"), icon_name="doc-full", order=320)


class _ReportMenuItem(MenuItem):
    def is_shown(self, request):
        return _allowed(request.user, REPORT_PERMISSION)


# --- The exports -----------------------------------------------------------------------------------------


def _export(request, item_key: uuid.UUID, *, permission: str, sheet_of, name: str):
    if not _allowed(request.user, permission):
        return permission_denied(request, PermissionDenied())
    period = _period_or_none(request)
    if period is None:  # the report says which day is wrong; never export what was not asked for
        return redirect(f"{reverse('content_learning_report')}?{request.GET.urlencode()}")
    sheet = sheet_of(item_key, partners=partners_visible_to(request.user), period=period)
    if sheet is None:
        raise Http404
    filename = f"{name}-{item_key}-{timezone.localdate().isoformat()}.csv"
    return csv_response(filename=filename, header=sheet.header, rows=sheet.rows)


def attempts_export(request, item_key: uuid.UUID):
    """Every attempt at one quiz by the portfolio's people (the report's period)."""
    return _export(request, item_key, permission=ATTEMPTS_PERMISSION, sheet_of=exports.quiz_attempts, name="quiz")


def answers_export(request, item_key: uuid.UUID):
    """Every answer to one questionnaire or feedback form by the portfolio's people (the report's period)."""
    return _export(request, item_key, permission=ANSWERS_PERMISSION, sheet_of=exports.form_answers, name="answers")


# --- Wagtail's form submissions, scoped ------------------------------------------------------------------


class PortfolioSubmissionsListView(SubmissionsListView):
    """Wagtail's listing and export of a form's submissions, only those of the user's partners."""

    results_template_name = "content/admin/form_submissions_results.html"

    def get_base_queryset(self):
        submissions = super().get_base_queryset()
        if not any(f.name == "partner" for f in submissions.model._meta.get_fields()):
            return submissions.none()  # a form that records no partner: nobody's portfolio
        partners = partners_visible_to(self.request.user)
        return submissions.filter(partner__in=partners).select_related("person", "partner")

    def preprocess_field_value(self, field, value, export_format):
        return spreadsheet_safe(super().preprocess_field_value(field, value, export_format))


def form_submissions(request, page_id: int, **kwargs):
    page = get_object_or_404(Page, id=page_id).specific
    if not isinstance(page, FormMixin):
        raise Http404
    return PortfolioSubmissionsListView.as_view()(request, form_page=page, page_id=page_id, **kwargs)


def refuse_deleting_submissions(request, page_id: int):
    """Answers are the records of points given (a completion points at each): they are never deleted."""
    return permission_denied(request, PermissionDenied())
