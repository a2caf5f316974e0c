from decimal import Decimal

from django.contrib.postgres.fields import ArrayField
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from modelcluster.models import ClusterableModel
from wagtail.admin.panels import FieldPanel, InlinePanel, MultiFieldPanel
from wagtail.contrib.settings.models import BaseGenericSetting, register_setting

MONEY = {"max_digits": 14, "decimal_places": 2}


class ErpRecord(models.Model):
    """What every record from the ERP has: its own id and a fingerprint of its content.

    The fingerprint tells a harmless retry (same id, same content) from a
    conflicting one (same id, other content), which is refused, not ignored.
    """

    external_id = models.CharField(_("ERP id"), max_length=64, unique=True)
    fingerprint = models.CharField(max_length=64)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True

    def __str__(self):
        return self.external_id


class Order(ErpRecord):
    # No index of its own: order_partner_idx begins with it.
    partner = models.ForeignKey("accounts.Partner", on_delete=models.PROTECT, related_name="orders", db_index=False)
    placed_at = models.DateTimeField(_("placed at"))
    currency = models.CharField(_("currency"), max_length=3)
    net_total = models.DecimalField(_("net total"), **MONEY)
    points = models.BigIntegerField(_("points"), default=0)
    breakdown = models.CharField(_("breakdown"), max_length=500, blank=True)
    breakdown_parts = models.JSONField(
        default=list, blank=True, help_text="The breakdown's parts, for each page to word in its reader's language."
    )
    bulk_bonus_points = models.BigIntegerField(default=0)
    other_bonus_points = models.BigIntegerField(default=0, help_text="Punch card and campaign bonuses.")
    punch_number = models.PositiveIntegerField(
        null=True, blank=True, help_text="The how-manieth order of the partner's that counts for the punch card."
    )
    points_release_at = models.DateTimeField(help_text="End of the return window: pending points become available.")

    class Meta:
        ordering = ["-placed_at"]
        indexes = [models.Index(fields=["partner", "-placed_at"], name="order_partner_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "punch_number"], condition=Q(punch_number__isnull=False), name="order_punch_unique"
            )
        ]


class OrderLine(models.Model):
    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="lines", db_index=False
    )  # order_line_unique
    line_no = models.PositiveIntegerField()
    sku = models.CharField(max_length=64)
    category = models.CharField(max_length=64)
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    net_amount = models.DecimalField(**MONEY)
    points = models.BigIntegerField(default=0, help_text="The line's own points, before order bonuses.")

    class Meta:
        ordering = ["order", "line_no"]
        constraints = [
            models.UniqueConstraint(fields=["order", "line_no"], name="order_line_unique"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_line_quantity_positive"),
            models.CheckConstraint(condition=Q(net_amount__gte=0), name="order_line_amount_not_negative"),
        ]

    def __str__(self):
        return f"{self.order} line {self.line_no}: {self.quantity} x {self.sku}"


class Return(ErpRecord):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="returns")
    returned_at = models.DateTimeField(_("returned at"))
    points = models.BigIntegerField(_("points taken back"), default=0)
    breakdown = models.CharField(max_length=500, blank=True)
    breakdown_parts = models.JSONField(
        default=list, blank=True, help_text="The breakdown's parts, for each page to word in its reader's language."
    )

    class Meta:
        ordering = ["-returned_at"]


class ReturnLine(models.Model):
    order_return = models.ForeignKey(Return, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="returned")
    quantity = models.PositiveIntegerField()

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="return_line_quantity_positive")]

    def __str__(self):
        return f"{self.quantity} x line {self.order_line.line_no}"


class Invoice(ErpRecord):
    partner = models.ForeignKey("accounts.Partner", on_delete=models.PROTECT, related_name="invoices")
    amount = models.DecimalField(_("amount"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3)
    issued_on = models.DateField(_("issued on"))
    due_on = models.DateField(_("due on"))

    class Meta:
        ordering = ["-issued_on"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="invoice_amount_positive"),
            models.CheckConstraint(condition=Q(due_on__gte=F("issued_on")), name="invoice_due_after_issue"),
        ]


