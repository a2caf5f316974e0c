"""Referrals' test helpers: valid company numbers, a referring company with its manager, an application
through the service, an approval, and the newcomer's first order and payment through the ERP's service."""

import itertools
from datetime import date, datetime, timedelta

from django.utils import timezone

from accounts.models import Membership
from portal.earning import services as earning
from referrals import services
from referrals.models import Application
from tests.factories import AccountManagerFactory, MembershipFactory, PartnerFactory, UserFactory

_serial = itertools.count(1000)


def company_number(body: str | None = None) -> str:
    """A valid Israeli company number: 8 digits (`body`, or a fresh one) and their check digit."""
    body = body or f"51{next(_serial):06d}"
    for check in range(10):
        number = f"{body}{check}"
        total = sum((p - 9 if p > 9 else p) for p in (int(d) * (1 + i % 2) for i, d in enumerate(number)))
        if total % 10 == 0:
            return number
    raise AssertionError("unreachable")


def referring_company(*, manager=None, domain="northwind.example", name="Northwind Traders", **partner):
    """An active partner with an owner at `domain`, in `manager`'s portfolio (a new account manager if None)."""
    manager = manager or AccountManagerFactory()
    referrer = PartnerFactory(name=name, account_manager=manager, registration_number=company_number(), **partner)
    owner = UserFactory(email=f"owner{next(_serial)}@{domain}")
    MembershipFactory(partner=referrer, user=owner, role=Membership.Role.OWNER)
    return referrer


def form(referrer=None, **fields) -> services.ApplicationForm:
    values = {
        "company_name": "Café Aroma Ra'anana",
        "registration_number": company_number(),
        "contact_name": "Noa Peretz",
        "email": f"noa{next(_serial)}@cafe-aroma.example",
        "phone": "09-555-1234",
        "kind": "point_of_sale",
        "region": "Sharon",
        "language": "en",
        "code": services.referral_code_for(referrer).code if referrer else "",
    }
    values.update(fields)
    return services.ApplicationForm(**values)


def apply(referrer=None, **fields) -> Application:
    return services.submit_application(form(referrer, **fields))


def approved(referrer=None, *, reviewer=None, at: datetime | None = None, note: str = "", **fields) -> Application:
    """An application approved by its referrer's manager (or `reviewer`), at `at` (now by default)."""
    application = apply(referrer, **fields)
    reviewer = reviewer or referrer.account_manager
    application = services.approve_application(application, acting_user=reviewer, note=note)
    if at is not None:
        Application.objects.filter(pk=application.pk).update(decided_at=at)
        application.refresh_from_db()
    return application


def order_item(partner, number: str, amount: str, *, placed_at: datetime | None = None) -> dict:
    return {
        "external_id": number,
        "partner": partner.external_id,
        "placed_at": (placed_at or timezone.now()).isoformat(),
        "currency": "USD",
        "lines": [{"line_no": 1, "sku": "MCH-PRO300", "category": "Machines", "quantity": 1, "net_amount": amount}],
    }


def invoice_item(partner, number: str, amount: str, *, issued_on: date | None = None) -> dict:
    issued_on = issued_on or timezone.localdate()
    return {
        "external_id": number,
        "partner": partner.external_id,
        "amount": amount,
        "currency": "USD",
        "issued_on": issued_on.isoformat(),
        "due_on": (issued_on + timedelta(days=30)).isoformat(),
    }


def payment_item(number: str, invoice: str, amount: str) -> dict:
    return {"external_id": number, "invoice": invoice, "amount": amount, "paid_on": timezone.localdate().isoformat()}


def record(kind: str, *items: dict) -> None:
    results = earning.record(kind, list(items), source="test")
    assert all(r.status in ("created", "duplicate") for r in results), results
