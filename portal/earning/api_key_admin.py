"""The CMS pages where an administrator makes and revokes the ERP's API keys.

Keys are made and revoked through ``portal.earning.keys``. A new key's plaintext is rendered once,
in the response to the form that made it: never stored, never put in a message, a redirect or a
log, and no page can show it again. A key's page is where it is revoked; keys are never edited or
deleted, so the record of what could call the API stays.
"""

from django.contrib import messages
from django.contrib.admin.utils import quote
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy as _
from wagtail.admin.ui.menus import MenuItem
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.permission_policies import ModelPermissionPolicy

from portal.earning import keys
from portal.earning.models import ApiKey

MANAGE_KEYS = ["add", "change"]


class ApiKeyPermissionPolicy(ModelPermissionPolicy):
    """The model permissions (earning.add_apikey makes keys, earning.change_apikey revokes them), with
    delete refused to everyone, superusers included."""

    def user_has_permission(self, user, action):
        return action != "delete" and super().user_has_permission(user, action)

    def users_with_any_permission(self, actions):
        actions = [action for action in actions if action != "delete"]
        return super().users_with_any_permission(actions) if actions else get_user_model().objects.none()


api_key_permission_policy = ApiKeyPermissionPolicy(ApiKey)


class ApiKeyIndexView(generic.IndexView):
    any_permission_required = MANAGE_KEYS  # "view" alone is not enough to see which keys exist

    def get_list_more_buttons(self, instance):
        url = self.get_edit_url(instance)
        if url and instance.revoked_at is None:
            return [MenuItem(_("Revoke"), url=url, icon_name="cross", priority=10)]
        return []


class CreateApiKeyView(generic.CreateView):
    created_template_name = "earning/api_key_created.html"

    def form_valid(self, form):
        self.form = form
        try:
            self.object, plaintext = keys.create_api_key(name=form.cleaned_data["name"], created_by=self.request.user)
        except ValidationError as error:
            form.add_error(None, error)
            self.produced_error_message = self.get_error_message()
            return self.form_invalid(form)
        context = {**self.get_context_data(), "api_key": self.object, "plaintext": plaintext}
        response = TemplateResponse(self.request, self.created_template_name, context)
        add_never_cache_headers(response)  # no browser or proxy keeps a copy of the page with the key
        return response


class RevokeApiKeyView(generic.DeleteView):
    """A key's page: what it is, when it was used, and the button that revokes it."""

    permission_required = "change"
    template_name = "earning/api_key_revoke.html"
    page_title = _("Revoke API key")
    success_message = _("API key '%(object)s' revoked: calls signed with it are refused from now on.")

    def get_usage_url(self):
        return None

    def get_delete_url(self):
        return reverse(self.edit_url_name, args=(quote(self.object.pk),))

    def form_valid(self, form):
        keys.revoke_api_key(self.object, acting_user=self.request.user)
        messages.success(self.request, self.get_success_message())
        return redirect(self.get_success_url())


class ApiKeyViewSet(ModelViewSet):
    model = ApiKey
    name = "api_keys"
    icon = "key"
    menu_label = _("API keys")
    form_fields = ["name"]
    list_display = ["name", "prefix", "created_at", "last_used_at", "revoked_at"]
    index_view_class = ApiKeyIndexView
    add_view_class = CreateApiKeyView
    edit_view_class = RevokeApiKeyView
    copy_view_enabled = False
    inspect_view_enabled = False

    def get_edit_view_kwargs(self, **kwargs):
        return kwargs  # the revoke page has no form and its own template


api_key_viewset = ApiKeyViewSet()
