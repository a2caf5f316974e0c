"""The public application form: it carries what was typed to ``services.submit_application``, which checks
every field (one message per field); the form itself only adds the honeypot."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Partner

HONEYPOT = "website"


class ApplicationForm(forms.Form):
    company_name = forms.CharField(label=_("Company name"), required=False, max_length=400)
    registration_number = forms.CharField(
        label=_("Company registration number"),
        required=False,
        max_length=40,
        help_text=_("9 digits, as on the company's registration certificate."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "dir": "ltr"}),
    )
    contact_name = forms.CharField(
        label=_("Your name"), required=False, max_length=300, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    email = forms.CharField(
        label=_("E-mail address"),
        required=False,
        max_length=320,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "dir": "ltr"}),
    )
    phone = forms.CharField(
        label=_("Phone"),
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "dir": "ltr"}),
    )
    kind = forms.CharField(
        label=_("Kind of business"),
        required=False,
        widget=forms.Select(choices=[("", _("Choose…")), *Partner.Kind.choices]),
    )
    region = forms.CharField(label=_("Region"), required=False, max_length=200)
    language = forms.CharField(
        label=_("Language for our e-mails"),
        required=False,
        widget=forms.Select(choices=Partner.Language.choices),
    )
    code = forms.CharField(
        label=_("Referral code"),
        required=False,
        max_length=40,
        help_text=_("From the partner who referred you, if any."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "dir": "ltr"}),
    )
    # Hidden from people (and from screen readers); bots that fill every field fill it.
    website = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    def visible_fields(self):
        return [field for field in super().visible_fields() if field.name != HONEYPOT]
