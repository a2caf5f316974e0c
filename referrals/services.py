"""Referrals' use cases: a partner's referral code and link, the public application, its review (approve or
reject, through ``REFERRAL_FLOW``), and qualification: the rewards of both sides, once.

Each is a function with keyword arguments and one transaction. Qualification reads the earning app's
records through ``apps.get_model`` (referrals and earning do not import each other) under a lock on the
application's row, so however often and in whatever order the ERP's order and payment arrive, and however
many checks run at once, the rewards are posted once; their ledger keys make a retry harmless as well.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.log_actions import log

from accounts import invitations
from accounts import services as accounts
from accounts.models import Membership, Partner, User
from portal.ledger import services as ledger
from portal.ledger.models import Code
from portal.notices import services as notices
from referrals import rules
from referrals.errors import NotAMember
from referrals.models import Application, ReferralCode
from referrals.queries import code_owner, signals_of
from referrals.wording import ReferralAbout, WelcomeAbout
from referrals.workflow import REFERRAL_FLOW

Status = Application.Status
NOTICE_KIND = "referrals.notice"
CODE_LENGTH = 8
APPROVE_ACTION = "referrals.approve"
REJECT_ACTION = "referrals.reject"
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: a code is read aloud and typed


# --- The referral code and link -----------------------------------------------------------------


def referral_code_for(partner: Partner) -> ReferralCode:
    """The partner's referral code, made on first use (two first uses at once get the same one)."""
    found = ReferralCode.objects.filter(partner=partner).first()
    if found is not None:
        return found
    for _attempt in range(5):
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        try:
            with transaction.atomic():
                return ReferralCode.objects.create(partner=partner, code=code)
        except IntegrityError:
            found = ReferralCode.objects.filter(partner=partner).first()
            if found is not None:
                return found
    raise RuntimeError("No free referral code after five tries.")


def referral_path(code: str) -> str:
    return reverse("referrals:apply_with_code", kwargs={"code": code})


def referral_link(code: str) -> str:
    return notices.link(referral_path(code))


def send_referral_link(membership: Membership, *, email: str, acting_user: User) -> str:
    """Mail the company's referral link to `email`, from `acting_user` (one of its people); the address.

    Sending the same link to the same address again the same day tells nobody twice (the notice's key)."""
    if acting_user.pk != membership.user_id or not acting_user.is_active:
        raise NotAMember()
    if membership.partner.status != Partner.Status.ACTIVE:
        raise NotAMember(_("Only an active partner may refer businesses."))
    email = User.objects.normalize_email((email or "").strip()).lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError(
            {"email": ValidationError(_("Enter an e-mail address such as name@company.co.il."), code="invalid")}
        ) from None
    code = referral_code_for(membership.partner)
    day = timezone.localdate().isoformat()
    with transaction.atomic():
        notices.enqueue(
            NOTICE_KIND,
            key=f"{NOTICE_KIND}:link:{membership.partner_id}:{email}:{day}",
            payload={"what": "link", "code": code.code, "email": email, "sender": acting_user.pk},
        )
    return email


# --- The public application -----------------------------------------------------------------------


@dataclass(frozen=True)
class ApplicationForm:
    """What the public form sends, as typed."""

    company_name: str
    registration_number: str
    contact_name: str
    email: str
    phone: str
    kind: str
    region: str
    language: str
    code: str = ""


def _check_application(form: ApplicationForm) -> tuple[dict, Partner | None]:
    """The cleaned fields and the referrer; a ValidationError naming every bad field at once."""
    errors: dict[str, ValidationError] = {}
    cleaned = {}

    def text(field, value, max_length, required_message):
        value = " ".join((value or "").split())
        if not value:
            errors[field] = ValidationError(required_message, code="required")
        elif len(value) > max_length:
            errors[field] = ValidationError(
                _("At most %(count)s characters, please.") % {"count": max_length}, code="max_length"
            )
        cleaned[field] = value

    text("company_name", form.company_name, 200, _("Enter the company's name."))
    text("contact_name", form.contact_name, 150, _("Enter the name of the person we should speak to."))
    text("region", form.region, 64, _("Enter the region the company works in."))
    number = rules.normalise_company_number(form.registration_number or "")
    if not number:
        errors["registration_number"] = ValidationError(_("Enter the company's registration number."), code="required")
    elif not rules.is_valid_company_number(number):
        errors["registration_number"] = ValidationError(
            _("A company number has 9 digits, the last a check digit; check it against the registration papers."),
            code="invalid",
        )
    cleaned["registration_number"] = number
    email = User.objects.normalize_email((form.email or "").strip()).lower()
    try:
        validate_email(email)
        if len(email) > 254:
            raise ValidationError("too long")
    except ValidationError:
        errors["email"] = ValidationError(_("Enter an e-mail address such as name@company.co.il."), code="invalid")
    cleaned["email"] = email
    phone = (form.phone or "").strip()
    digits = "".join(ch for ch in phone if ch.isdigit())
    if not phone:
        errors["phone"] = ValidationError(_("Enter a phone number."), code="required")
    elif any(ch not in "0123456789+-() ." for ch in phone) or not 7 <= len(digits) <= 15 or len(phone) > 20:
        errors["phone"] = ValidationError(
            _("Enter a phone number of 7 to 15 digits, such as 03-555-1234 or +972 3 555 1234."), code="invalid"
        )
    cleaned["phone"] = phone
    if form.kind not in Partner.Kind.values:
        errors["kind"] = ValidationError(_("Choose what kind of business it is."), code="invalid")
    cleaned["kind"] = form.kind
    if form.language not in Partner.Language.values:
        errors["language"] = ValidationError(_("Choose English or Hebrew."), code="invalid")
    cleaned["language"] = form.language
    referrer = None
    code = (form.code or "").strip().upper()
    if code:
        referrer = code_owner(code)
        if referrer is None:
            errors["code"] = ValidationError(
                _("No partner has the referral code %(code)s; check the link, or leave the code empty.")
                % {"code": code[:16]},
                code="unknown_code",
            )
    if errors:
        raise ValidationError(errors)
    return cleaned, referrer


