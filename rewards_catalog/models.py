"""The gift catalog: items, their categories, gift-card code pools, and redemptions with their history.

What the database can say, it says: a cost and a quantity above zero, stock never below zero, a gift-card
code stored once in the whole programme and given to at most one redemption, a status from the list.
Everything that changes these rows goes through ``rewards_catalog.services``.
"""

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _
from wagtail.images import get_image_model_string

from accounts.models import Partner
from portal.languages import in_language
from rewards_catalog.rules import Period, mask_code


class Category(models.Model):
    name = models.CharField(_("name"), max_length=100)
    name_he = models.CharField(_("name in Hebrew"), max_length=100, blank=True)
    slug = models.SlugField(_("slug"), max_length=100, unique=True, help_text=_("Its name in the catalog's address."))
    sort_order = models.IntegerField(_("order"), default=0, help_text=_("Lower numbers come first."))

    class Meta:
        ordering = ["sort_order", "name"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self):
        return self.name

    @property
    def display_name(self) -> str:
        return in_language(self.name, self.name_he)


class CodePool(models.Model):
    """Gift-card codes of one kind (say, a 50 € voucher of one shop), uploaded by CSV; an item draws from it."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    low_stock_threshold = models.PositiveIntegerField(
        _("warn below"), default=20, help_text=_("The admin warns when fewer codes than this are left.")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("gift-card code pool")
        verbose_name_plural = _("gift-card code pools")

    def __str__(self):
        return self.name


class Item(models.Model):
    class Kind(models.TextChoices):
        GIFT_CARD = "gift_card", _("Gift card")
        GOODS = "goods", _("Shipped goods")
        EXPERIENCE = "experience", _("Experience or event")
        EARLY_ACCESS = "early_access", _("Early-access product")
        DONATION = "donation", _("Donation to a cause")

    title = models.CharField(_("title"), max_length=200)
    title_he = models.CharField(_("title in Hebrew"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    description_he = models.TextField(_("description in Hebrew"), blank=True)
    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.SET_NULL, null=True, blank=True, related_name="items"
    )
    image = models.ForeignKey(
        get_image_model_string(), verbose_name=_("image"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    cost_points = models.BigIntegerField(_("cost in points"))
    stock = models.IntegerField(_("stock"), null=True, blank=True, help_text=_("Leave empty for no limit."))
    code_pool = models.ForeignKey(
        CodePool,
        verbose_name=_("gift-card code pool"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="items",
        help_text=_("Gift cards only: while the pool has codes, a redemption gets its code at once."),
    )
    audience = models.ForeignKey(
        "accounts.Audience",
        verbose_name=_("audience"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="catalog_items",
        help_text=_("The partners it is offered to. Empty: every partner."),
    )
    limit_per_period = models.PositiveIntegerField(
        _("limit per partner"), null=True, blank=True, help_text=_("How many one partner may redeem per period.")
    )
    limit_period = models.CharField(_("per"), max_length=10, choices=Period.choices, blank=True)
    causes = ArrayField(
        models.CharField(max_length=200),
        verbose_name=_("causes"),
        default=list,
        blank=True,
        help_text=_("Donations: the causes to choose from, comma-separated. Empty: the partner names one."),
    )
    is_active = models.BooleanField(_("shown in the catalog"), default=True)
    active_from = models.DateTimeField(_("available from"), null=True, blank=True)
    active_until = models.DateTimeField(_("available until"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["cost_points", "title"]
        verbose_name = _("catalog item")
        verbose_name_plural = _("catalog items")
        constraints = [
            models.CheckConstraint(condition=Q(cost_points__gt=0), name="item_cost_positive"),
            models.CheckConstraint(condition=Q(stock__isnull=True) | Q(stock__gte=0), name="item_stock_not_negative"),
            models.CheckConstraint(
                condition=Q(limit_per_period__isnull=True, limit_period="")
                | Q(limit_per_period__gt=0) & ~Q(limit_period=""),
                name="item_limit_has_period",
            ),
            models.CheckConstraint(
                condition=Q(active_from__isnull=True)
                | Q(active_until__isnull=True)
                | Q(active_until__gt=F("active_from")),
                name="item_active_until_after_from",
            ),
            models.CheckConstraint(
                condition=Q(code_pool__isnull=True) | Q(kind="gift_card"), name="item_code_pool_for_gift_cards"
            ),
        ]

    def __str__(self):
        return self.title

    @property
    def display_title(self) -> str:
        return in_language(self.title, self.title_he)

    @property
    def display_description(self) -> str:
        return in_language(self.description, self.description_he)


class CodeUpload(models.Model):
    """One CSV file of codes added to a pool; the file's SHA-256 recognises the same file sent again."""

    pool = models.ForeignKey(CodePool, on_delete=models.PROTECT, related_name="uploads")
    file_name = models.CharField(max_length=255)
    file_sha256 = models.CharField(max_length=64)
    codes_added = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-uploaded_at"]
        constraints = [models.UniqueConstraint(fields=["pool", "file_sha256"], name="code_upload_once_per_pool")]

    def __str__(self):
        return f"{self.file_name} ({self.codes_added})"


