"""The statements' CMS: the runs (start one for a past month, resume one whose workers were lost) and the
statements themselves (download the newest PDF or an earlier version, regenerate one).

Both reuse the partners' CMS scoping, as the tiers do: each model has a ``PortfolioPermissionPolicy`` (runs
over ``runs_visible_to``, statements over ``statements_visible_to``) and the viewsets wrap every view in the
portfolio gate, the extra views here included, so an id of another portfolio's statement or of another
manager's run answers 404 on every URL. Earlier versions are reached through their statement's URL
(``download/<statement>/v<version>/``), so the gate covers them too. Runs are started and resumed, and
statements regenerated, through ``portal.statements.services``, which checks permission and portfolio again;
nothing is added, edited or deleted through generic forms.
"""

from datetime import date, timedelta
from types import SimpleNamespace

from django import forms
from django.contrib.admin.utils import quote
from django.db.models import Count, F, Max, Q, Sum
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.dates import MONTHS
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.views.generic import FormView, View
from django_filters import ChoiceFilter, ModelChoiceFilter
from wagtail.admin import messages
from wagtail.admin.admin_url_finder import ModelAdminURLFinder
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.ui.tables import Column, DateColumn, TitleColumn
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
from portal.statements import services
from portal.statements.models import Statement, StatementRun
from portal.statements.queries import runs_visible_to, statements_visible_to
from portal.statements.views import statement_file_response
from portal.tiers.queries import programme_today

statement_permission_policy = PortfolioPermissionPolicy(Statement, visible_to=statements_visible_to)
run_permission_policy = PortfolioPermissionPolicy(StatementRun, visible_to=runs_visible_to)

# A run that has not moved for this long (no batch done, no statement made) has most likely lost its workers;
# resuming one that was merely queued behind another run only queues its open batches twice, which is safe.
STALLED_AFTER = timedelta(minutes=10)
YEARS_OFFERED = 6  # a run for a month of the last six years


def month_label(month: date) -> str:
    return formats.date_format(month, "YEAR_MONTH_FORMAT")


def _moment(value) -> str:
    return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT") if value else "—"


def _user_or(user, default) -> str:
    return str(user) if user else default


class InspectAsEditURLFinder(ModelAdminURLFinder):
    """Statements and runs have no edit view: where Wagtail asks for an object's edit URL, it gets its page."""

    def construct_edit_url(self, instance):
        return reverse(self.edit_url_name, args=(quote(instance.pk),))


class NoGenericFormsViewSetMixin:
    """Only the views named in ``exposed_url_names`` (and the viewset's own) exist; the generic views' links to
    edit, delete, copy, history and usage are switched off, so no page offers a URL that is not there."""

    exposed_url_names = {"index", "index_results", "inspect"}
    copy_view_enabled = False
    inspect_view_enabled = True
    add_to_admin_menu = False  # in the "Programme" menu
    add_to_reference_index = False
    form_fields = []  # never offered, except where a viewset says so

    def get_common_view_kwargs(self, **kwargs):
        view_kwargs = super().get_common_view_kwargs(**kwargs)
        for url_name in ("add_url_name", "edit_url_name", "delete_url_name", "history_url_name", "usage_url_name"):
            if url_name.removesuffix("_url_name") not in self.exposed_url_names:
                view_kwargs[url_name] = None
        return view_kwargs

    @property
    def url_finder_class(self):
        return type("_InspectURLFinder", (InspectAsEditURLFinder,), {"edit_url_name": self.get_url_name("inspect")})

    def get_urlpatterns(self):
        return [pattern for pattern in super().get_urlpatterns() if pattern.name in self.exposed_url_names]


# --- Runs ------------------------------------------------------------------------------------------------


def with_progress(runs):
    """A run's progress is its batches': how many are done, and the statements the done ones made or found."""
    return runs.annotate(
        batches_total=Count("batches"),
        batches_done=Count("batches", filter=Q(batches__done_at__isnull=False)),
        statements_made=Coalesce(Sum("batches__made"), 0),
        statements_existing=Coalesce(Sum("batches__existing"), 0),
    )


