"""Reads of referrals that the pages, the CMS and the services share: who sees which application, a
partner's referrals, and the fraud signals of an application (facts from the database, worded by rules)."""

from datetime import timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, Partner, User
from accounts.queries import partners_visible_to, sees_all_partners
from referrals import rules
from referrals.models import Application, ReferralCode


def applications_visible_to(user: User) -> QuerySet[Application]:
    """A manager sees the applications referred by partners of their portfolio; an administrator sees
    every one, including those that came without a referrer (nobody else does)."""
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return Application.objects.none()
    if sees_all_partners(user):
        return Application.objects.all()
    return Application.objects.filter(referrer__in=partners_visible_to(user))


def referrals_of(partner: Partner) -> QuerySet[Application]:
    """The partner's referrals, newest first: what its status page lists."""
    return Application.objects.filter(referrer=partner).select_related("partner").order_by("-created_at", "-pk")


def code_owner(code: str) -> Partner | None:
    """The active partner whose referral link carries `code`, if any."""
    found = ReferralCode.objects.select_related("partner").filter(code=code.strip()).first()
    if found is None or found.partner.status != Partner.Status.ACTIVE:
        return None
    return found.partner


def _domains_of_people(memberships) -> dict[str, str]:
    """domain -> a partner's name, for the given memberships, free-mail domains left out."""
    found = {}
    for email, name in memberships.values_list("user__email", "partner__name"):
        domain = rules.email_domain(email)
        if not rules.is_free_mail(domain, settings.REFERRAL_FREE_MAIL_DOMAINS):
            found.setdefault(domain, name)
    return found


def signals_of(application: Application) -> list[rules.Signal]:
    """Every reason to look twice at `application`, each with its reason, as of now."""
    found: list[rules.Signal] = []
    referrer = application.referrer
    number = application.registration_number
    domain = application.email_domain
    free_mail = rules.is_free_mail(domain, settings.REFERRAL_FREE_MAIL_DOMAINS)
    own_partner = application.partner_id
    if referrer is not None:
        if referrer.registration_number == number:
            found.append(
                rules.Signal(
                    "self_referral_number",
                    _("Self-referral: %(number)s is the registration number of the referrer, %(referrer)s.")
                    % {"number": number, "referrer": referrer.name},
                )
            )
        referrer_domains = _domains_of_people(Membership.objects.filter(partner=referrer))
        if not free_mail and domain in referrer_domains:
            found.append(
                rules.Signal(
                    "self_referral_domain",
                    _("Self-referral: the e-mail domain %(domain)s is the referrer's own (%(referrer)s's people).")
                    % {"domain": domain, "referrer": referrer.name},
                )
            )
    partner = Partner.objects.filter(registration_number=number).exclude(pk=own_partner).first()
    if partner is not None and (referrer is None or partner.pk != referrer.pk):
        found.append(
            rules.Signal(
                "registered_partner",
                _("Registration number %(number)s is already the partner %(partner)s.")
                % {"number": number, "partner": partner.name},
            )
        )
    earlier = Application.objects.filter(registration_number=number).exclude(pk=application.pk)
    if earlier.exists():
        first = earlier.order_by("created_at").first()
        found.append(
            rules.Signal(
                "applied_before",
                _(
                    "Registration number %(number)s applied before: %(count)s other application(s), "
                    "the first on %(day)s."
                )
                % {
                    "number": number,
                    "count": earlier.count(),
                    "day": timezone.localdate(first.created_at).isoformat(),
                },
            )
        )
    if not free_mail:
        others = Membership.objects.filter(user__email__iendswith=f"@{domain}")
        if referrer is not None:
            others = others.exclude(partner=referrer)
        if own_partner:
            others = others.exclude(partner=own_partner)
        user = others.select_related("partner").first()
        if user is not None:
            found.append(
                rules.Signal(
                    "domain_in_use",
                    _("The e-mail domain %(domain)s is already used by the partner %(partner)s.")
                    % {"domain": domain, "partner": user.partner.name},
                )
            )
    if referrer is not None:
        since = application.created_at - timedelta(days=30)
        recent = Application.objects.filter(
            referrer=referrer, created_at__gt=since, created_at__lte=application.created_at
        ).count()
        limit = settings.REFERRAL_SIGNAL_MAX_PER_30_DAYS
        if recent > limit:
            found.append(
                rules.Signal(
                    "many_referrals",
                    _("%(referrer)s referred %(count)s businesses in the 30 days up to this one (more than %(limit)s).")
                    % {"referrer": referrer.name, "count": recent, "limit": limit},
                )
            )
    return found
