"""Accounts and transfers, modelled on TigerBeetle's.

An account keeps four running totals (posted and pending, debits and credits)
updated in the same transaction as the transfers that change them, so a balance
read is one row. A transfer's ``key`` is its idempotency key: posting the same
key twice gives the first result and changes nothing. Transfers are never
updated or deleted (a trigger refuses it); a correction is a new transfer that
points at what it corrects.
"""

import pgtrigger
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class AccountKind(models.TextChoices):
    PARTNER = "partner", _("Partner points")
    # The programme's own accounts, where points come from and go to.
    ISSUED = "issued", _("Points issued")
    REDEEMED = "redeemed", _("Points redeemed")
    EXPIRED = "expired", _("Points expired")
    ADJUSTMENTS = "adjustments", _("Manual adjustments")


class Code(models.TextChoices):
    """Why points moved."""

    ORDER = "order", _("Order")
    EARLY_PAYMENT = "early_payment", _("Early payment")
    CONTENT = "content", _("Learning")
    REFERRAL = "referral", _("Referral")
    WELCOME = "welcome", _("Welcome bonus")
    CAMPAIGN = "campaign", _("Campaign")
    REDEMPTION = "redemption", _("Redemption")
    EXPIRY = "expiry", _("Expiry")
    ADJUSTMENT = "adjustment", _("Adjustment")
    CLAWBACK = "clawback", _("Return or cancellation")


# Each programme account is kept in this many rows (shards), chosen by the partner's id, so
# that transfers of different partners do not wait for each other's lock on one hot row.
# An account's figures are the sums over its shards; the invariants hold shard by shard.
PROGRAMME_SHARDS = 16

# A clawback takes back points already given, so it may leave a partner below
# zero (which then blocks redemptions); every other debit stops at zero.
CODES_THAT_MAY_OVERDRAW = frozenset({Code.CLAWBACK})


class Phase(models.TextChoices):
    POSTED = "posted", _("Posted")
    PENDING = "pending", _("Pending")
    POST_PENDING = "post_pending", _("Pending posted")
    VOID_PENDING = "void_pending", _("Pending voided")


class Account(models.Model):
    kind = models.CharField(max_length=16, choices=AccountKind.choices)
    shard = models.PositiveSmallIntegerField(default=0)
    partner = models.OneToOneField(
        "accounts.Partner", on_delete=models.PROTECT, null=True, blank=True, related_name="points_account"
    )
    debits_posted = models.BigIntegerField(default=0)
    credits_posted = models.BigIntegerField(default=0)
    debits_pending = models.BigIntegerField(default=0)
    credits_pending = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "shard"], condition=~Q(kind=AccountKind.PARTNER), name="one_row_per_programme_shard"
            ),
            models.CheckConstraint(
                condition=Q(shard__lt=PROGRAMME_SHARDS) & (~Q(kind=AccountKind.PARTNER) | Q(shard=0)),
                name="account_shard_in_range",
            ),
            models.CheckConstraint(
                condition=Q(kind=AccountKind.PARTNER, partner__isnull=False)
                | (~Q(kind=AccountKind.PARTNER) & Q(partner__isnull=True)),
                name="partner_accounts_have_a_partner",
            ),
            models.CheckConstraint(
                condition=Q(debits_posted__gte=0)
                & Q(credits_posted__gte=0)
                & Q(debits_pending__gte=0)
                & Q(credits_pending__gte=0),
                name="account_totals_not_negative",
            ),
        ]
        triggers = [pgtrigger.Protect(name="accounts_are_never_deleted", operation=pgtrigger.Delete)]

    def __str__(self):
        return f"{self.partner} points" if self.partner_id else self.get_kind_display()

    @property
    def available(self) -> int:
        """What the partner can spend now: posted credits less posted and held debits."""
        return self.credits_posted - self.debits_posted - self.debits_pending

    @property
    def held(self) -> int:
        return self.debits_pending

    @property
    def pending(self) -> int:
        """Points on their way in (order points inside the return window)."""
        return self.credits_pending


class Transfer(models.Model):
    key = models.CharField(max_length=200, help_text="Idempotency key, chosen by the caller.")
    # The composite (account, effective_at) indexes below serve these foreign keys too.
    debit_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+", db_index=False)
    credit_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+", db_index=False)
    amount = models.BigIntegerField()
    phase = models.CharField(max_length=16, choices=Phase.choices)
    pending = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    corrects = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    code = models.CharField(max_length=20, choices=Code.choices)
    reason = models.TextField()
    details = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    actor_label = models.CharField(max_length=200, blank=True, help_text="What caused it, when not a person.")
    ref_type = models.CharField(max_length=40, blank=True)
    ref_id = models.CharField(max_length=200, blank=True)
    effective_at = models.DateTimeField(help_text="When the business event happened.")
    created_at = models.DateTimeField(db_default=models.functions.Now())

    class Meta:
        constraints = [
            # A constraint, not unique=True: that would add a second (LIKE) index every insert pays for.
            models.UniqueConstraint(fields=["key"], name="transfer_key_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="transfer_amount_positive"),
            models.CheckConstraint(condition=~Q(debit_account=F("credit_account")), name="transfer_accounts_differ"),
            models.CheckConstraint(
                condition=Q(phase__in=[Phase.POSTED, Phase.PENDING], pending__isnull=True)
                | Q(phase__in=[Phase.POST_PENDING, Phase.VOID_PENDING], pending__isnull=False),
                name="transfer_resolves_pending_iff_phase_says_so",
            ),
            # A pending transfer is posted or voided once, whatever races.
            models.UniqueConstraint(
                fields=["pending"], condition=Q(pending__isnull=False), name="pending_resolved_once"
            ),
        ]
        indexes = [
            # An account's entries by date; covering what expiry and tier qualification sum (amount, code,
            # phase, id), so those runs read the index alone, not a page of the table per entry.
            models.Index(
                fields=["debit_account", "effective_at"],
                include=["amount", "code", "phase"],
                name="transfer_debit_cover_idx",
            ),
            models.Index(
                fields=["credit_account", "effective_at"],
                include=["id", "amount", "code", "phase"],
                name="transfer_credit_cover_idx",
            ),
            models.Index(fields=["ref_type", "ref_id"], name="transfer_ref_idx"),
        ]
        triggers = [pgtrigger.Protect(name="transfers_are_append_only", operation=pgtrigger.Update | pgtrigger.Delete)]

    def __str__(self):
        return f"{self.key}: {self.amount} {self.get_code_display()}"
