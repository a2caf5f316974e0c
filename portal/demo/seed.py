"""The demo programme: staff, about ninety partners, their people and eight months of their business.

The history goes through the same paths as the product's: orders, returns, invoices and payments
through ``portal.earning.services.record`` (as the ERP API and the CSV import send them), the return
window through ``release_order_points``, adjustments through ``portal.earning.adjustments``,
redemptions through ``rewards_catalog.services``, quizzes, questionnaires and feedback forms through
``content.services`` (``portal.demo.learning``, which also makes the Learn section's pages), and the tier
review and the expiry run through ``portal.tiers.services`` week by week (``portal.demo.tiers``); so every
demo number is explained by a record a partner can see. See ``history`` (what happened) and ``replay``
(sending it through the services).

``seed_demo`` is safe to run again and again: people and partners are found by their e-mail address
and ERP id, the ERP's records keep their ids (the services answer "duplicate"), redemptions their
request key and adjustments their ticket. The history is dated from the day the demo was first
seeded, so a run on a later day sends the very same history. It all happens in one transaction, so a
failed run leaves nothing half-seeded.
"""

import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from accounts import services as accounts
from accounts.models import Partner, User
from portal.demo.directory import (
    ACCOUNT_MANAGERS,
    ACCOUNT_MANAGERS_GROUP,
    ADMINISTRATOR,
    DEMO_PASSWORD,
    MAX_PARTNERS_PER_KIND,
    NORTHWIND_OWNER,
    PartnerSpec,
    manager_for,
    partner_specs,
)
from portal.demo.history import HISTORY_DAYS, Person, partner_history, timeline_of
from portal.demo.learning import seed_learning
from portal.demo.programme import seed_catalog, seed_earning_rules
from portal.demo.replay import DemoRefused, Replay, Tally
from portal.demo.statements import StatementRuns
from portal.demo.tiers import MATCHED_DOMAIN, ProgrammeRuns, seed_tiers
from portal.earning.models import EarningSettings
from portal.ledger.models import Transfer
from portal.statements.models import Statement

__all__ = [
    "DEMO_PASSWORD",
    "MAX_PARTNERS_PER_KIND",
    "NORTHWIND_OWNER",
    "RECORDS",
    "DemoRefused",
    "SeedSummary",
    "seed_demo",
]

# What the summary counts, in the programme's words: (tally key, label).
RECORDS = [
    ("order", "orders"),
    ("invoice", "invoices"),
    ("payment", "payments"),
    ("return", "returns"),
    ("redemption", "redemptions"),
    ("adjustment", "adjustments"),
    ("content", "quizzes passed and forms answered"),
    ("attempt", "quiz attempts"),
    ("referral", "referrals"),
    ("welcome", "welcome bonuses"),
]


@dataclass
class SeedSummary:
    staff: int = 0
    staff_created: int = 0
    partners: int = 0
    partners_created: int = 0
    people: int = 0
    people_created: int = 0
    transfers: int = 0
    transfers_created: int = 0
    records: Tally = field(default_factory=Tally)
    rules_set: bool = False
    tiers_set: bool = False
    statements: int = 0
    new_partner_ids: set[int] = field(default_factory=set)
    seconds: float = 0.0
    logins: list[tuple[str, str]] = field(default_factory=list)  # (who, e-mail)

    @property
    def anything_created(self) -> bool:
        return bool(
            self.staff_created
            or self.partners_created
            or self.people_created
            or self.transfers_created
            or sum(self.records.created.values())
        )


def seed_demo(*, partners_per_kind: int = MAX_PARTNERS_PER_KIND, today: date | None = None) -> SeedSummary:
    """Create whatever of the demo programme is missing; return what there is and what is new."""
    started = time.monotonic()
    specs = partner_specs(partners_per_kind)
    summary = SeedSummary()
    # One hash for everyone: hashing is deliberately slow, and a few hundred of them would take minutes.
    password = make_password(DEMO_PASSWORD)
    # The demo's past was announced at the time: replaying it e-mails nobody.
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"), transaction.atomic():
        today = _first_seeded_on(specs) or today or timezone.localdate()
        transfers_before = Transfer.objects.count()
        administrator, managers = _seed_staff(password, summary)
        partners, suspend = _seed_partners(specs, managers, today, summary)
        replayed = {p for p, partner in partners.items() if partner.pk not in summary.new_partner_ids}
        people = _seed_people(specs, partners, password, summary)
        summary.rules_set = seed_earning_rules(today)
        summary.tiers_set = seed_tiers()  # before the catalog, whose items name tiers
        seed_catalog(administrator)
        learning = seed_learning(published_at=_at(today, HISTORY_DAYS + 1))
        currency = EarningSettings.load().currency
        histories = {
            spec.external_id: partner_history(spec, people=people[spec.external_id], today=today, currency=currency)
            for spec in specs
        }
        new = [partner for partner in partners.values() if partner.pk in summary.new_partner_ids]
        matched = next((partners[s.external_id] for s in specs if s.domain == MATCHED_DOMAIN), None)
        tier_runs = ProgrammeRuns(new, matched=matched, horizon=_at(today, 0))
        statement_runs = StatementRuns(new_partners=bool(new), horizon=_at(today, 0))

        def runs(at: datetime) -> None:  # the programme's periodic runs, as beat would have started them
            tier_runs(at)
            statement_runs(at)

        replay = Replay(
            partners,
            replayed=replayed,
            administrator=administrator,
            horizon=_at(today, 0),
            after_week=runs,
            learning=learning,
            joined=tier_runs.partners.append,  # partners made by approved referrals go through the runs too
        )
        summary.records = replay.run(histories)
        # Suspended partners earned like the others until they stopped; they are suspended now.
        accounts.suspend_partners(partner_ids=suspend)
        summary.statements = Statement.objects.count()
        summary.transfers = Transfer.objects.count()
        summary.transfers_created = summary.transfers - transfers_before
    summary.logins = _logins(specs)
    summary.seconds = time.monotonic() - started
    return summary