def last_progress_at(run: StatementRun):
    """When the run last moved: it started, a batch finished, or one of its statements was stored."""
    batch_done = run.batches.aggregate(at=Max("done_at"))["at"]
    statement_made = Statement.objects.filter(run=run).aggregate(at=Max("made_at"))["at"]
    return max(moment for moment in (run.started_at, batch_done, statement_made) if moment is not None)


def may_resume(run: StatementRun) -> bool:
    return run.finished_at is None and last_progress_at(run) <= timezone.now() - STALLED_AFTER


class ProgressColumn(Column):
    cell_template_name = "statements/admin/progress_cell.html"

    def __init__(self, **kwargs):
        super().__init__("progress", label=_("Progress"), **kwargs)

    def get_cell_context_data(self, instance, parent_context):
        context = super().get_cell_context_data(instance, parent_context)
        context["run"] = instance
        context["done"] = instance.statements_made + instance.statements_existing
        return context


class MonthWidget(forms.MultiWidget):
    def __init__(self, years, attrs=None):
        super().__init__([forms.Select(choices=years), forms.Select(choices=list(MONTHS.items()))], attrs)

    def decompress(self, value):
        return [value.year, value.month] if value else [None, None]


class MonthField(forms.MultiValueField):
    """A month as a year and a month picked from lists; its first day."""

    def __init__(self, **kwargs):
        this_year = programme_today().year
        years = [(year, str(year)) for year in range(this_year, this_year - YEARS_OFFERED, -1)]
        fields = [
            forms.TypedChoiceField(choices=years, coerce=int),
            forms.TypedChoiceField(choices=list(MONTHS.items()), coerce=int),
        ]
        super().__init__(fields, widget=MonthWidget(years), **kwargs)

    def compress(self, data_list):
        if not data_list:
            return None
        year, month = data_list
        return date(int(year), int(month), 1)


