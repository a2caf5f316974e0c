"""The CMS pages of the CSV import: upload a file, watch its dry run, import it or cancel.

Only translations of requests into `portal.earning.csv_import` calls, and of its answers into
pages. Every page answers 403 to a CMS user without ``earning.add_importjob`` (Wagtail would turn
a PermissionDenied into a redirect to the dashboard, which hides the reason).
"""

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse, reverse_lazy
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.defaults import permission_denied
from django.views.generic import FormView, TemplateView
from wagtail.admin import messages
from wagtail.admin.menu import MenuItem
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from portal.earning import csv_import
from portal.earning.models import ImportJob

MAX_UPLOAD_BYTES = 200 * 1024 * 1024


class ImportPermissionMixin:
    def dispatch(self, request, *args, **kwargs):
        if not csv_import.may_import(request.user):
            return permission_denied(request, PermissionDenied())
        return super().dispatch(request, *args, **kwargs)


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label=_("The file holds"), choices=ImportJob.Kind.choices, widget=forms.RadioSelect)
    file = forms.FileField(
        label=_("CSV file"),
        allow_empty_file=True,  # the dry run says what is wrong with it, as for any other file
        help_text=_("UTF-8 text (with or without a BOM), comma-separated, its first row naming the columns."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self):
        file = self.cleaned_data["file"]
        if file.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(size)s: split it.") % {"size": filesizeformat(MAX_UPLOAD_BYTES)}
            )
        return file


class ImportIndexView(ImportPermissionMixin, WagtailAdminTemplateMixin, FormView):
    template_name = "earning/imports/index.html"
    page_title = _("Import CSV")
    header_icon = "upload"
    form_class = ImportForm

    def get_breadcrumbs_items(self):
        return [*self.breadcrumbs_items, {"url": "", "label": self.page_title}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["jobs"] = ImportJob.objects.select_related("uploaded_by")[:20]
        context["formats"] = [
            (ImportJob.Kind(kind).label, list(columns)) for kind, columns in csv_import.COLUMNS.items()
        ]
        return context

    def form_valid(self, form):
        job = csv_import.start_import(
            kind=form.cleaned_data["kind"], uploaded_file=form.cleaned_data["file"], acting_user=self.request.user
        )
        earlier = csv_import.earlier_imports(job).first()
        if earlier:
            messages.warning(
                self.request,
                _("A file with the same content was imported on %(when)s (%(name)s): its rows are all recorded.")
                % {"when": earlier.created_at.date(), "name": earlier.file_name},
            )
        return redirect("earning_import_job", job.pk)


class ImportJobView(ImportPermissionMixin, WagtailAdminTemplateMixin, TemplateView):
    template_name = "earning/imports/job.html"
    header_icon = "upload"

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.job = get_object_or_404(ImportJob.objects.select_related("uploaded_by"), pk=kwargs["pk"])

    def get_page_title(self):
        return _("Import of %(name)s") % {"name": self.job.file_name}

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse("earning_imports"), "label": _("Import CSV")},
            {"url": "", "label": self.job.file_name},
        ]

    def get_context_data(self, **kwargs):
        job = self.job
        context = super().get_context_data(**kwargs)
        context.update(
            job=job,
            running=csv_import.is_running(job),
            dry_run=job.status in (ImportJob.Status.CHECKING, ImportJob.Status.CHECKED, ImportJob.Status.INVALID),
            percent=csv_import.percent_done(job),
            can_import=csv_import.can_import(job),
            can_cancel=csv_import.can_cancel(job),
            can_resume=job.status == ImportJob.Status.FAILED,
            all_duplicates=bool(job.rows_total) and job.rows_duplicate == job.rows_total,
            errors_capped=len(job.errors) >= csv_import.MAX_ERRORS,
            earlier=csv_import.earlier_imports(job)[:5],
            progress_url=reverse("earning_import_progress", args=[job.pk]),
        )
        return context


class ImportProgressView(ImportPermissionMixin, View):
    """The progress bar's figures, polled by the job page while a run is under way."""

    def get(self, request, pk):
        return JsonResponse(csv_import.progress(get_object_or_404(ImportJob, pk=pk)))


class ImportActionView(ImportPermissionMixin, View):
    http_method_names = ["post"]

    def post(self, request, pk):
        job = get_object_or_404(ImportJob, pk=pk)
        try:
            return self.act(job)
        except csv_import.ImportNotAllowed as refusal:
            messages.error(request, str(refusal))
            return redirect("earning_import_job", job.pk)


class ImportConfirmView(ImportActionView):
    def act(self, job):
        csv_import.confirm_import(job, acting_user=self.request.user)
        return redirect("earning_import_job", job.pk)


class ImportCancelView(ImportActionView):
    def act(self, job):
        csv_import.cancel_import(job, acting_user=self.request.user)
        messages.success(self.request, _("The import of %(name)s was cancelled.") % {"name": job.file_name})
        return redirect("earning_imports")


class ImportMenuItem(MenuItem):
    def is_shown(self, request):
        return csv_import.may_import(request.user)


def import_menu_item():
    return ImportMenuItem(_("Import CSV"), reverse_lazy("earning_imports"), icon_name="upload", order=300)


urlpatterns = [
    path("earning/imports/", ImportIndexView.as_view(), name="earning_imports"),
    path("earning/imports/<int:pk>/", ImportJobView.as_view(), name="earning_import_job"),
    path("earning/imports/<int:pk>/progress/", ImportProgressView.as_view(), name="earning_import_progress"),
    path("earning/imports/<int:pk>/import/", ImportConfirmView.as_view(), name="earning_import_confirm"),
    path("earning/imports/<int:pk>/cancel/", ImportCancelView.as_view(), name="earning_import_cancel"),
]
