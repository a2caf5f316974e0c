"""The account managers' CMS for partners and their people, scoped to the manager's portfolio.

Wagtail's viewsets filter only their listing by `get_queryset`; the edit, delete, inspect, history,
usage, copy and chooser views each load any object by id in their own way. So scoping is done once,
outside those lookups:

- `PortfolioPermissionPolicy` is the registered Wagtail permission policy of Partner and Membership:
  the groups' model permissions, narrowed to `partners_visible_to` / `memberships_visible_to`. Wagtail
  itself consults it too (edit links in the admin URL finder, its actions).
- `PortfolioScopedViewSetMixin.construct_view` wraps every view a viewset builds, present or future,
  in `PortfolioScopedViewMixin`, which answers 404 for any URL `pk` outside the policy's instances
  before the view loads anything, and narrows the listings (index, results, chooser) to them.

Writes go through accounts.services; these views only translate forms into those calls.
"""

from functools import wraps

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db.models import ProtectedError, Q
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django_filters import ModelChoiceFilter
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.ui.tables import Column
from wagtail.admin.views import generic
from wagtail.admin.viewsets.chooser import ChooserViewSet
from wagtail.admin.viewsets.model import ModelViewSet, ModelViewSetGroup
from wagtail.admin.widgets.chooser import BaseChooser
from wagtail.coreutils import resolve_model_string
from wagtail.permission_policies import ModelPermissionPolicy
from wagtail.permissions import policy_registry

from accounts import services
from accounts.models import Membership, Partner, User
from accounts.queries import memberships_visible_to, partners_visible_to, sees_all_partners

ANY_ACTION = ["add", "change", "delete", "view"]


# --- Permission policies -------------------------------------------------------------------


class PortfolioPermissionPolicy(ModelPermissionPolicy):
    """Model permissions from the user's groups, on only the instances `visible_to(user)` returns."""

    def __init__(self, model, *, visible_to):
        super().__init__(model)
        self.visible_to = visible_to

    def _is_visible(self, user, instance):
        return instance.pk is not None and self.visible_to(user).filter(pk=instance.pk).exists()

    def user_has_permission_for_instance(self, user, action, instance):
        return self.user_has_permission(user, action) and self._is_visible(user, instance)

    def user_has_any_permission_for_instance(self, user, actions, instance):
        return self.user_has_any_permission(user, actions) and self._is_visible(user, instance)

    def instances_user_has_any_permission_for(self, user, actions):
        if not self.user_has_any_permission(user, actions):
            return self.model._default_manager.none()
        return self.visible_to(user)


class AdministratorsOnlyUserPolicy(ModelPermissionPolicy):
    """Wagtail's Users admin lists every partner's people, so only administrators get it,
    whatever user permissions a group may have been given by mistake."""

    def user_has_permission(self, user, action):
        return sees_all_partners(user) and super().user_has_permission(user, action)

    def users_with_any_permission(self, actions):
        sees_all = Q(is_superuser=True) | Q(
            user_permissions__content_type__app_label="accounts", user_permissions__codename="view_all_partners"
        )
        sees_all |= Q(
            groups__permissions__content_type__app_label="accounts", groups__permissions__codename="view_all_partners"
        )
        return super().users_with_any_permission(actions).filter(pk__in=User.objects.filter(sees_all).values("pk"))


partner_permission_policy = PortfolioPermissionPolicy(Partner, visible_to=partners_visible_to)
membership_permission_policy = PortfolioPermissionPolicy(Membership, visible_to=memberships_visible_to)


# --- Scoping every view of a viewset ----------------------------------------------------------


class PortfolioScopedViewMixin:
    """Confines a Wagtail view to the instances its model's PortfolioPermissionPolicy grants the user."""

    scoped_url_kwarg = "pk"

    @cached_property
    def scoped_model(self):
        return resolve_model_string(self.model)

    def visible_objects(self, user=None):
        policy = policy_registry.get_by_type(self.scoped_model)
        return policy.instances_user_has_any_permission_for(user or self.request.user, ANY_ACTION)

    def setup(self, request, *args, **kwargs):
        # Before the view's own setup, which loads (and for a delete, inspects the usage of) the object.
        pk = kwargs.get(self.scoped_url_kwarg)
        if pk is not None and not self._visible_pk(request.user, unquote(str(pk))):
            raise Http404
        super().setup(request, *args, **kwargs)

    def _visible_pk(self, user, pk):
        try:
            return self.visible_objects(user).filter(pk=pk).exists()
        except (ValueError, ValidationError):  # a malformed id, e.g. in the chooser's <str:pk>
            return False

    def narrow(self, queryset):
        # History lists the log entries of an object that has passed the gate in setup(); leave those be.
        if queryset.model is not self.scoped_model:
            return queryset
        return queryset.filter(pk__in=self.visible_objects().values("pk"))

    def get_base_queryset(self):  # the index listing and its results/ fragment
        return self.narrow(super().get_base_queryset())

    def get_object_list(self):  # the chooser's listing and its results/ fragment
        return self.narrow(super().get_object_list())

    def get_objects(self, pks):  # the chooser's chosen-multiple
        return self.narrow(super().get_objects(pks))