def _first_seeded_on(specs: list[PartnerSpec]) -> date | None:
    """The day the demo was first seeded, from the first partner's join date: its history is dated from it."""
    first = specs[0]
    partner = Partner.objects.filter(external_id=first.external_id).first()
    if partner is None:
        return None
    return timezone.localdate(partner.created_at) + timedelta(days=timeline_of(first).joined_days_ago)


def _seed_staff(password: str, summary: SeedSummary) -> tuple[User, dict[str, User]]:
    """The programme administrator and the account managers; returns the administrator and the managers."""
    users, created = accounts.load_people(
        people=[
            accounts.PersonRecord(
                email=s.email,
                first_name=s.first_name,
                last_name=s.last_name,
                is_staff=True,
                is_superuser=s.is_superuser,
            )
            for s in (ADMINISTRATOR, *ACCOUNT_MANAGERS)
        ],
        password_hash=password,
    )
    summary.staff, summary.staff_created = len(users), created
    managers = {m.email: users[m.email] for m in ACCOUNT_MANAGERS}
    accounts.add_to_group(users=managers.values(), group_name=ACCOUNT_MANAGERS_GROUP)  # their CMS permissions
    return users[ADMINISTRATOR.email], managers


def _seed_partners(specs: list[PartnerSpec], managers, today: date, summary: SeedSummary):
    """The partner companies by ERP id; those missing are created with their segments and join date.

    A partner to be suspended is created active, so its history earns as it did before it stopped;
    returns the partners and the ids of those to suspend once their history is in.
    """
    partners, created = accounts.load_partners(
        partners=[
            accounts.PartnerRecord(
                name=s.name,
                external_id=s.external_id,
                registration_number=s.registration_number,
                kind=s.kind,
                region=s.region,
                language=s.language,
                status=Partner.Status.ACTIVE if s.status == Partner.Status.SUSPENDED else s.status,
                account_manager=managers[manager_for(s.region).email],
                joined_at=_at(today, timeline_of(s).joined_days_ago),
                tags=s.tags,
            )
            for s in specs
        ]
    )
    summary.partners, summary.partners_created = len(partners), len(created)
    summary.new_partner_ids = {p.id for p in created}
    status = {s.external_id: s.status for s in specs}
    suspend = [p.id for p in created if status[p.external_id] == Partner.Status.SUSPENDED]
    return partners, suspend


def _seed_people(specs, partners: dict[str, Partner], password, summary) -> dict[str, list[Person]]:
    """Each partner's people, signed-in ready, by the partner's ERP id."""
    users, created = accounts.load_people(
        people=[
            accounts.PersonRecord(email=p.email, first_name=p.first_name, last_name=p.last_name, language=s.language)
            for s in specs
            for p in s.people
        ],
        password_hash=password,
    )
    summary.people, summary.people_created = len(users), created
    memberships = accounts.load_memberships(
        memberships=[(users[p.email], partners[s.external_id], p.role) for s in specs for p in s.people]
    )
    people = {s.external_id: [] for s in specs}
    for spec in specs:
        partner = partners[spec.external_id]
        for person in spec.people:
            user = users[person.email]
            membership = memberships[user.id]
            if membership.partner_id == partner.id:  # a person belongs to one company
                person = Person(user_id=user.id, name=user.get_full_name(), role=membership.role)
                people[spec.external_id].append(person)
    return people


def _logins(specs: list[PartnerSpec]) -> list[tuple[str, str]]:
    logins = [("programme administrator (CMS)", ADMINISTRATOR.email)]
    logins += [("account manager (CMS)", m.email) for m in ACCOUNT_MANAGERS]
    logins.append(("partner owner, Northwind Traders", NORTHWIND_OWNER))
    active = [s for s in specs if s.status == Partner.Status.ACTIVE]
    hebrew = next((s for s in active if s.language == Partner.Language.HEBREW), None)
    if hebrew is not None:
        logins.append((f"partner owner in Hebrew, {hebrew.name}", hebrew.people[0].email))
    return logins


def _at(today: date, days_ago: int) -> datetime:
    return timezone.make_aware(datetime.combine(today - timedelta(days=days_ago), datetime.min.time()))
