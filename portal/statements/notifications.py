"""The statement e-mail: one per statement version and person, in the person's language, with the PDF (which
is in the company's).

The run queues the notices with the statements (``services._announce``); the sender reads the person and the
statement when it sends, so someone who left the company, or stopped wanting statements by e-mail, meanwhile
gets nothing, and a statement regenerated meanwhile goes out as its newest file.
"""

from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, translation
from django.utils.translation import gettext as _

from accounts.models import User
from portal.ledger.wording import number
from portal.notices.services import link
from portal.statements.models import Statement, StatementBranding


def deliver_statement(payload: dict) -> int:
    statement = Statement.objects.select_related("partner").filter(pk=payload["statement"]).first()
    if statement is None:
        return 0
    person = User.objects.filter(
        pk=payload["user"], is_active=True, email_statements=True, membership__partner_id=statement.partner_id
    ).first()
    if person is None:
        return 0  # left the company, or no longer wants statements by e-mail
    partner = statement.partner
    with translation.override(person.language or partner.language):
        month = formats.date_format(statement.month, "YEAR_MONTH_FORMAT")
        branding = StatementBranding.load()
        subject = _("Your points statement for %(month)s") % {"month": month}
        body = render_to_string(
            "statements/email/statement.txt",
            {
                "partner": partner,
                "month": month,
                "closing": number(statement.figures.get("closing", 0)),
                "vendor": branding.display_name,
                "corrected": statement.version > 1,
                "link": link(reverse("statements:list")),
            },
        )
    message = EmailMessage(subject, body, None, [person.email])
    with statement.file.open("rb") as file:
        message.attach(statement.filename, file.read(), "application/pdf")
    return message.send()
