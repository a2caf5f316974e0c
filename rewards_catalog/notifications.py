"""E-mails about redemptions, each in its recipient's language, sent after the change is committed.

Every change of status is a RedemptionEvent, and its e-mails leave through the programme's outbox
(``portal.notices``): ``queue_notices`` writes the notice in the change's transaction, and the outbox
delivers it once after commit through ``send_notices``. The event's ``notified_at`` says when its e-mails
went out; an event already announced (the demo's past, a benchmark's redemptions) sends nothing.

The company hears of every change of status: the person who redeemed, and the company's owners. The
account manager hears when a redemption waits for them (or, for a partner without one, the programme's
administrators). A gift-card code is money: it is written only in the body of the mail to the person
who redeemed it (a member of the company), never in a subject, and never logged.
"""

import logging

from django.contrib.auth.backends import ModelBackend
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Membership, User
from portal.notices import services as notices
from rewards_catalog.models import Redemption, RedemptionEvent

logger = logging.getLogger(__name__)
Status = Redemption.Status
NOTICE_KIND = "rewards_catalog.redemption_event"


def send_notices(event_id: int) -> int:
    """Send the e-mails of one history row, once: a second run finds it sent (``notified_at``)."""
    with transaction.atomic():
        event = (
            RedemptionEvent.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("redemption__partner__account_manager", "redemption__item", "redemption__member")
            .filter(pk=event_id, notified_at__isnull=True)
            .first()
        )
        if event is None:
            return 0
        redemption = event.redemption
        sent = 0
        for person in company_recipients(redemption):
            sent += _send_to_member(event, person)
        if event.to_status == Status.AWAITING_APPROVAL:
            for person in deciders(redemption):
                sent += _send_to_decider(event, person)
        event.notified_at = timezone.now()
        event.save(update_fields=["notified_at"])
    return sent


def queue_notices(event_id: int) -> None:
    """Put the e-mails about one change of status in the outbox; call in the change's transaction."""
    notices.enqueue(NOTICE_KIND, key=f"{NOTICE_KIND}:{event_id}", payload={"event": event_id})


def deliver_notice(payload: dict) -> int:
    """The outbox's sender for redemption notices (registered in the app's ready())."""
    return send_notices(payload["event"])


def company_recipients(redemption: Redemption) -> list[User]:
    """The person who redeemed (while still of the company) and the company's owners."""
    people = User.objects.filter(is_active=True, membership__partner_id=redemption.partner_id)
    chosen = people.filter(pk=redemption.member_id) | people.filter(membership__role=Membership.Role.OWNER)
    return list(chosen.distinct().order_by("pk"))


def deciders(redemption: Redemption) -> list[User]:
    manager = redemption.partner.account_manager
    if manager is not None and manager.is_active and manager.is_staff:
        return [manager]
    administrators = ModelBackend().with_perm("accounts.view_all_partners", is_active=True, include_superusers=False)
    return list(administrators.filter(is_staff=True).order_by("pk"))


def _send_to_member(event: RedemptionEvent, person: User) -> int:
    redemption = event.redemption
    with_codes = person.pk == redemption.member_id and event.to_status == Status.FULFILLED
    codes = list(redemption.codes.order_by("pk").values_list("code", flat=True)) if with_codes else []
    with translation.override(person.language):
        subject = _("Your redemption #%(id)s: %(status)s") % {
            "id": redemption.pk,
            "status": Status(event.to_status).label,
        }
        body = render_to_string(
            "rewards_catalog/email/company_notice.txt",
            {
                "person": person,
                "redemption": redemption,
                "event": event,
                "status": Status(event.to_status).label,
                "codes": codes,
                "link": notices.link(reverse("rewards_catalog:redemption", args=[redemption.pk])),
            },
        )
    return _send(subject, body, person)


def _send_to_decider(event: RedemptionEvent, person: User) -> int:
    redemption = event.redemption
    with translation.override(person.language):
        subject = _("Redemption #%(id)s of %(partner)s awaits your approval") % {
            "id": redemption.pk,
            "partner": redemption.partner,
        }
        body = render_to_string(
            "rewards_catalog/email/decider_notice.txt",
            {
                "person": person,
                "redemption": redemption,
                "link": notices.link(reverse("redemption:inspect", args=[redemption.pk])),
            },
        )
    return _send(subject, body, person)


def _send(subject: str, body: str, person: User) -> int:
    try:
        return send_mail(subject, body, None, [person.email])
    except OSError:
        # After commit the redemption stands whatever the mail server says; logged without the body (codes).
        logger.exception("Could not e-mail %s about a redemption (subject: %s)", person.email, subject)
        return 0