class StartRunForm(WagtailAdminModelForm):
    month = MonthField(
        label=_("Month"),
        help_text=_(
            "A month that has ended. Only the statements that are missing are made: "
            "a statement made before stays as it is (regenerate it from its page)."
        ),
    )

    class Meta:
        model = StatementRun
        fields = ["month"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["month"].initial = services.last_month()


class RunIndexView(generic.IndexView):
    def get_base_queryset(self):
        return with_progress(super().get_base_queryset()).select_related("started_by").order_by("-started_at", "-pk")

    @cached_property
    def add_item_label(self):
        return _("Start a run for a past month")


class StartRunView(ServiceFormViewMixin, generic.CreateView):
    inspect_url_name = None
    page_title = _("Start a run for a past month")
    submit_button_label = _("Start the run")
    submit_button_active_label = _("Starting…")

    def save_instance(self):
        return services.start_run(self.form.cleaned_data["month"], by=self.request.user)

    def get_success_message(self, instance):
        if not instance.partners:
            return _("No partner to make statements of %(month)s for: none was active by the month's end.") % {
                "month": month_label(instance.month)
            }
        return _("The statements of %(month)s are being made for %(partners)s partners.") % {
            "month": month_label(instance.month),
            "partners": instance.partners,
        }

    def get_success_buttons(self):
        return []

    def get_success_url(self):
        return reverse(self.inspect_url_name, args=[quote(self.object.pk)])


class RunInspectView(generic.InspectView):
    template_name = "statements/admin/run_inspect.html"
    resume_url_name = None

    def get_object(self, queryset=None):
        return get_object_or_404(
            with_progress(runs_visible_to(self.request.user)).select_related("started_by"), pk=self.pk
        )

    def get_page_subtitle(self):
        return month_label(self.object.month)

    @cached_property
    def header_buttons(self):
        if self.user_has_permission("add") and may_resume(self.object):
            url = reverse(self.resume_url_name, args=[quote(self.object.pk)])
            return [HeaderButton(_("Resume"), url=url, icon_name="resubmit")]
        return []

    def get_month_display_value(self):
        return month_label(self.object.month)

    def get_started_at_display_value(self):
        return _moment(self.object.started_at)

    def get_started_by_display_value(self):
        return _user_or(self.object.started_by, _("Monthly schedule"))

    def get_finished_at_display_value(self):
        return _moment(self.object.finished_at) if self.object.finished_at else _("Not yet")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        run = self.object
        context.update(
            run=run,
            done=run.statements_made + run.statements_existing,
            batches=run.batches.order_by("pk")
            .annotate(partner_count=F("partner_ids__len"))
            .only("pk", "made", "existing", "done_at"),
        )
        return context


class ResumeRunView(PermissionCheckedMixin, WagtailAdminTemplateMixin, FormView):
    """GET asks to confirm; POST queues the run's open batches again (services.resume_run)."""

    model = StatementRun
    permission_required = "add"
    template_name = "statements/admin/resume.html"
    form_class = forms.Form
    page_title = _("Resume the run")
    header_icon = "resubmit"
    index_url_name = None
    inspect_url_name = None

    def setup(self, request, *args, pk, **kwargs):
        super().setup(request, *args, pk=pk, **kwargs)
        self.object = get_object_or_404(with_progress(runs_visible_to(request.user)), pk=pk)

    def get_page_subtitle(self):
        return month_label(self.object.month)

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse(self.index_url_name), "label": StatementRun._meta.verbose_name_plural.capitalize()},
            {"url": self.inspect_url, "label": month_label(self.object.month)},
            {"url": "", "label": self.get_page_title()},
        ]

    @cached_property
    def inspect_url(self):
        return reverse(self.inspect_url_name, args=[quote(self.object.pk)])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        run = self.object
        context.update(
            run=run,
            done=run.statements_made + run.statements_existing,
            may_resume=may_resume(run),
            inspect_url=self.inspect_url,
        )
        return context

    def form_valid(self, form):
        if not may_resume(self.object):
            messages.error(self.request, _("This run is finished or still moving: there is nothing to resume."))
            return redirect(self.inspect_url)
        queued = services.resume_run(self.object)
        messages.success(self.request, _("%(count)s open batches of the run are queued again.") % {"count": queued})
        return redirect(self.inspect_url)


class RunViewSet(PortfolioScopedViewSetMixin, NoGenericFormsViewSetMixin, ModelViewSet):
    model = StatementRun
    icon = "history"
    menu_label = _("Statement runs")
    exposed_url_names = {"index", "index_results", "add", "inspect"}
    index_view_class = RunIndexView
    add_view_class = StartRunView
    inspect_view_class = RunInspectView
    inspect_view_fields = ["month", "started_at", "started_by", "partners", "finished_at"]
    list_per_page = 30

    @property
    def list_display(self):
        return [
            TitleColumn(
                "month",
                label=_("Month"),
                accessor=lambda run: month_label(run.month),
                url_name=self.get_url_name("inspect"),
                sort_key="month",
            ),
            Column("started_at", label=_("Started"), accessor=lambda run: _moment(run.started_at)),
            Column(
                "started_by",
                label=_("Started by"),
                accessor=lambda run: _user_or(run.started_by, _("Monthly schedule")),
            ),
            Column("partners", label=_("Partners")),
            ProgressColumn(),
            Column("finished_at", label=_("Finished"), accessor=lambda run: _moment(run.finished_at)),
        ]

    def get_form_class(self, for_update=False):
        return StartRunForm

    def get_inspect_view_kwargs(self, **kwargs):
        return super().get_inspect_view_kwargs(resume_url_name=self.get_url_name("resume"), **kwargs)

    @cached_property
    def resume_view(self):
        return self.construct_view(
            ResumeRunView, index_url_name=self.get_url_name("index"), inspect_url_name=self.get_url_name("inspect")
        )

    def get_urlpatterns(self):
        return [*super().get_urlpatterns(), path("resume/<int:pk>/", self.resume_view, name="resume")]


