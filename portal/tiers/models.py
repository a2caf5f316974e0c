"""Tier definitions, the programme's tier and expiry settings, and each partner's status with its history."""

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.contrib.settings.models import BaseGenericSetting, register_setting

from portal.languages import in_language
from portal.ledger.models import Code


def default_qualifying_codes() -> list[str]:
    return [Code.ORDER.value, Code.EARLY_PAYMENT.value]


# Codes that may count towards a tier: what a partner earns. Redemptions and expiries never lower it.
QUALIFYING_CHOICES = [
    (code.value, code.label)
    for code in (Code.ORDER, Code.EARLY_PAYMENT, Code.CONTENT, Code.REFERRAL, Code.WELCOME, Code.CAMPAIGN)
]


class Tier(models.Model):
    """A status a partner reaches with qualifying points over the last twelve months."""

    name = models.CharField(_("name"), max_length=40, unique=True)
    name_he = models.CharField(_("name in Hebrew"), max_length=40, blank=True)
    threshold = models.PositiveBigIntegerField(
        _("qualifying points"),
        unique=True,
        help_text=_("Qualifying points over the last 12 months to reach this tier. The base tier has 0."),
    )
    multiplier = models.DecimalField(
        _("order points multiplier"),
        max_digits=4,
        decimal_places=2,
        default=Decimal("1.00"),
        validators=[MinValueValidator(Decimal("1.00")), MaxValueValidator(Decimal("10.00"))],
        help_text=_("Order points are multiplied by this (1.25 gives a quarter more)."),
    )
    benefits = models.TextField(_("benefits"), blank=True, help_text=_("What the tier gives, one per line."))
    benefits_he = models.TextField(_("benefits in Hebrew"), blank=True)
    colour = models.CharField(
        _("badge colour"),
        max_length=7,
        default="#6b7280",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", _("A colour as #rrggbb."))],
    )

    panels = [
        MultiFieldPanel([FieldPanel("name"), FieldPanel("name_he")], heading=_("Name")),
        FieldPanel("threshold"),
        FieldPanel("multiplier"),
        MultiFieldPanel([FieldPanel("benefits"), FieldPanel("benefits_he")], heading=_("Benefits")),
        FieldPanel("colour"),
    ]

    class Meta:
        ordering = ["threshold"]
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")

    def __str__(self):
        return self.name

    @property
    def display_name(self) -> str:
        return in_language(self.name, self.name_he)

    @property
    def benefit_lines(self) -> list[str]:
        text = in_language(self.benefits, self.benefits_he)
        return [line.strip() for line in text.splitlines() if line.strip()]


@register_setting(icon="pick")
class TierSettings(BaseGenericSetting):
    """How tiers are reached and kept, and when points expire."""

    qualifying_codes = ArrayField(
        models.CharField(max_length=20, choices=QUALIFYING_CHOICES),
        verbose_name=_("points that qualify"),
        default=default_qualifying_codes,
        help_text=_("Points of these kinds count towards a tier, net of returns. Redemptions never lower it."),
    )
    grace_months = models.PositiveSmallIntegerField(
        _("grace period (months)"),
        default=2,
        validators=[MaxValueValidator(24)],
        help_text=_("Monthly reviews a partner may stay below its tier's points before it moves down."),
    )
    expiry_months = models.PositiveSmallIntegerField(
        _("points expire after (months)"),
        default=24,
        validators=[MaxValueValidator(120)],
        help_text=_("Points expire this many months after they became available, oldest first. 0: never."),
    )
    expiry_warning_days = models.PositiveSmallIntegerField(
        _("warn of expiry (days before)"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text=_("The company's contacts are e-mailed this many days before points expire."),
    )

    panels = [
        MultiFieldPanel([FieldPanel("qualifying_codes"), FieldPanel("grace_months")], heading=_("Tiers")),
        MultiFieldPanel([FieldPanel("expiry_months"), FieldPanel("expiry_warning_days")], heading=_("Expiry")),
    ]

    class Meta:
        verbose_name = _("tiers and expiry")


class GrantQuerySet(models.QuerySet):
    def running_on(self, day):
        return self.filter(starts_on__lte=day, ends_on__gte=day).exclude(ended_early_on__lte=day)


class TierGrant(models.Model):
    """A tier given to a partner for a period by an account manager (a status match), with its reason."""

    partner = models.ForeignKey("accounts.Partner", on_delete=models.CASCADE, related_name="tier_grants")
    tier = models.ForeignKey(Tier, verbose_name=_("tier"), on_delete=models.PROTECT, related_name="grants")
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"), help_text=_("The last day the partner holds the granted tier."))
    reason = models.CharField(_("reason"), max_length=300)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    ended_early_on = models.DateField(_("ended early on"), null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = GrantQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_on", "-pk"]
        constraints = [models.CheckConstraint(condition=Q(ends_on__gte=models.F("starts_on")), name="grant_ends_after")]
        verbose_name = _("tier grant")
        verbose_name_plural = _("tier grants")

    def __str__(self):
        return f"{self.tier} for {self.partner} until {self.ends_on}"


class PartnerTier(models.Model):
    """A partner's tier now: the one its points earned (kept through the grace period) or a grant above it."""

    partner = models.OneToOneField("accounts.Partner", on_delete=models.CASCADE, related_name="tier_status")
    tier = models.ForeignKey(Tier, on_delete=models.PROTECT, related_name="+", help_text=_("The tier it holds now."))
    earned_tier = models.ForeignKey(Tier, on_delete=models.PROTECT, related_name="+")
    grant = models.ForeignKey(TierGrant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    qualifying_points = models.BigIntegerField(default=0, help_text=_("At the last run."))
    # Monthly reviews in a row at which the points were below the earned tier's; past the grace, it moves down.
    reviews_below = models.PositiveSmallIntegerField(default=0)
    # The review that moves it down unless it earns enough before: the company was told at the one before.
    downgrade_on = models.DateField(null=True, blank=True)
    reviewed_on = models.DateField(null=True, blank=True)
    since = models.DateField()

    class Meta:
        verbose_name = _("partner tier")

    def __str__(self):
        return f"{self.partner}: {self.tier}"


class TierChange(models.Model):
    """Every change of a partner's tier, with its reason: the history shown in the portal and the CMS."""

    class Reason(models.TextChoices):
        JOINED = "joined", _("Joined the programme")
        QUALIFIED = "qualified", _("Qualified")
        GRACE_OVER = "grace_over", _("Grace period over")
        GRANTED = "granted", _("Granted")
        GRANT_ENDED = "grant_ended", _("Grant ended")

    partner = models.ForeignKey("accounts.Partner", on_delete=models.CASCADE, related_name="tier_changes")
    from_tier = models.ForeignKey(Tier, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    to_tier = models.ForeignKey(Tier, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    qualifying_points = models.BigIntegerField()
    note = models.CharField(max_length=300, blank=True)
    changed_on = models.DateField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-changed_on", "-pk"]
        indexes = [models.Index(fields=["partner", "-changed_on"], name="tier_change_partner_idx")]
        verbose_name = _("tier change")
        verbose_name_plural = _("tier changes")

    def __str__(self):
        return f"{self.partner}: {self.from_tier} → {self.to_tier} ({self.get_reason_display()})"
