"""Monthly statements: the stored statements and their runs, and the programme's statement branding (a setting)."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.files.storage import storages
from django.core.signals import setting_changed
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.dispatch import receiver
from django.utils.functional import LazyObject, empty
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


class _StatementStorage(LazyObject):
    """``storages["statements"]``, looked up when first used and again after STORAGES changes (tests)."""

    def _setup(self):
        self._wrapped = storages["statements"]


_statement_storage = _StatementStorage()


@receiver(setting_changed)
def _storages_changed(setting, **kwargs):
    if setting == "STORAGES":
        _statement_storage._wrapped = empty


def statement_storage():
    """Statements are kept apart from the public media: nothing serves this storage but the download views,
    which check who asks (``STORAGES["statements"]``)."""
    return _statement_storage


class StatementRun(models.Model):
    """A run of statements for a month: who started it, its batches and how far they got.

    The monthly schedule starts one on the 1st for every active partner; an account manager may start one for a
    past month (their portfolio's partners; administrators: all). Running a month again makes only the
    statements that are missing: a statement is unique per partner and month.
    """

    month = models.DateField(_("month"), help_text=_("The month's first day."))
    started_at = models.DateTimeField(_("started"), db_default=Now())
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("started by"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", help_text=_("Empty for the monthly schedule."),
    )  # fmt: skip
    partners = models.PositiveIntegerField(_("partners"), default=0)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("statement run")
        ordering = ["-started_at", "-pk"]

    def __str__(self):
        return f"{self.month:%Y-%m} ({self.started_at:%Y-%m-%d %H:%M})"


class StatementBatch(models.Model):
    """One Celery task's share of a run. ``done_at`` is set once, by the task that finished it; its counts are
    set, not added to, so a task run twice (a worker that died after its work) counts once."""

    run = models.ForeignKey(StatementRun, on_delete=models.CASCADE, related_name="batches")
    partner_ids = ArrayField(models.BigIntegerField())
    made = models.PositiveIntegerField(default=0, help_text="Statements this batch made.")
    existing = models.PositiveIntegerField(default=0, help_text="Statements that had been made before.")
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["run"], condition=Q(done_at__isnull=True), name="statement_batch_open_idx")]

    def __str__(self):
        return f"{self.run} batch {self.pk}"


class Statement(models.Model):
    """A partner's statement of a month: its PDF, the figures it shows, and the PDF's SHA-256.

    One per partner and month. Regenerating it keeps the old file as a ``StatementVersion`` and puts the new
    one here, so the partner always downloads the newest.
    """

    partner = models.ForeignKey("accounts.Partner", verbose_name=_("partner"), on_delete=models.PROTECT,
                                related_name="statements")  # fmt: skip
    month = models.DateField(_("month"), help_text=_("The month's first day."))
    language = models.CharField(_("language"), max_length=8)
    file = models.FileField(_("file"), storage=statement_storage, max_length=200)
    checksum = models.CharField(_("SHA-256"), max_length=64)
    size = models.PositiveIntegerField(_("size"), default=0)
    figures = models.JSONField(_("figures"), default=dict)
    version = models.PositiveIntegerField(_("version"), default=1)
    made_at = models.DateTimeField(_("made"), db_default=Now())
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("made by"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    run = models.ForeignKey(StatementRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("statement")
        ordering = ["-month", "partner_id"]
        constraints = [models.UniqueConstraint(fields=["partner", "month"], name="statement_one_per_partner_month")]
        indexes = [models.Index(fields=["month", "partner"], name="statement_month_idx")]

    def __str__(self):
        return f"{self.partner_id} {self.month:%Y-%m}"

    @property
    def filename(self) -> str:
        return f"statement-{self.month:%Y-%m}-{self.partner_id}.pdf"


class StatementVersion(models.Model):
    """A statement's earlier file, kept when an account manager regenerated it."""

    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    file = models.FileField(storage=statement_storage, max_length=200)
    checksum = models.CharField(max_length=64)
    size = models.PositiveIntegerField(default=0)
    figures = models.JSONField(default=dict)
    language = models.CharField(max_length=8)
    made_at = models.DateTimeField()
    made_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")  # fmt: skip
    replaced_at = models.DateTimeField(db_default=Now())
    replaced_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")  # fmt: skip

    class Meta:
        ordering = ["-version"]
        constraints = [models.UniqueConstraint(fields=["statement", "version"], name="statement_version_unique")]

    def __str__(self):
        return f"{self.statement} v{self.version}"

    @property
    def filename(self) -> str:
        return self.statement.filename.removesuffix(".pdf") + f"-v{self.version}.pdf"
