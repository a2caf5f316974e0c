"""Referrals' e-mails, through the outbox (``portal.notices``): to the applicant that the application
arrived and what was decided, in the language the applicant chose; and a member's referral link to an
address, in the member's language. Each notice names ids only; its text is made when it is sent."""

from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation

from accounts.models import User
from referrals.models import Application

NOTICE_KIND = "referrals.notice"  # the same as services.NOTICE_KIND (services imports nothing of this module)


def deliver_notice(payload: dict) -> int:
    """The outbox's sender for referrals: one message, or none when what it names is gone."""
    what = payload.get("what")
    if what == "link":
        return _send_link(payload)
    application = Application.objects.select_related("referrer").filter(pk=payload.get("application")).first()
    if application is None:
        return 0
    template = {"received": "received", "decided": application.status}.get(what)
    if template not in ("received", "approved", "rejected", "qualified", "expired"):
        return 0
    if template in ("qualified", "expired"):
        template = "approved"  # decided long ago: the message is about the decision
    return _send(f"referrals/email/{template}", application.language, {"application": application}, application.email)


def _send_link(payload: dict) -> int:
    from referrals.services import referral_link  # services enqueue these notices

    sender = User.objects.select_related("membership__partner").filter(pk=payload.get("sender")).first()
    if sender is None or not hasattr(sender, "membership"):
        return 0
    context = {"sender": sender, "partner": sender.membership.partner, "url": referral_link(payload["code"])}
    return _send("referrals/email/link", sender.language, context, payload["email"])


def _send(template: str, language: str, context: dict, to: str) -> int:
    with translation.override(language):
        subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
        body = render_to_string(f"{template}_message.txt", context)
    send_mail(subject, body, None, [to])
    return 1