@transaction.atomic
def submit_application(form: ApplicationForm) -> Application:
    """A business applies, through a partner's link or on its own; it is told by e-mail that it arrived."""
    cleaned, referrer = _check_application(form)
    application = Application.objects.create(
        referrer=referrer, email_domain=rules.email_domain(cleaned["email"]), **cleaned
    )
    notices.enqueue(
        NOTICE_KIND,
        key=f"{NOTICE_KIND}:received:{application.pk}",
        payload={"what": "received", "application": application.pk},
    )
    return application


# --- Review -----------------------------------------------------------------------------------------


def _lock(application: Application) -> Application:
    return Application.objects.select_for_update(of=("self",)).select_related("referrer").get(pk=application.pk)


def suggested_erp_id(application: Application) -> str:
    return f"REF-{application.registration_number}"


@REFERRAL_FLOW.step("approve")
@transaction.atomic
def approve_application(
    application: Application, *, acting_user: User, note: str = "", external_id: str = ""
) -> Application:
    """Approve: a new active partner (in the reviewer's portfolio, or the referrer's manager's), its owner
    invited through the invitation flow, the applicant told. Over a fraud signal only with a note; a
    company that is a partner already cannot be approved at all."""
    application = _lock(application)
    if not REFERRAL_FLOW.require(application, "approve", acting_user):
        return application
    signals = signals_of(application)
    refusing = [signal for signal in signals if signal.code in rules.REFUSING]
    if refusing:
        raise ValidationError(refusing[0].reason, code=refusing[0].code)
    note = (note or "").strip()
    if signals and not note:
        raise ValidationError(
            {"note": ValidationError(_("This application has fraud signals: say in a note why you approve it."),
                                     code="note_required")}
        )  # fmt: skip
    referrer = application.referrer
    manager = acting_user
    if referrer is not None and referrer.account_manager_id and accounts.may_leave_partner_unmanaged(acting_user):
        manager = referrer.account_manager  # an administrator approving keeps the referrer's manager's portfolio
    external_id = (external_id or "").strip() or suggested_erp_id(application)
    if Partner.objects.filter(external_id=external_id).exists():
        raise ValidationError(
            {"external_id": ValidationError(_("Another partner has the ERP id %(id)s.") % {"id": external_id},
                                            code="erp_id_taken")}
        )  # fmt: skip
    partner = accounts.create_partner(
        name=application.company_name,
        external_id=external_id,
        registration_number=application.registration_number,
        kind=application.kind,
        region=application.region,
        language=application.language,
        status=Partner.Status.ACTIVE,
        account_manager=manager,
        acting_user=acting_user,
    )
    invitations.invite_owner(partner, email=application.email, acting_user=acting_user)
    application.partner = partner
    application.status = Status.APPROVED
    application.decided_by = acting_user
    application.decided_at = timezone.now()
    application.note = note
    application.signals_at_decision = [signal.as_dict() for signal in signals]
    application.save(update_fields=["partner", "status", "decided_by", "decided_at", "note", "signals_at_decision"])
    log(instance=application, action=APPROVE_ACTION, user=acting_user)
    _tell_applicant(application)
    return application


@REFERRAL_FLOW.step("reject")
@transaction.atomic
def reject_application(application: Application, *, acting_user: User, note: str) -> Application:
    """Reject with a reason, which the applicant is told."""
    application = _lock(application)
    if not REFERRAL_FLOW.require(application, "reject", acting_user):
        return application
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": ValidationError(_("Say why: the applicant reads it."), code="reason_required")})
    application.status = Status.REJECTED
    application.decided_by = acting_user
    application.decided_at = timezone.now()
    application.note = note
    application.signals_at_decision = [signal.as_dict() for signal in signals_of(application)]
    application.save(update_fields=["status", "decided_by", "decided_at", "note", "signals_at_decision"])
    log(instance=application, action=REJECT_ACTION, user=acting_user)
    _tell_applicant(application)
    return application


