"""The CMS side of ``portal.workflow``: one step page, one queue, one next-steps column, one set of inspect buttons.

Each is read from a model's transition table, so the CMS offers a step exactly when its service would take
it, and a new workflow (referral review, prize draws) gets its pages by declaring its step views. A step
page shows the object (the model's template fills ``{% block details %}`` of ``workflow/step.html``), asks
for a note and, on POST, takes the step through the table's service, which checks who may do what again; the
view turns its refusals into form errors. Like ``portal.workflow`` this module imports no app.
"""

from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied, ValidationError
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.views.generic.edit import FormView
from wagtail.admin import messages
from wagtail.admin.ui.tables import Column
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.views.generic.permissions import PermissionCheckedMixin
from wagtail.admin.widgets.button import HeaderButton

from portal.workflow import Workflow


class StepView(PermissionCheckedMixin, WagtailAdminTemplateMixin, FormView):
    """GET shows the object and asks for a note; POST takes the step `step` of `flow` through its service.

    A model's subclass gives the queryset the viewer sees, its template and its breadcrumbs; a subclass per
    step gives the step's name, its form and its wording (`aria_label` and `success_message` name the object
    by `context_object_name`, as the model's own messages do).
    """

    template_name = "workflow/step.html"
    flow: Workflow = None
    step: str = None
    context_object_name: str = None
    index_url_name = None
    queue_url_name = None
    inspect_url_name = None
    submit_label = None
    success_message = None
    icon = None  # of the step's button on the inspect page
    one_click = False  # offered in the queue as a button that posts at once (the note is optional)
    aria_label = None  # of the step's button in the queue, e.g. "Approve %(redemption)s"

    def setup(self, request, *args, pk, **kwargs):
        super().setup(request, *args, pk=pk, **kwargs)
        self.object = get_object_or_404(self.get_queryset(), pk=pk)

    def get_queryset(self):
        raise NotImplementedError

    def get_page_subtitle(self):
        return str(self.object)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["object"] = context[self.context_object_name] = self.object
        context["next_url"] = self.request.POST.get("next") or self.request.GET.get("next", "")
        context["inspect_url"] = reverse(self.inspect_url_name, args=[quote(self.object.pk)])
        context["may_take_step"] = self.flow.may(self.object, self.step, self.request.user)
        context["why_not"] = "" if context["may_take_step"] else self.get_why_not()
        return context

    def get_why_not(self) -> str:
        """A line for the viewer who may not take the step (the requester of an adjustment), if any."""
        return ""

    def take_step(self, form) -> None:
        """Take the step through its service; a step whose form asks for more than a note passes it here."""
        self.flow[self.step].execute(self.object, actor=self.request.user, note=form.cleaned_data["note"])

    def form_valid(self, form):
        try:
            self.take_step(form)
        except PermissionDenied as error:
            form.add_error(None, str(error) or _("You may not take this step."))
            return self.form_invalid(form)
        except ValidationError as error:
            if hasattr(error, "error_dict"):  # a service's per-field refusal: under the form's field, if it has it
                for field, errors in error.error_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error(None, error)
            return self.form_invalid(form)
        self.object.refresh_from_db()
        messages.success(self.request, self.success_message % {self.context_object_name: self.object})
        return redirect(self.get_success_url())

    def get_success_url(self):
        wanted = self.request.POST.get("next", "")
        return wanted if wanted.startswith(reverse(self.queue_url_name)) else self.get_default_success_url()

    def get_default_success_url(self):
        return reverse(self.inspect_url_name, args=[quote(self.object.pk)])


class NextStepsColumn(Column):
    """The steps the viewer may take from the row: one-click steps post from the row, others open their page."""

    cell_template_name = "workflow/next_steps_cell.html"

    def __init__(self, viewset, name="next_step", label=None, **kwargs):
        super().__init__(name, label=label or _("Next step"), **kwargs)
        self.viewset = viewset

    def get_steps(self, instance, user):
        return self.viewset.flow.next_steps(instance, user)

    def get_waiting_note(self, instance, user) -> str:
        """What the row says when the viewer may take no step, if anything."""
        return ""

    def get_cell_context_data(self, instance, parent_context):
        context = super().get_cell_context_data(instance, parent_context)
        request = parent_context["request"]
        queue = reverse(self.viewset.get_url_name("queue"))  # also when rendered by the results fragment
        context["next_url"] = f"{queue}?{request.GET.urlencode()}" if request.GET else queue
        context["steps"] = [
            self.viewset.offered_step(transition, instance) for transition in self.get_steps(instance, request.user)
        ]
        context["one_click"] = next((step for step in context["steps"] if step["one_click"]), None)
        if context["one_click"]:
            context["csrf_token"] = get_token(request)
        if not context["steps"]:
            context["waiting_note"] = self.get_waiting_note(instance, request.user)
        return context


