"""The programme's statement branding (a setting in the CMS)."""

from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.contrib.settings.models import BaseGenericSetting, register_setting

from portal.languages import in_language

_COLOUR = RegexValidator(r"^#[0-9a-fA-F]{6}$", _("A colour as #rrggbb."))


@register_setting(icon="doc-full")
class StatementBranding(BaseGenericSetting):
    """How the vendor's statements look: its name, logo and colours."""

    vendor_name = models.CharField(_("vendor name"), max_length=100, default="Partner Programme")
    vendor_name_he = models.CharField(_("vendor name in Hebrew"), max_length=100, blank=True)
    logo = models.ForeignKey(
        "wagtailimages.Image", verbose_name=_("logo"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    colour = models.CharField(_("main colour"), max_length=7, default="#1d4ed8", validators=[_COLOUR])
    accent_colour = models.CharField(_("accent colour"), max_length=7, default="#f59e0b", validators=[_COLOUR])

    panels = [
        MultiFieldPanel([FieldPanel("vendor_name"), FieldPanel("vendor_name_he")], heading=_("Name")),
        FieldPanel("logo"),
        MultiFieldPanel([FieldPanel("colour"), FieldPanel("accent_colour")], heading=_("Colours")),
    ]

    class Meta:
        verbose_name = _("statement branding")

    @property
    def display_name(self) -> str:
        return in_language(self.vendor_name, self.vendor_name_he)
