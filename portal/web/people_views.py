"""Company people: the owner invites, resends, revokes, changes roles and removes; the invitee joins.

The company is always the signed-in owner's own (request.membership); an id in a URL is looked up only
among that company's invitations and people, so another company's id answers 404. Every change is a
use case of accounts.services or accounts.invitations, which checks the actor again.
"""

from functools import wraps

from allauth.account.utils import perform_login
from allauth.core import ratelimit
from django import forms
from django.contrib import messages
from django.contrib.auth import password_validation
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts import invitations, services
from accounts.decorators import member_required
from accounts.models import Invitation, Membership
from accounts.queries import open_invitations_of, people_of


def owner_required(view):
    """Only those who may manage the company's people; everyone else of the company gets 403."""

    @member_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.membership.may_manage_people:
            return render(request, "web/people/owners_only.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


class InviteForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("E-mail address"))
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=Membership.Role.choices)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=Membership.Role.choices)


def _show_errors(request, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


# --- the owner's page -----------------------------------------------------------------------------


@owner_required
def people(request):
    return _people_page(request, InviteForm())


def _people_page(request, invite_form, status=200):
    partner = request.membership.partner
    context = {
        "partner": partner,
        "people": people_of(partner),
        "invitations": open_invitations_of(partner),
        "invite_form": invite_form,
        "roles": Membership.Role.choices,
        "me": request.membership,
    }
    return render(request, "web/people/index.html", context, status=status)


def _may_send_an_invitation(request) -> bool:
    """Count one invitation against the company's and the person's limits (ACCOUNT_RATE_LIMITS["invite"]),
    kept in the cache by allauth's rate-limit helper: every address tried counts, refused or not."""
    partner_key = f"partner:{request.membership.partner_id}"
    return ratelimit.consume(request, action="invite", key=partner_key, user=request.user)


@require_POST
@owner_required
def invite(request):
    form = InviteForm(request.POST)
    if form.is_valid() and not _may_send_an_invitation(request):
        form.add_error(None, _("You have sent many invitations in the last hour. Try again later."))
        return _people_page(request, form, status=429)
    if form.is_valid():
        try:
            invitation = invitations.invite(
                request.membership.partner,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                acting_user=request.user,
            )
        except ValidationError as error:
            _add_form_errors(form, error)
        else:
            # The same words for every address: whether it can join is not the owner's to learn here.
            messages.success(
                request,
                _("If %(email)s can join your company, the invitation is on its way.") % {"email": invitation.email},
            )
            return redirect("web:people")
    return _people_page(request, form, status=400)


def _add_form_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


def _own_invitation(request, invitation_id) -> Invitation:
    return get_object_or_404(Invitation, pk=invitation_id, partner=request.membership.partner)


def _own_membership(request, membership_id) -> Membership:
    return get_object_or_404(
        Membership.objects.select_related("user"), pk=membership_id, partner=request.membership.partner
    )


@require_POST
@owner_required
def resend_invitation(request, invitation_id):
    invitation = _own_invitation(request, invitation_id)
    try:
        invitations.resend_invitation(invitation, acting_user=request.user)
    except ValidationError as error:
        _show_errors(request, error)
    else:
        messages.success(request, _("We sent the invitation to %(email)s again.") % {"email": invitation.email})
    return redirect("web:people")


@require_POST
@owner_required
def revoke_invitation(request, invitation_id):
    invitation = _own_invitation(request, invitation_id)
    try:
        invitations.revoke_invitation(invitation, acting_user=request.user)
    except ValidationError as error:
        _show_errors(request, error)
    else:
        messages.success(request, _("The invitation to %(email)s is withdrawn.") % {"email": invitation.email})
    return redirect("web:people")


@require_POST
@owner_required
def change_role(request, membership_id):
    membership = _own_membership(request, membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose one of the roles."))
        return redirect("web:people")
    try:
        membership = services.change_role(membership, role=form.cleaned_data["role"], acting_user=request.user)
    except ValidationError as error:
        _show_errors(request, error)
    else:
        messages.success(
            request,
            _("%(person)s is now %(role)s.") % {"person": membership.user, "role": membership.get_role_display()},
        )
    return redirect("web:people")


@owner_required
def remove_person(request, membership_id):
    """GET asks to confirm; POST removes."""
    membership = _own_membership(request, membership_id)
    if request.method != "POST":
        return render(request, "web/people/remove.html", {"person": membership})
    try:
        services.remove_from_company(membership, acting_user=request.user)
    except ValidationError as error:
        _show_errors(request, error)
        return redirect("web:people")
    if membership.user_id == request.user.pk:
        return redirect("account_login")  # removed themselves: their session has ended
    messages.success(request, _("%(person)s no longer has access to the company.") % {"person": membership.user})
    return redirect("web:people")


# --- the invitee ----------------------------------------------------------------------------------


class JoinForm(forms.Form):
    """A new person's name and password; the e-mail address is the invitation's and is not asked again."""

    first_name = forms.CharField(label=gettext_lazy("First name"), max_length=150)
    last_name = forms.CharField(label=gettext_lazy("Last name"), max_length=150)
    password1 = forms.CharField(
        label=gettext_lazy("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=gettext_lazy("Password (again)"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["password1"].help_text = password_validation.password_validators_help_text_html()

    def clean(self):
        data = super().clean()
        if data.get("password1") and data.get("password2") and data["password1"] != data["password2"]:
            self.add_error("password2", _("The two passwords differ."))
        return data


def invitation(request, token):
    """Where the invitation's link leads: join with a new password, or sign in and accept."""
    found = invitations.invitation_from_token(token)
    if found is None:
        return render(request, "web/people/invitation_closed.html", {"reason": _unknown_link()}, status=404)
    try:
        invitations.check_open(found)
    except ValidationError as error:
        return render(request, "web/people/invitation_closed.html", {"reason": error.messages[0]}, status=410)
    if request.user.is_authenticated:
        return _accept_signed_in(request, found)
    if invitations.may_join_with_password(found):
        return _join_with_password(request, found)
    login_url = reverse("account_login") + "?next=" + request.path
    context = {"invitation": found, "login_url": login_url}
    return render(request, "web/people/invitation_sign_in.html", context)


def _unknown_link() -> str:
    return _("This invitation link is not valid. It may have been replaced by a newer one: use the latest e-mail.")


def _accept_signed_in(request, found: Invitation):
    if request.user.email.lower() != found.email.lower():
        context = {"invitation": found}
        return render(request, "web/people/invitation_wrong_person.html", context, status=403)
    error = None
    if request.method == "POST":
        try:
            membership = invitations.accept_invitation(found, user=request.user)
        except (ValidationError, PermissionDenied) as refused:
            error = refused.messages[0] if isinstance(refused, ValidationError) else str(refused)
        else:
            messages.success(request, _("Welcome to %(partner)s.") % {"partner": membership.partner})
            return redirect("web:dashboard")
    context = {"invitation": found, "error": error}
    return render(request, "web/people/invitation_accept.html", context, status=400 if error else 200)


def _join_with_password(request, found: Invitation):
    form = JoinForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            membership = invitations.join_with_password(
                found,
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
                password=form.cleaned_data["password1"],
                language=translation.get_language(),
            )
        except ValidationError as error:
            _add_form_errors(form, _on_password(error))
        else:
            messages.success(request, _("Welcome to %(partner)s.") % {"partner": membership.partner})
            # allauth's own sign-in, so its stages (e-mail verification, second factor) and signals apply.
            return perform_login(request, membership.user, redirect_url=reverse("web:dashboard"))
    context = {"invitation": found, "form": form}
    return render(request, "web/people/invitation_join.html", context, status=400 if form.errors else 200)


def _on_password(error: ValidationError) -> ValidationError:
    """Password validators raise plain errors: show them under the password field."""
    if hasattr(error, "error_dict"):
        return error
    if any(e.code and e.code.startswith("password") for e in error.error_list):
        return ValidationError({"password1": error.error_list})
    return error
