from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from taggit.managers import TaggableManager


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A person who signs in: a partner's member or, when `is_staff`, vendor staff."""

    username = None
    email = models.EmailField(_("e-mail address"), unique=True)
    language = models.CharField(
        _("language"), max_length=8, choices=[("en", _("English")), ("he", _("Hebrew"))], default="en"
    )
    # Which e-mails the person wants; the senders of each kind of e-mail read these.
    email_statements = models.BooleanField(_("monthly statements"), default=True)
    email_redemption_updates = models.BooleanField(_("redemption updates"), default=True)
    email_programme_news = models.BooleanField(_("programme news"), default=True)
    email_points_alerts = models.BooleanField(_("points expiring and tier changes"), default=True)
    # Raised to end every session of this person at once ("sign out everywhere", removal from a company):
    # it is part of the session auth hash, which Django checks on every request with any session backend.
    session_version = models.PositiveIntegerField(default=0, editable=False)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_unique_ci")]

    def __str__(self):
        return self.get_full_name() or self.email

    def get_session_auth_hash(self):
        return self._session_auth_hash(secret=None)

    def get_session_auth_fallback_hash(self):
        for secret in settings.SECRET_KEY_FALLBACKS:
            yield self._session_auth_hash(secret=secret)

    def _session_auth_hash(self, *, secret):
        # Django's own hash of the password while the version is 0, so adding the version signed nobody out.
        signed = self.password if not self.session_version else f"{self.password}\x00{self.session_version}"
        key_salt = "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash"
        return salted_hmac(key_salt, signed, secret=secret, algorithm="sha256").hexdigest()


class Partner(models.Model):
    """A partner company: the member of the programme. Points belong to it, not to its people."""

    class Kind(models.TextChoices):
        RESELLER = "reseller", _("Reseller")
        DISTRIBUTOR = "distributor", _("Distributor")
        POINT_OF_SALE = "point_of_sale", _("Point of sale")

    class Status(models.TextChoices):
        APPLIED = "applied", _("Applied")
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")

    class Language(models.TextChoices):
        ENGLISH = "en", _("English")
        HEBREW = "he", _("Hebrew")

    name = models.CharField(_("name"), max_length=200)
    external_id = models.CharField(
        _("ERP id"), max_length=64, unique=True, help_text=_("The id the vendor's ERP uses for this company.")
    )
    registration_number = models.CharField(_("company registration number"), max_length=64, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    region = models.CharField(_("region"), max_length=64)
    language = models.CharField(_("language"), max_length=2, choices=Language.choices, default=Language.ENGLISH)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.APPLIED)
    account_manager = models.ForeignKey(
        "accounts.User",
        verbose_name=_("account manager"),
        on_delete=models.PROTECT,
        related_name="portfolio",
        null=True,
        blank=True,
        limit_choices_to={"is_staff": True},
    )
    tags = TaggableManager(blank=True, help_text=_("Segments this partner belongs to."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("partner")
        verbose_name_plural = _("partners")
        permissions = [("view_all_partners", "Can see every partner, not only the own portfolio")]

    def __str__(self):
        return self.name


class Membership(models.Model):
    """A person's place in a partner company. A person belongs to one company."""

    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        PURCHASER = "purchaser", _("Purchaser")
        SALES = "sales", _("Salesperson")
        VIEWER = "viewer", _("Viewer")

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="membership")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["partner__name", "user__email"]
        verbose_name = _("member")
        verbose_name_plural = _("people")

    def __str__(self):
        return f"{self.user} ({self.get_role_display()}, {self.partner})"

    # What each role may do for its company. Everyone of the company sees its points and history.
    @property
    def may_redeem(self) -> bool:
        return self.role in (self.Role.OWNER, self.Role.PURCHASER)

    @property
    def may_manage_people(self) -> bool:
        """Invite colleagues, change their roles, remove them."""
        return self.role == self.Role.OWNER


class Invitation(models.Model):
    """An owner's invitation of a colleague into their company, with a role.

    The link carries a token signed with the secret key over the invitation's id and `nonce`; the nonce is
    replaced on every resend, so only the latest link works, and the database holds nothing that opens it.
    """

    VALID_FOR = timedelta(days=14)

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        EXPIRED = "expired", _("Expired")
        ACCEPTED = "accepted", _("Accepted")
        REVOKED = "revoked", _("Revoked")

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("e-mail address"))
    role = models.CharField(_("role"), max_length=20, choices=Membership.Role.choices)
    invited_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("invited by"))
    nonce = models.CharField(max_length=32, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"), help_text=_("When the latest link was made."))
    mailed_at = models.DateTimeField(null=True, blank=True, help_text=_("When the e-mail with the latest link left."))
    expires_at = models.DateTimeField(_("expires"))
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("accepted by")
    )
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        ordering = ["-sent_at"]
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints = [
            # Expired invitations stay open: inviting the same address again renews them.
            models.UniqueConstraint(
                Lower("email"),
                "partner",
                condition=Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_open_per_partner_email",
            ),
            models.CheckConstraint(
                condition=Q(accepted_at__isnull=True) | Q(revoked_at__isnull=True),
                name="invitation_accepted_or_revoked_not_both",
            ),
            models.CheckConstraint(
                condition=Q(accepted_at__isnull=True) | Q(accepted_by__isnull=False),
                name="invitation_accepted_by_someone",
            ),
            models.CheckConstraint(condition=Q(role__in=Membership.Role.values), name="invitation_role_known"),
        ]

    def __str__(self):
        return f"{self.email} ({self.get_role_display()}, {self.partner})"

    @property
    def status(self) -> str:
        if self.accepted_at:
            return self.Status.ACCEPTED
        if self.revoked_at:
            return self.Status.REVOKED
        if self.expires_at <= timezone.now():
            return self.Status.EXPIRED
        return self.Status.PENDING

    def get_status_display(self) -> str:
        return self.Status(self.status).label


class Audience(models.Model):
    """Who an offer is for: one definition that campaigns, catalog items and content pages all point at.

    Each kind of limit is a set; an empty set does not limit. A partner is in the audience when it matches
    every limit that is set (its kind is one of the kinds, its region one of the regions, its tier one of
    the tiers, and it carries at least one of the tags). An offer with no audience is for every partner.
    The rule itself is ``accounts.audiences.includes`` (pure); ``accounts.audiences`` also filters in SQL.
    """

    name = models.CharField(_("name"), max_length=120, unique=True)
    partner_kinds = ArrayField(
        models.CharField(max_length=20, choices=Partner.Kind.choices),
        verbose_name=_("partner kinds"),
        default=list,
        blank=True,
        help_text=_("None chosen: every kind."),
    )
    regions = ArrayField(
        models.CharField(max_length=64),
        verbose_name=_("regions"),
        default=list,
        blank=True,
        help_text=_("Empty: every region."),
    )
    # A string reference: accounts sits below tiers and imports nothing of it; the caller passes the tier.
    tiers = models.ManyToManyField(
        "tiers.Tier",
        verbose_name=_("tiers"),
        blank=True,
        related_name="+",
        help_text=_("Partners in any of these tiers. None chosen: every tier."),
    )
    tags = models.ManyToManyField(
        "taggit.Tag",
        verbose_name=_("segments (tags)"),
        blank=True,
        related_name="+",
        help_text=_("Partners with any of these tags. None chosen: every partner."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("audience")
        verbose_name_plural = _("audiences")

    def __str__(self):
        return self.name