# --- Statements ----------------------------------------------------------------------------------------


def short_checksum(checksum: str):
    return format_html('<code title="{}">{}…</code>', checksum, checksum[:12])


class StatementFilterSet(WagtailFilterSet):
    month = ChoiceFilter(label=_("Month"), choices=[])
    partner = ModelChoiceFilter(
        label=_("Partner"), queryset=lambda request: partners_visible_to(request.user), widget=PartnerChooserWidget
    )

    class Meta:
        model = Statement
        fields = ["month", "partner"]

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        months = statements_visible_to(request.user).order_by("-month").values_list("month", flat=True).distinct()
        self.filters["month"].extra["choices"] = [(month.isoformat(), month_label(month)) for month in months]


class StatementIndexView(generic.IndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().select_related("partner")


class DownloadColumn(Column):
    def __init__(self, url_name, **kwargs):
        super().__init__("download", label=_("PDF"), **kwargs)
        self.url_name = url_name

    def get_value(self, instance):
        return format_html(
            '<a href="{}" download>{}</a>', reverse(self.url_name, args=[quote(instance.pk)]), _("Download")
        )


class StatementInspectView(generic.InspectView):
    template_name = "statements/admin/statement_inspect.html"
    download_url_name = None
    download_version_url_name = None
    regenerate_url_name = None

    def get_object(self, queryset=None):
        return get_object_or_404(
            statements_visible_to(self.request.user).select_related("partner", "made_by", "run"), pk=self.pk
        )

    def get_page_subtitle(self):
        return f"{self.object.partner}, {month_label(self.object.month)}"

    @cached_property
    def header_buttons(self):
        pk = quote(self.object.pk)
        buttons = [HeaderButton(_("Download"), url=reverse(self.download_url_name, args=[pk]), icon_name="download")]
        if self.user_has_permission("change"):
            url = reverse(self.regenerate_url_name, args=[pk])
            buttons.append(HeaderButton(_("Regenerate"), url=url, icon_name="resubmit"))
        return buttons

    def get_month_display_value(self):
        return month_label(self.object.month)

    def get_made_at_display_value(self):
        return _moment(self.object.made_at)

    def get_made_by_display_value(self):
        return _user_or(self.object.made_by, _("The run"))

    def get_size_display_value(self):
        return filesizeformat(self.object.size)

    def get_run_display_value(self):
        return self.object.run or "—"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        statement = self.object
        context["versions"] = [
            SimpleNamespace(
                version=version,
                made_at=_moment(version.made_at),
                made_by=_user_or(version.made_by, _("The run")),
                replaced_at=_moment(version.replaced_at),
                replaced_by=_user_or(version.replaced_by, "—"),
                size=filesizeformat(version.size),
                checksum=short_checksum(version.checksum),
                url=reverse(self.download_version_url_name, args=[quote(statement.pk), version.version]),
            )
            for version in statement.versions.select_related("made_by", "replaced_by")
        ]
        context["checksum"] = statement.checksum
        return context


class StatementDownloadView(PermissionCheckedMixin, View):
    """The statement's newest PDF, or with `version` one of its earlier files; the portfolio gate has let the
    statement's id through already (PortfolioScopedViewMixin), and the lookup is scoped again here."""

    model = Statement
    any_permission_required = ["view", "change"]
    http_method_names = ["get", "head"]

    def get(self, request, pk, version=None):
        statement = get_object_or_404(statements_visible_to(request.user), pk=pk)
        if version is None or version == statement.version:
            return statement_file_response(statement)
        earlier = statement.versions.filter(version=version).first()
        if earlier is None:
            raise Http404
        return statement_file_response(earlier)


class RegenerateForm(forms.Form):
    resend = forms.BooleanField(label=_("E-mail the new statement to the company's contacts"), required=False)


class RegenerateView(PermissionCheckedMixin, WagtailAdminTemplateMixin, FormView):
    """GET shows the statement and asks; POST makes it again from the ledger as it is now
    (services.regenerate): the old file is kept as a version."""

    model = Statement
    permission_required = "change"
    template_name = "statements/admin/regenerate.html"
    form_class = RegenerateForm
    page_title = _("Regenerate the statement")
    header_icon = "resubmit"
    index_url_name = None
    inspect_url_name = None

    def setup(self, request, *args, pk, **kwargs):
        super().setup(request, *args, pk=pk, **kwargs)
        self.object = get_object_or_404(statements_visible_to(request.user).select_related("partner"), pk=pk)

    def get_page_subtitle(self):
        return f"{self.object.partner}, {month_label(self.object.month)}"

    @cached_property
    def inspect_url(self):
        return reverse(self.inspect_url_name, args=[quote(self.object.pk)])

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse(self.index_url_name), "label": Statement._meta.verbose_name_plural.capitalize()},
            {"url": self.inspect_url, "label": self.get_page_subtitle()},
            {"url": "", "label": self.get_page_title()},
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(statement=self.object, month=month_label(self.object.month), inspect_url=self.inspect_url)
        return context

    def form_valid(self, form):
        statement = services.regenerate(self.object, by=self.request.user, resend=form.cleaned_data["resend"])
        if form.cleaned_data["resend"]:
            message = _("Version %(version)s of the statement is made and is being e-mailed to the company.")
        else:
            message = _("Version %(version)s of the statement is made.")
        messages.success(self.request, message % {"version": statement.version})
        return redirect(self.inspect_url)