class PortfolioScopedViewSetMixin:
    """Wraps every view the viewset constructs in PortfolioScopedViewMixin, so none can be missed."""

    def construct_view(self, view_class, **kwargs):
        model = resolve_model_string(self.model)
        if not isinstance(policy_registry.get_by_type(model, fallback=False), PortfolioPermissionPolicy):
            raise ImproperlyConfigured(f"Register a PortfolioPermissionPolicy for {model.__name__} before its viewset.")
        if not issubclass(view_class, PortfolioScopedViewMixin):
            view_class = type(view_class.__name__, (PortfolioScopedViewMixin, view_class), {})
        return super().construct_view(view_class, **kwargs)


class ServiceFormViewMixin:
    """A create or edit view whose save is a service call: a ValidationError from the service is
    shown on the form like any other."""

    def form_valid(self, form):
        try:
            return super().form_valid(form)
        except ValidationError as error:
            form.add_error(None, error)
            self.produced_error_code = "validation_error"
            self.produced_error_message = self.get_error_message()
            return self.form_invalid(form)


class ServiceDeleteViewMixin:
    """A delete view whose delete is a service call; a partner the ledger or orders protect is refused politely."""

    def form_valid(self, form):
        try:
            return super().form_valid(form)
        except ProtectedError:
            messages.error(
                self.request,
                _("%(object)s has points or orders on record and cannot be deleted. Suspend it instead.")
                % {"object": self.object},
            )
            return redirect(reverse(self.edit_url_name, args=[quote(self.object.pk)]))


# --- Partners ---------------------------------------------------------------------------------

PARTNER_FIELDS = [
    "name",
    "external_id",
    "registration_number",
    "kind",
    "region",
    "language",
    "status",
    "account_manager",
    "tags",
]


class PartnerChooserWidgetBase(BaseChooser):
    """Displays a chosen partner only if the form field offers it, so a refused id sent back in a
    re-rendered form names nothing."""

    def get_instance(self, value):
        queryset = getattr(getattr(self, "choices", None), "queryset", None)
        if value is None or queryset is None or isinstance(value, self.model_class):
            return super().get_instance(value)
        try:
            return queryset.filter(pk=value).first()
        except (ValueError, ValidationError):
            return None


class PartnerChooserViewSet(PortfolioScopedViewSetMixin, ChooserViewSet):
    model = Partner
    icon = "group"
    choose_one_text = _("Choose a partner")
    choose_another_text = _("Choose another partner")
    edit_item_text = _("Edit this partner")
    base_widget_class = PartnerChooserWidgetBase

    def get_urlpatterns(self):
        # Partners are created through the partners' own form (and its rules), not from a chooser.
        return [pattern for pattern in super().get_urlpatterns() if pattern.name != "create"]


partner_chooser_viewset = PartnerChooserViewSet("partner_chooser", url_prefix="partner-chooser")
PartnerChooserWidget = partner_chooser_viewset.widget_class


class PartnerForm(WagtailAdminModelForm):
    class Meta:
        model = Partner
        fields = PARTNER_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["account_manager"]
        assignable = services.assignable_account_managers(self.for_user)
        current = self.instance.account_manager_id
        field.queryset = User.objects.filter(Q(pk__in=assignable.values("pk")) | Q(pk=current)).order_by("email")
        field.required = not services.may_leave_partner_unmanaged(self.for_user)
        if field.required:
            field.empty_label = None
            field.initial = field.initial or self.for_user.pk