def _tell_applicant(application: Application) -> None:
    notices.enqueue(
        NOTICE_KIND,
        key=f"{NOTICE_KIND}:decided:{application.pk}",
        payload={"what": "decided", "application": application.pk},
    )


# --- Qualification ------------------------------------------------------------------------------------


def programme_qualification() -> rules.Qualification:
    return rules.Qualification(
        min_order_value=Decimal(str(settings.REFERRAL_MIN_ORDER_VALUE)),
        window=timedelta(days=settings.REFERRAL_WINDOW_DAYS),
    )


def _qualifying_order(partner_id: int, *, since: datetime, deadline: datetime, minimum: Decimal):
    """The partner's first order worth the minimum placed within the window, read from earning's records."""
    Order = apps.get_model("earning", "Order")
    return (
        Order.objects.filter(
            partner_id=partner_id, net_total__gte=minimum, placed_at__gte=since, placed_at__lte=deadline
        )
        .order_by("placed_at", "pk")
        .only("external_id", "placed_at")
        .first()
    )


def _first_invoice_paid(partner_id: int) -> bool:
    """Whether the partner's first invoice (the earliest issued) is paid in full."""
    Invoice = apps.get_model("earning", "Invoice")
    invoice = Invoice.objects.filter(partner_id=partner_id).order_by("issued_on", "pk").first()
    if invoice is None:
        return False
    paid = invoice.payments.aggregate(total=Sum("amount"))["total"] or Decimal(0)
    return paid >= invoice.amount


def reward_keys(application: Application) -> tuple[str, str]:
    """The ledger keys of the referrer's points and the newcomer's welcome bonus: one of each, ever."""
    return f"referral:{application.pk}:referrer", f"referral:{application.pk}:welcome"


@transaction.atomic
def check_qualification(application_id: int, *, now: datetime | None = None) -> str:
    """Qualify an approved referral whose first order and payment are in (both rewards posted), expire one
    whose window ended without the order, or leave it waiting; the status it has afterwards.

    Safe to run any number of times, concurrently too: the application's row is locked, and the rewards'
    ledger keys are the application's own."""
    now = now or timezone.now()
    application = (
        Application.objects.select_for_update(of=("self",))
        .select_related("referrer", "partner")
        .filter(pk=application_id)
        .first()
    )
    if application is None or application.status != Status.APPROVED:
        return application.status if application else ""
    qualification = programme_qualification()
    deadline = qualification.deadline(application.decided_at)
    order = _qualifying_order(
        application.partner_id,
        since=application.decided_at - timedelta(days=1),  # an order the ERP dated the day before approval
        deadline=deadline,
        minimum=qualification.min_order_value,
    )
    if order is None:
        if now > deadline:
            application.status = Status.EXPIRED
            application.save(update_fields=["status"])
        return application.status
    if not _first_invoice_paid(application.partner_id):
        return application.status
    _reward(application, order)
    return application.status


def _reward(application: Application, order) -> None:
    referrer_key, welcome_key = reward_keys(application)
    refused_signals = {s["code"] for s in application.signals_at_decision} & rules.NO_REFERRAL_REWARD
    newcomer = application.partner
    requests = [
        ledger.earning(
            newcomer.pk,
            key=welcome_key,
            amount=settings.REFERRAL_WELCOME_POINTS,
            code=Code.WELCOME,
            reason="Welcome to the partner programme",
            details={"about": WelcomeAbout().as_details()},
            actor_label="referrals",
            ref_type="referral",
            ref_id=str(application.pk),
        )
    ]
    referrer_points = 0
    if application.referrer_id and not refused_signals and application.referrer.status == Partner.Status.ACTIVE:
        referrer_points = settings.REFERRAL_POINTS
        requests.append(
            ledger.earning(
                application.referrer_id,
                key=referrer_key,
                amount=referrer_points,
                code=Code.REFERRAL,
                reason=f"Referral: {newcomer.name} placed its first order",
                details={"referred": newcomer.name, "about": ReferralAbout(referred=newcomer.name).as_details()},
                actor_label="referrals",
                ref_type="referral",
                ref_id=str(application.pk),
            )
        )
    for result in ledger.post_transfers(requests):
        if not result.ok:
            raise RuntimeError(f"the ledger refused {result.key}: {result.error.message}")
    application.status = Status.QUALIFIED
    application.qualified_at = timezone.now()
    application.qualifying_order = order.external_id
    application.referrer_points = referrer_points
    application.welcome_points = settings.REFERRAL_WELCOME_POINTS
    application.save(update_fields=["status", "qualified_at", "qualifying_order", "referrer_points", "welcome_points"])


def waiting_applications(partner_ids=None) -> list[int]:
    """Approved applications still waiting to qualify (of these newcomers, if given)."""
    waiting = Application.objects.filter(status=Status.APPROVED)
    if partner_ids is not None:
        waiting = waiting.filter(partner_id__in=list(partner_ids))
    return list(waiting.order_by("pk").values_list("pk", flat=True))