class NextStepsInspectMixin:
    """The inspect page's header offers the viewer's next steps, each opening its step page."""

    viewset = None

    @cached_property
    def header_buttons(self):
        return [
            HeaderButton(step["label"], url=step["url"], icon_name=step["icon"])
            for step in map(
                lambda transition: self.viewset.offered_step(transition, self.object),
                self.viewset.flow.next_steps(self.object, self.request.user),
            )
        ]


class QueueButtonMixin:
    """For a listing: a header button to the queue of what waits on a step."""

    queue_url_name = None

    @cached_property
    def header_buttons(self):
        buttons = super().header_buttons
        if self.queue_url_name:
            buttons.append(HeaderButton(_("Awaiting approval"), url=reverse(self.queue_url_name), icon_name="time"))
        return buttons


class QueueMixin:
    """For the listing's queue: the objects in a state some step of the CMS's leaves, under the listing."""

    listing_url_name = None
    listing_label = None
    waiting_states: tuple = ()
    state_field = "status"

    def get_breadcrumbs_items(self):
        *home, current = super().get_breadcrumbs_items()
        return [*home, {"url": reverse(self.listing_url_name), "label": self.listing_label}, current]

    def get_base_queryset(self):
        return super().get_base_queryset().filter(**{f"{self.state_field}__in": self.waiting_states})

    @cached_property
    def header_buttons(self):
        return []


class WorkflowViewSetMixin:
    """For a ModelViewSet: a step page per transition (``<step>/<pk>/``, named after the step) and the queue
    (``queue/``) of what waits on one, its listing ordered oldest first by `queue_ordering`."""

    flow: Workflow = None
    step_views: tuple = ()  # a StepView subclass per step the CMS takes, each naming its `step`
    queue_view_class = None
    queue_list_display: list = []
    queue_filterset_class = None
    queue_ordering = None

    def get_index_view_kwargs(self, **kwargs):
        return super().get_index_view_kwargs(**{"queue_url_name": self.get_url_name("queue"), **kwargs})

    def queue_view(self, **kwargs):
        sources = {state for view in self.step_views for state in self.flow[view.step].sources}
        return self.construct_view(
            self.queue_view_class,
            **self.get_index_view_kwargs(
                index_url_name=self.get_url_name("queue"),
                index_results_url_name=self.get_url_name("queue_results"),
                listing_url_name=self.get_url_name("index"),
                listing_label=self.menu_label,
                waiting_states=tuple(sorted(sources)),
                state_field=self.flow.state,
                list_display=self.get_queue_list_display(),
                filterset_class=self.queue_filterset_class,
                default_ordering=self.queue_ordering,
                **kwargs,
            ),
        )

    def get_queue_list_display(self):
        return self.queue_list_display

    def step_view(self, view_class):
        return self.construct_view(
            view_class,
            index_url_name=self.get_url_name("index"),
            queue_url_name=self.get_url_name("queue"),
            inspect_url_name=self.get_url_name("inspect"),
        )

    def get_workflow_urlpatterns(self):
        return [
            path("queue/", self.queue_view(), name="queue"),
            path("queue/results/", self.queue_view(results_only=True), name="queue_results"),
            *(
                path(f"{view_class.step}/<int:pk>/", self.step_view(view_class), name=view_class.step)
                for view_class in self.step_views
            ),
        ]

    def get_inspect_view_kwargs(self, **kwargs):
        return super().get_inspect_view_kwargs(viewset=self, **kwargs)

    def offered_step(self, transition, instance) -> dict:
        """What a button for `transition` on `instance` needs: its label, page, icon, accessible name."""
        view_class = next(view for view in self.step_views if view.step == transition.name)
        return {
            "name": transition.name,
            "label": transition.label,
            "url": reverse(self.get_url_name(transition.name), args=[quote(instance.pk)]),
            "icon": view_class.icon,
            "one_click": view_class.one_click,
            "aria_label": view_class.aria_label % {view_class.context_object_name: instance},
        }