class PartnerIndexView(generic.IndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().select_related("account_manager")


class PartnerCreateView(ServiceFormViewMixin, generic.CreateView):
    def save_instance(self):
        data = self.form.cleaned_data
        return services.create_partner(**{name: data[name] for name in PARTNER_FIELDS}, acting_user=self.request.user)


class PartnerEditView(ServiceFormViewMixin, generic.EditView):
    def save_instance(self):
        data = self.form.cleaned_data
        return services.update_partner(
            self.object, **{name: data[name] for name in PARTNER_FIELDS}, acting_user=self.request.user
        )


class PartnerDeleteView(ServiceDeleteViewMixin, generic.DeleteView):
    def delete_action(self):
        services.delete_partner(self.object, acting_user=self.request.user)


class PartnerViewSet(PortfolioScopedViewSetMixin, ModelViewSet):
    model = Partner
    icon = "group"
    menu_label = _("Partners")
    add_to_admin_menu = False
    inspect_view_enabled = True
    copy_view_enabled = False  # external_id and registration_number are unique: a copy is never valid as is
    list_display = ["name", "external_id", "kind", "region", "status", "account_manager"]
    list_filter = {"kind": ["exact"], "region": ["icontains"], "status": ["exact"], "language": ["exact"]}
    search_fields = ["name", "external_id", "registration_number"]
    search_backend_name = None
    inspect_view_fields = [*PARTNER_FIELDS, "created_at"]
    index_view_class = PartnerIndexView
    add_view_class = PartnerCreateView
    edit_view_class = PartnerEditView
    delete_view_class = PartnerDeleteView

    def get_form_class(self, for_update=False):
        return PartnerForm


# --- People -----------------------------------------------------------------------------------


class MembershipCreateForm(WagtailAdminModelForm):
    email = forms.EmailField(label=_("e-mail address"))
    first_name = forms.CharField(label=_("first name"), max_length=150)
    last_name = forms.CharField(label=_("last name"), max_length=150)

    class Meta:
        model = Membership
        fields = ["partner", "role"]
        widgets = {"partner": PartnerChooserWidget}

    field_order = ["email", "first_name", "last_name", "partner", "role"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partner"].queryset = partners_visible_to(self.for_user)


class MembershipEditForm(WagtailAdminModelForm):
    first_name = forms.CharField(label=_("first name"), max_length=150)
    last_name = forms.CharField(label=_("last name"), max_length=150)

    class Meta:
        model = Membership
        fields = ["role"]

    field_order = ["first_name", "last_name", "role"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["first_name"].initial = self.instance.user.first_name
        self.fields["last_name"].initial = self.instance.user.last_name


class MembershipFilterSet(WagtailFilterSet):
    partner = ModelChoiceFilter(label=_("Partner"), queryset=lambda request: partners_visible_to(request.user))

    class Meta:
        model = Membership
        fields = ["partner", "role"]


class MembershipIndexView(generic.IndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().select_related("user", "partner")


class MembershipCreateView(ServiceFormViewMixin, generic.CreateView):
    def save_instance(self):
        data = self.form.cleaned_data
        return services.add_member(
            data["partner"],
            email=data["email"],
            first_name=data["first_name"],
            last_name=data["last_name"],
            role=data["role"],
            acting_user=self.request.user,
        )


class MembershipEditView(ServiceFormViewMixin, generic.EditView):
    def get_queryset(self):
        return super().get_queryset().select_related("user", "partner")

    def save_instance(self):
        data = self.form.cleaned_data
        return services.update_member(
            self.object,
            first_name=data["first_name"],
            last_name=data["last_name"],
            role=data["role"],
            acting_user=self.request.user,
        )


class MembershipDeleteView(generic.DeleteView):
    def delete_action(self):
        services.remove_member(self.object, acting_user=self.request.user)

    def form_valid(self, form):
        try:
            return super().form_valid(form)
        except ValidationError as refusal:  # e.g. the company's last owner
            messages.error(self.request, " ".join(refusal.messages))
            return redirect(reverse(self.edit_url_name, args=[quote(self.object.pk)]))


class MembershipViewSet(PortfolioScopedViewSetMixin, ModelViewSet):
    model = Membership
    icon = "user"
    menu_label = _("People")
    copy_view_enabled = False  # a person belongs to one company
    list_display = ["user", Column("email", label=_("e-mail address"), accessor="user.email"), "partner", "role"]
    filterset_class = MembershipFilterSet
    search_fields = ["user__email", "user__first_name", "user__last_name", "partner__name"]
    search_backend_name = None
    index_view_class = MembershipIndexView
    add_view_class = MembershipCreateView
    edit_view_class = MembershipEditView
    delete_view_class = MembershipDeleteView

    def get_form_class(self, for_update=False):
        return MembershipEditForm if for_update else MembershipCreateForm


class PartnersViewSetGroup(ModelViewSetGroup):
    menu_label = _("Partners")
    menu_icon = "group"
    menu_order = 200
    items = (PartnerViewSet("partner", url_prefix="partners"), MembershipViewSet("membership", url_prefix="people"))


def administrators_only(view):
    """Wagtail's site-wide reports list every log entry of a model the user has any permission on,
    whatever its portfolio: only people who see every partner may open them."""

    @wraps(view)
    def guarded(request, *args, **kwargs):
        if not sees_all_partners(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return guarded