class Payment(ErpRecord):
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(_("amount"), **MONEY)
    paid_on = models.DateField(_("paid on"))
    points = models.BigIntegerField(_("points"), default=0)
    breakdown = models.CharField(max_length=500, blank=True)
    breakdown_parts = models.JSONField(
        default=list, blank=True, help_text="The breakdown's parts, for each page to word in its reader's language."
    )

    class Meta:
        ordering = ["-paid_on"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive")]


@register_setting(icon="cog")
class EarningSettings(BaseGenericSetting, ClusterableModel):
    """The numbers of the earning rules, edited by a programme administrator."""

    currency = models.CharField(
        _("programme currency"), max_length=3, default="USD", help_text=_("Orders in another currency are refused.")
    )
    points_per_unit = models.DecimalField(
        _("points per currency unit"), max_digits=8, decimal_places=4, default=Decimal("1")
    )
    return_window_days = models.PositiveIntegerField(_("return window (days)"), default=30)
    bulk_threshold = models.DecimalField(_("bulk order threshold"), **MONEY, default=Decimal("10000"))
    bulk_bonus_points = models.PositiveIntegerField(_("bulk bonus (points)"), default=500)
    punch_card_every = models.PositiveIntegerField(
        _("punch card: every Nth order"), default=5, help_text=_("0 turns the punch card off.")
    )
    punch_card_min_value = models.DecimalField(_("punch card: minimum order value"), **MONEY, default=Decimal("500"))
    punch_card_bonus_points = models.PositiveIntegerField(_("punch card bonus (points)"), default=250)
    early_payment_min_days = models.PositiveIntegerField(_("early payment: days before due date"), default=10)
    early_payment_points_per_unit = models.DecimalField(
        _("early payment: points per currency unit"), max_digits=8, decimal_places=4, default=Decimal("0.5")
    )
    review_order_above = models.DecimalField(
        _("review orders above (net total)"),
        **MONEY,
        default=Decimal("1000000"),
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("An order worth more is recorded, but its points wait for an account manager's approval."),
    )
    review_invoice_above = models.DecimalField(
        _("review invoices above (amount)"),
        **MONEY,
        default=Decimal("1000000"),
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("The early-payment points of a larger invoice wait for an account manager's approval."),
    )
    review_points_above = models.PositiveBigIntegerField(
        _("review any record earning more than (points)"),
        default=2_000_000,
        validators=[MinValueValidator(1)],
        help_text=_("An order or payment that would earn more points waits for an account manager's approval."),
    )

    panels = [
        FieldPanel("currency"),
        MultiFieldPanel(
            [FieldPanel("points_per_unit"), FieldPanel("return_window_days"), InlinePanel("category_multipliers")],
            heading=_("Orders"),
        ),
        MultiFieldPanel([FieldPanel("bulk_threshold"), FieldPanel("bulk_bonus_points")], heading=_("Bulk bonus")),
        MultiFieldPanel(
            [FieldPanel("punch_card_every"), FieldPanel("punch_card_min_value"), FieldPanel("punch_card_bonus_points")],
            heading=_("Punch card"),
        ),
        MultiFieldPanel(
            [FieldPanel("early_payment_min_days"), FieldPanel("early_payment_points_per_unit")],
            heading=_("Early payment"),
        ),
        MultiFieldPanel(
            [FieldPanel("review_order_above"), FieldPanel("review_invoice_above"), FieldPanel("review_points_above")],
            heading=_("Limits: above them, points wait for approval"),
        ),
    ]

    class Meta:
        verbose_name = _("earning rules")


class CategoryMultiplier(models.Model):
    settings = ParentalKey(EarningSettings, on_delete=models.CASCADE, related_name="category_multipliers")
    category = models.CharField(_("product category"), max_length=64)
    multiplier = models.DecimalField(_("multiplier"), max_digits=5, decimal_places=2, default=Decimal("1"))

    panels = [FieldPanel("category"), FieldPanel("multiplier")]

    class Meta:
        constraints = [models.UniqueConstraint(fields=["settings", "category"], name="category_multiplier_unique")]

    def __str__(self):
        return f"{self.category} x{self.multiplier}"


class Campaign(models.Model):
    """A time-boxed boost for a segment of partners, on some categories or skus."""

    name = models.CharField(_("name"), max_length=120)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"), help_text=_("Orders placed before this moment count."))
    audience = models.ForeignKey(
        "accounts.Audience",
        verbose_name=_("audience"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="campaigns",
        help_text=_("The partners it runs for. Empty: every partner."),
    )
    categories = ArrayField(
        models.CharField(max_length=64), verbose_name=_("product categories"), default=list, blank=True
    )
    skus = ArrayField(
        models.CharField(max_length=64),
        verbose_name=_("skus"),
        default=list,
        blank=True,
        help_text=_("Empty with no categories: every line."),
    )
    multiplier = models.DecimalField(_("multiplier"), max_digits=5, decimal_places=2, default=Decimal("1"))
    bonus_points = models.PositiveIntegerField(_("fixed bonus per order (points)"), default=0)

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="campaign_ends_after_start"),
            models.CheckConstraint(condition=Q(multiplier__gte=1), name="campaign_multiplier_at_least_one"),
        ]

    def __str__(self):
        return self.name