class GiftCode(models.Model):
    """A gift-card code: money. Its text is shown only to the redeeming company and administrators."""

    pool = models.ForeignKey(CodePool, on_delete=models.PROTECT, related_name="codes")
    code = models.CharField(max_length=100)
    upload = models.ForeignKey(CodeUpload, on_delete=models.PROTECT, related_name="codes")
    row_number = models.PositiveIntegerField(help_text="Its row in the uploaded file.")
    redemption = models.ForeignKey(
        "Redemption", on_delete=models.PROTECT, null=True, blank=True, related_name="codes", db_index=False
    )
    assigned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # Unique in the whole programme, so in every pool too: a code is never sold twice.
            models.UniqueConstraint(fields=["code"], name="gift_code_unique"),
            models.CheckConstraint(condition=~Q(code=""), name="gift_code_not_empty"),
            models.CheckConstraint(
                condition=Q(redemption__isnull=True, assigned_at__isnull=True)
                | Q(redemption__isnull=False, assigned_at__isnull=False),
                name="gift_code_assigned_with_time",
            ),
        ]
        indexes = [
            # The free codes of a pool, in upload order: what a redemption takes (SKIP LOCKED) and the count shows.
            models.Index(fields=["pool", "id"], condition=Q(redemption__isnull=True), name="gift_code_free_idx"),
            models.Index(fields=["redemption"], condition=Q(redemption__isnull=False), name="gift_code_redemption_idx"),
        ]

    def __str__(self):
        return self.masked

    @property
    def masked(self) -> str:
        return mask_code(self.code)


class Redemption(models.Model):
    class Status(models.TextChoices):
        AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")
        APPROVED = "approved", _("Approved")
        SHIPPED = "shipped", _("Shipped")
        FULFILLED = "fulfilled", _("Fulfilled")
        REJECTED = "rejected", _("Rejected")
        CANCELLED = "cancelled", _("Cancelled")

    # No index of their own: redemption_partner_idx and redemption_item_partner_idx begin with them.
    partner = models.ForeignKey(
        Partner, verbose_name=_("partner"), on_delete=models.PROTECT, related_name="redemptions", db_index=False
    )
    member = models.ForeignKey(
        "accounts.User", verbose_name=_("redeemed by"), on_delete=models.PROTECT, related_name="+"
    )
    item = models.ForeignKey(
        Item, verbose_name=_("item"), on_delete=models.PROTECT, related_name="redemptions", db_index=False
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    points = models.BigIntegerField(_("points"), help_text=_("What the redemption holds or spent: cost × quantity."))
    stock_taken = models.PositiveIntegerField(default=0, help_text="Units taken from the item's stock, to give back.")
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    shipping_address = models.TextField(_("shipping address"), blank=True)
    cause = models.CharField(_("cause"), max_length=200, blank=True)
    tracking_note = models.TextField(_("tracking note"), blank=True)
    decided_by = models.ForeignKey(
        "accounts.User", verbose_name=_("decided by"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    reason = models.TextField(_("reason"), blank=True, help_text=_("Why it was rejected or cancelled."))
    request_key = models.UUIDField(null=True, blank=True, unique=True, help_text="The form's own id: sent twice, once.")
    created_at = models.DateTimeField(_("redeemed at"), db_default=Now())
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("redemption")
        verbose_name_plural = _("redemptions")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="redemption_quantity_positive"),
            models.CheckConstraint(condition=Q(points__gt=0), name="redemption_points_positive"),
            models.CheckConstraint(
                condition=Q(stock_taken__lte=F("quantity")), name="redemption_stock_within_quantity"
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=["awaiting_approval", "approved", "shipped", "fulfilled", "rejected", "cancelled"]
                ),
                name="redemption_status_known",
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(reason=""), name="redemption_rejected_with_reason"
            ),
        ]
        indexes = [
            models.Index(fields=["partner", "-created_at"], name="redemption_partner_idx"),
            models.Index(fields=["status", "created_at"], name="redemption_status_idx"),
            models.Index(fields=["item", "partner", "created_at"], name="redemption_item_partner_idx"),
        ]

    def __str__(self):
        return _("#%(id)s %(quantity)s × %(item)s for %(partner)s") % {
            "id": self.pk,
            "quantity": self.quantity,
            "item": self.item,
            "partner": self.partner,
        }

    @property
    def hold_key(self) -> str:
        """The ledger key of the points this redemption holds; its post and void are keyed from it."""
        return f"redemption:{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.AWAITING_APPROVAL


class RedemptionEvent(models.Model):
    """A row per change of a redemption's status: who, when, from and to, and a note the partner sees."""

    # redemption_event_idx begins with it.
    redemption = models.ForeignKey(Redemption, on_delete=models.CASCADE, related_name="events", db_index=False)
    from_status = models.CharField(max_length=20, choices=Redemption.Status.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=Redemption.Status.choices)
    actor = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    note = models.TextField(blank=True)
    at = models.DateTimeField(db_default=Now())
    # Its e-mails leave through the outbox (portal.notices); this says when they did, or that the change
    # was announced otherwise (the demo's past), so that delivering its notice sends nothing.
    notified_at = models.DateTimeField(null=True, blank=True, help_text="When its e-mails went out (sent once).")

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["redemption", "at"], name="redemption_event_idx"),
        ]

    def __str__(self):
        return f"{self.redemption_id}: {self.from_status or '-'} -> {self.to_status}"