class StatementViewSet(PortfolioScopedViewSetMixin, NoGenericFormsViewSetMixin, ModelViewSet):
    model = Statement
    icon = "doc-full"
    menu_label = _("Statements")
    filterset_class = StatementFilterSet
    search_fields = ["partner__name", "partner__external_id"]
    search_backend_name = None
    index_view_class = StatementIndexView
    inspect_view_class = StatementInspectView
    inspect_view_fields = ["partner", "month", "version", "language", "made_at", "made_by", "size", "checksum", "run"]
    list_per_page = 50

    @property
    def list_display(self):
        return [
            "partner",
            Column("month", label=_("Month"), accessor=lambda s: month_label(s.month), sort_key="month"),
            Column("version", label=_("Version")),
            DateColumn("made_at", label=_("Made"), sort_key="made_at"),
            Column("size", label=_("Size"), accessor=lambda s: filesizeformat(s.size)),
            Column("checksum", label=_("SHA-256"), accessor=lambda s: short_checksum(s.checksum)),
            DownloadColumn(self.get_url_name("download")),
        ]

    def get_inspect_view_kwargs(self, **kwargs):
        return super().get_inspect_view_kwargs(
            download_url_name=self.get_url_name("download"),
            download_version_url_name=self.get_url_name("download_version"),
            regenerate_url_name=self.get_url_name("regenerate"),
            **kwargs,
        )

    @cached_property
    def download_view(self):
        return self.construct_view(StatementDownloadView)

    @cached_property
    def regenerate_view(self):
        return self.construct_view(
            RegenerateView, index_url_name=self.get_url_name("index"), inspect_url_name=self.get_url_name("inspect")
        )

    def get_urlpatterns(self):
        return [
            *super().get_urlpatterns(),
            path("download/<int:pk>/", self.download_view, name="download"),
            path("download/<int:pk>/v<int:version>/", self.download_view, name="download_version"),
            path("regenerate/<int:pk>/", self.regenerate_view, name="regenerate"),
        ]


run_viewset = RunViewSet("statement_run", url_prefix="statement-runs")
statement_viewset = StatementViewSet("statement", url_prefix="statements")
