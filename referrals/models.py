"""Referrals: each partner's referral code, and the applications that arrive through it (or without one).

An application moves through ``referrals.workflow.REFERRAL_FLOW``: applied, then approved (a new partner
exists, ``partner``) or rejected; an approved one becomes qualified when its partner's first qualifying
order and first invoice's payment are in (the rewards posted to the ledger), or expired when the window
passes without the order.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import Partner


class ReferralCode(models.Model):
    """The code in a partner's referral link: random, so no code can be guessed from another."""

    partner = models.OneToOneField(Partner, on_delete=models.CASCADE, related_name="referral_code")
    code = models.CharField(_("referral code"), max_length=16, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("referral code")
        verbose_name_plural = _("referral codes")

    def __str__(self):
        return self.code


class Application(models.Model):
    """A business's application to join the programme, from the public form."""

    class Status(models.TextChoices):
        APPLIED = "applied", pgettext_lazy("referral status", "Applied")
        APPROVED = "approved", pgettext_lazy("referral status", "Approved")
        REJECTED = "rejected", pgettext_lazy("referral status", "Rejected")
        QUALIFIED = "qualified", pgettext_lazy("referral status", "Qualified")
        EXPIRED = "expired", pgettext_lazy("referral status", "Expired")

    referrer = models.ForeignKey(
        Partner,
        verbose_name=_("referred by"),
        on_delete=models.PROTECT,
        related_name="referrals",
        null=True,
        blank=True,
        db_index=False,  # application_referrer_idx begins with it
    )
    company_name = models.CharField(_("company name"), max_length=200)
    registration_number = models.CharField(_("company registration number"), max_length=9, db_index=True)
    contact_name = models.CharField(_("contact name"), max_length=150)
    email = models.EmailField(_("e-mail address"))
    email_domain = models.CharField(max_length=254, db_index=True, editable=False)
    phone = models.CharField(_("phone"), max_length=20)
    kind = models.CharField(_("kind"), max_length=20, choices=Partner.Kind.choices)
    region = models.CharField(_("region"), max_length=64)
    language = models.CharField(_("language"), max_length=2, choices=Partner.Language.choices)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.APPLIED)
    created_at = models.DateTimeField(_("applied at"), auto_now_add=True)
    # The fraud signals as the reviewer saw them when deciding: [{"code": ..., "reason": ...}].
    signals_at_decision = models.JSONField(default=list, blank=True, editable=False)
    decided_by = models.ForeignKey(
        "accounts.User", verbose_name=_("decided by"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    partner = models.OneToOneField(
        Partner,
        verbose_name=_("partner"),
        on_delete=models.PROTECT,
        related_name="application",
        null=True,
        blank=True,
    )
    qualified_at = models.DateTimeField(_("qualified at"), null=True, blank=True)
    qualifying_order = models.CharField(_("qualifying order"), max_length=64, blank=True)
    referrer_points = models.BigIntegerField(_("referral points"), default=0)
    welcome_points = models.BigIntegerField(_("welcome points"), default=0)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("referral application")
        verbose_name_plural = _("referral applications")
        indexes = [
            models.Index(fields=["referrer", "-created_at"], name="application_referrer_idx"),
            models.Index(fields=["status"], name="application_open_idx", condition=Q(status="approved")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["applied", "rejected"]) | Q(partner__isnull=False),
                name="application_approved_has_partner",
            ),
            models.CheckConstraint(
                condition=Q(referrer_points__gte=0) & Q(welcome_points__gte=0), name="application_points_not_negative"
            ),
        ]

    def __str__(self):
        return self.company_name