class ApiKey(models.Model):
    """A key the vendor's ERP signs its API calls with. Only a hash is stored; the key is shown once."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    prefix = models.CharField(max_length=12, unique=True, help_text="The key's first characters, to recognise it.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("API key")

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"


class ImportJob(models.Model):
    """A CSV file uploaded in the CMS: checked in a dry run, then imported in the background."""

    class Kind(models.TextChoices):
        ORDERS = "orders", _("Orders")
        INVOICES = "invoices", _("Invoices")
        PAYMENTS = "payments", _("Payments")

    class Status(models.TextChoices):
        CHECKING = "checking", _("Checking")
        CHECKED = "checked", _("Checked")
        INVALID = "invalid", _("Has errors")
        IMPORTING = "importing", _("Importing")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/")
    file_name = models.CharField(max_length=255)
    file_sha256 = models.CharField(max_length=64, db_index=True)
    uploaded_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CHECKING)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    rows_created = models.PositiveIntegerField(default=0)
    rows_duplicate = models.PositiveIntegerField(default=0)
    # Of the rows created, those whose points wait for a person (above the programme's limits).
    rows_held = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="[{row, column, message}], the first thousand.")
    message = models.TextField(blank=True, help_text="What went wrong with the file as a whole.")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("CSV import")

    def __str__(self):
        return f"{self.get_kind_display()}: {self.file_name}"


class Adjustment(models.Model):
    """A manual change of a partner's points by an account manager, always with a reason.

    Above the programme's threshold it waits for a second person's approval
    before it posts; its ledger transfer is keyed by the adjustment's id.

    The same four-eyes path reviews what the ERP sent above the programme's
    limits (an order, or an early payment of an invoice): the record is kept,
    and its points wait here, requested by the ERP (``requested_by_label``, no
    person), until someone who sees the partner approves them. Approved, they
    post under the key the record would have used (``order:<id>``,
    ``payment:<id>``), so returns and releases treat them as any other order's.
    A return while they wait lowers ``points`` (what waits), never the balance.
    """

    class Status(models.TextChoices):
        AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")
        POSTED = "posted", _("Posted")
        REJECTED = "rejected", _("Rejected")

    partner = models.ForeignKey("accounts.Partner", on_delete=models.PROTECT, related_name="adjustments")
    points = models.BigIntegerField(_("points"), help_text=_("Positive gives points, negative takes them."))
    reason = models.TextField(_("reason"))
    status = models.CharField(max_length=20, choices=Status.choices)
    requested_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    requested_by_label = models.CharField(
        max_length=200, blank=True, help_text="What asked, when no person did: the ERP's API key or CSV file."
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    order = models.OneToOneField(
        Order, on_delete=models.PROTECT, null=True, blank=True, related_name="points_review", verbose_name=_("order")
    )
    payment = models.OneToOneField(
        Payment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="points_review",
        verbose_name=_("payment"),
    )

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            # An order's review may fall to zero: its goods were returned while it waited.
            models.CheckConstraint(condition=~Q(points=0) | Q(order__isnull=False), name="adjustment_not_zero"),
            models.CheckConstraint(condition=~Q(reason=""), name="adjustment_has_reason"),
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("requested_by")),
                name="adjustment_second_person_decides",
            ),
            models.CheckConstraint(
                condition=Q(requested_by__isnull=False, order__isnull=True, payment__isnull=True)
                | Q(requested_by__isnull=True, order__isnull=False, payment__isnull=True, points__gte=0)
                | Q(requested_by__isnull=True, order__isnull=True, payment__isnull=False, points__gt=0),
                name="adjustment_by_a_person_or_a_review_of_one_record",
            ),
        ]

    def __str__(self):
        change = f"{self.points:+,} for {self.partner}"
        if self.order_id:
            return f"Order {self.order}: {change}"
        if self.payment_id:
            return f"Payment {self.payment}: {change}"
        return change

    @property
    def is_review(self) -> bool:
        """Points of an ERP record above the programme's limits, not a person's adjustment."""
        return bool(self.order_id or self.payment_id)

    @property
    def requester(self) -> str:
        return str(self.requested_by) if self.requested_by_id else self.requested_by_label
