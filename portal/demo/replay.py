"""Sending the demo's history through the product's own services, week by week, oldest first.

Each week, in this order: what people did (redemptions and their decisions, adjustments), against the
balance the weeks before left; then what the ERP sent (orders, invoices, returns, payments) through
``portal.earning.services.record`` in one batch per kind, with ``source="demo"``; then what people learned
(``portal.demo.learning``: quizzes and forms through ``content.services``); then ``release_order_points`` as
the periodic task would have run it, and the programme's other periodic runs (``after_week``: the tier review
and the expiry run).

Referrals go the product's whole way (``_refer``): the business applies through the referring partner's
link (``referrals.services.submit_application``), its account manager approves it (a new partner, its owner
invited) or rejects it, the newcomer's first order, invoice and payment go through ``record`` like every
ERP record, and the qualification check gives the referral points and the welcome bonus.

People's actions (and a failed quiz's retry) run "on the day" (``demo_clock``): the services read the time from
``django.utils.timezone.now``, so their rows and ledger entries carry the day of the history, not the
day of the seed. Rows the database stamps itself (a redemption's creation and history) are set to
that day afterwards, and marked as announced, so the past sends no e-mail.
"""

import heapq
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from unittest import mock

from django.core.exceptions import PermissionDenied, ValidationError

from accounts.audiences import PartnerFacts, facts_of, includes, terms_of, with_terms
from accounts.invitations import NOTICE_KIND as INVITATION_NOTICE
from accounts.models import Membership, Partner, User
from content.models import Completion
from portal.demo.history import Event
from portal.earning import adjustments
from portal.earning import services as earning
from portal.earning.models import Adjustment, EarningSettings, Invoice, Order, Payment
from portal.ledger.queries import balance_of
from portal.notices.models import Notice
from referrals import services as referrals
from referrals.models import Application
from rewards_catalog import services as catalog
from rewards_catalog.models import Item, Redemption, RedemptionEvent

WEEK = timedelta(days=7)
SOURCE = "demo"
ERP_KINDS = {"order": "orders", "invoice": "invoices", "return": "returns", "payment": "payments"}
REDEMPTIONS_NAMESPACE = uuid.UUID("6f1d3c1e-5b7a-4f5e-9d0e-2a8c0d7e4b11")


class DemoRefused(Exception):
    """A service refused part of the demo: the script and the programme's rules disagree, or the database
    was seeded by an older script whose history differs under the same ids."""


@dataclass
class Tally:
    created: Counter = field(default_factory=Counter)
    existing: Counter = field(default_factory=Counter)

    def count(self, kind: str, created: bool, n: int = 1) -> None:
        (self.created if created else self.existing)[kind] += n

    def total(self, kind: str) -> int:
        return self.created[kind] + self.existing[kind]


@contextmanager
def demo_clock(moment: datetime):
    """Run a service as it would have run at `moment`."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


class Replay:
    def __init__(
        self,
        partners: dict[str, Partner],
        *,
        replayed: set[str],
        administrator: User,
        horizon: datetime,
        after_week: Callable[[datetime], None] = lambda end: None,
        learning=None,
        joined: Callable[[Partner], None] = lambda partner: None,
    ):
        self.partners = partners
        self.after_week = after_week  # the programme's periodic runs, at the end of each week
        self.joined = joined  # told of each partner an approved referral makes, for those runs to include it
        self.replayed = replayed  # partners whose history an earlier run sent: their people did it all then
        self.administrator = administrator
        self.horizon = horizon  # nothing happens at or after it
        self.learning = learning  # portal.demo.learning.Learning: the Learn section's pages, and taking them
        self.tally = Tally()
        self.actions: list[tuple[datetime, int, Callable]] = []  # a heap of people's actions
        self.sequence = 0
        # Items for some tiers wait for the tiers' runs, which the replay does not judge here: left out.
        self.items = list(
            with_terms(Item.objects.filter(is_active=True).exclude(audience__tiers__isnull=False)).order_by(
                "-cost_points", "id"
            )
        )
        self.facts: dict[int, PartnerFacts] = {}
        self.currency = EarningSettings.load().currency
        self.qualified_before = set(
            Application.objects.filter(status=Application.Status.QUALIFIED).values_list("pk", flat=True)
        )

    def run(self, histories: dict[str, list[Event]]) -> Tally:
        weeks: dict[int, list[tuple[str, Event]]] = defaultdict(list)
        starts = [e.at for events in histories.values() for e in events]
        if not starts:
            return self.tally
        first = min(starts)
        for partner, events in histories.items():
            for event in events:
                weeks[(event.at - first) // WEEK].append((partner, event))
                if event.kind in ("redemption", "adjustment", "referral") and partner not in self.replayed:
                    self._later(event.at, self._action(partner, event))
        # What people did on an earlier run is all there: a partner's balance today would choose differently.
        replayed = [self.partners[p].id for p in self.replayed]
        self.tally.count("redemption", False, Redemption.objects.filter(partner_id__in=replayed).count())
        self.tally.count("adjustment", False, Adjustment.objects.filter(partner_id__in=replayed).count())
        self.tally.count("content", False, Completion.objects.filter(partner_id__in=replayed).count())
        self._count_replayed_referrals(replayed)
        for week in range(max(weeks) + 1):
            end = min(first + (week + 1) * WEEK, self.horizon)
            self._act_until(end)
            self._week(sorted(weeks.get(week, []), key=lambda pe: pe[1].at))
            earning.release_order_points(now=end)
            self.after_week(end)
        self._act_until(self.horizon)
        self._close_referral_windows()
        self.after_week(self.horizon)
        self._count_referrals()
        return self.tally

    # --- what the ERP sent ------------------------------------------------------------------

    def _week(self, events: list[tuple[str, Event]]) -> None:
        by_kind = defaultdict(list)
        for partner, event in events:
            by_kind[event.kind].append((partner, event))
        self._record("order", [e.data for _, e in by_kind["order"]])
        self._record("invoice", [e.data for _, e in by_kind["invoice"]])
        returns_by_day = defaultdict(list)
        for _, event in by_kind["return"]:
            returns_by_day[event.at.date()].append(event)
        for day_returns in returns_by_day.values():
            # The return window is judged on the day of the return, as the periodic task would have.
            earning.release_order_points(now=day_returns[0].at)
            self._record("return", [e.data for e in day_returns])
        self._record("payment", [e.data for _, e in by_kind["payment"]])
        for partner, event in by_kind["content"]:  # after the ERP's records, as the week's points always came
            if partner not in self.replayed:
                self._learn(self.partners[partner], event.data, event.at)

    def _record(self, kind: str, items: list[dict]) -> None:
        for start in range(0, len(items), earning.MAX_BATCH):
            results = earning.record(ERP_KINDS[kind], items[start : start + earning.MAX_BATCH], source=SOURCE)
            refused = [r for r in results if r.status == "rejected"]
            if refused:
                first = refused[0]
                raise DemoRefused(
                    f"{len(refused)} demo {ERP_KINDS[kind]} refused, e.g. {first.external_id}: "
                    f"{first.errors[0].field} {first.errors[0].message}."
                    " If the demo script changed since this database was seeded, start from an empty database."
                )
            for result in results:
                self.tally.count(kind, result.status == "created")

    # --- what people did ------------------------------------------------------------------------

    def _later(self, at: datetime, action: Callable) -> None:
        if at < self.horizon:
            self.sequence += 1
            heapq.heappush(self.actions, (at, self.sequence, action))

    def _act_until(self, end: datetime) -> None:
        while self.actions and self.actions[0][0] < end:
            at, _, action = heapq.heappop(self.actions)
            action(at)

    def _action(self, partner: str, event: Event) -> Callable:
        act = {"redemption": self._redeem, "adjustment": self._adjust, "referral": self._refer}[event.kind]
        return lambda at: act(self.partners[partner], event.data, at)

    def _learn(self, partner: Partner, data: dict, at: datetime) -> None:
        """A person takes a quiz or answers a form through the content services; a failed quiz comes back later."""
        member = Membership.objects.select_related("partner", "user").get(user_id=data["person"])
        self._count_turn(self.learning.take(member, data, at))

    def _count_turn(self, turn) -> None:
        if turn.attempted:
            self.tally.count("attempt", True)
        if turn.done:
            self.tally.count("content", True)
        if turn.retry is not None:
            at, retry = turn.retry
            self._later(at, lambda when: self._count_turn(retry(when)))

    def _redeem(self, partner: Partner, data: dict, at: datetime) -> None:
        request_key = uuid.uuid5(REDEMPTIONS_NAMESPACE, f"{partner.external_id}:{data['number']}")
        member = Membership.objects.select_related("partner", "user").get(user_id=data["member"])
        available = balance_of(partner).available
        affordable = [
            item
            for item in self.items
            if item.cost_points <= available
            and not (data["wait"] and item.code_pool_id)
            and self._offered(item, partner)
        ]
        if not affordable:
            return
        start = int(data["choice"] * min(3, len(affordable)))  # one of the dearest three it can afford
        for item in affordable[start:] + affordable[:start]:
            try:
                with demo_clock(at):
                    redemption = catalog.redeem(
                        item,
                        member=member,
                        shipping_address=f"{partner.name}\nGoods in, {partner.region}",
                        cause=(item.causes or [f"A school in {partner.region}"])[0],
                        request_key=request_key,
                    )
            except (ValidationError, PermissionDenied):  # out of stock, not for this partner, too dear now
                continue
            self._stamp(redemption, at)
            self.tally.count("redemption", True)
            self._follow_up(redemption, data, at)
            return

    def _offered(self, item: Item, partner: Partner) -> bool:
        """Whether the catalog offers the item to the partner now: a cheap look before a redemption tries."""
        terms = terms_of(item.audience)
        if terms is not None:
            if partner.id not in self.facts:
                self.facts[partner.id] = facts_of(partner, tier_id=None)
            if not includes(terms, self.facts[partner.id]):
                return False
        if item.stock is not None:
            item.stock = Item.objects.filter(pk=item.pk).values_list("stock", flat=True).get()
            return item.stock > 0
        return True

    def _follow_up(self, redemption: Redemption, data: dict, at: datetime) -> None:
        if redemption.status != Redemption.Status.AWAITING_APPROVAL or not data["decision"]:
            return  # delivered at once (a gift card with codes), or still waiting
        manager = redemption.partner.account_manager
        decided = at + timedelta(days=data["decide_after"], hours=3)
        if data["decision"] == "reject":
            self._later(decided, lambda when: self._step(redemption, when, catalog.reject, acting_user=manager,
                                                         reason=data["rejection"]))  # fmt: skip
        elif data["decision"] == "cancel":
            member = Membership.objects.get(user_id=redemption.member_id)
            self._later(decided, lambda when: self._step(redemption, when, catalog.cancel, member=member,
                                                         reason="Ordered by mistake"))  # fmt: skip
        else:
            self._later(decided, lambda when: self._approve(redemption, data, when, manager))

    def _approve(self, redemption: Redemption, data: dict, at: datetime, manager: User) -> None:
        redemption = self._step(redemption, at, catalog.approve, acting_user=manager)
        if redemption.status != Redemption.Status.APPROVED:
            return  # a gift card: its code went out with the approval
        delivered = at + timedelta(days=data["ship_after"] + data["deliver_after"])
        if redemption.item.kind == Item.Kind.GOODS:
            shipped = at + timedelta(days=data["ship_after"])
            note = f"Sent with Israel Post, tracking RR{redemption.pk:07d}IL"
            self._later(shipped, lambda when: self._step(redemption, when, catalog.mark_shipped,
                                                         acting_user=manager, tracking_note=note))  # fmt: skip
        self._later(delivered, lambda when: self._step(redemption, when, catalog.mark_fulfilled, acting_user=manager))

    def _step(self, redemption: Redemption, at: datetime, service: Callable, **kwargs) -> Redemption:
        with demo_clock(at):
            redemption = service(redemption, **kwargs)
        self._stamp(redemption, at)
        return redemption

    @staticmethod
    def _stamp(redemption: Redemption, at: datetime) -> None:
        """The database stamped the new rows with today: they happened at `at`, and were announced then."""
        Redemption.objects.filter(pk=redemption.pk, created_at__gt=at).update(created_at=at)
        RedemptionEvent.objects.filter(redemption=redemption, at__gt=at).update(at=at)
        RedemptionEvent.objects.filter(redemption=redemption, notified_at__isnull=True).update(notified_at=at)

    def _adjust(self, partner: Partner, data: dict, at: datetime) -> None:
        try:
            with demo_clock(at):
                adjustment = adjustments.request_adjustment(
                    partner, points=data["points"], reason=data["reason"], acting_user=partner.account_manager
                )
        except adjustments.AdjustmentExceedsBalance:
            return  # nothing to take back from
        self.tally.count("adjustment", True)
        if adjustment.status == Adjustment.Status.AWAITING_APPROVAL and data["approve"]:
            approved = at + timedelta(days=data["approve_after"], hours=2)

            def approve(when, adjustment=adjustment):
                with demo_clock(when):
                    adjustments.approve_adjustment(
                        adjustment, acting_user=self.administrator, note="Agreed with the partner's account manager."
                    )

            self._later(approved, approve)

    # --- referrals: applied, decided, the newcomer's first order and payment, qualified --------------------

    def _refer(self, partner: Partner, data: dict, at: datetime) -> None:
        """The business applies through the partner's link; its account manager decides a few days later."""
        if Application.objects.filter(registration_number=data["registration_number"]).exists():
            return  # applied on an earlier run (or a partner already under this number)
        fields = {name: data[name] for name in ("company_name", "registration_number", "contact_name", "email",
                                                "phone", "kind", "region", "language")}  # fmt: skip
        with demo_clock(at):
            application = referrals.submit_application(
                referrals.ApplicationForm(**fields, code=referrals.referral_code_for(partner).code)
            )
        self._hush(at)
        decided = at + timedelta(days=data["decide_after"], hours=3)
        self._later(decided, lambda when: self._decide(application, partner.account_manager, data, when))

    def _decide(self, application: Application, manager: User, data: dict, at: datetime) -> None:
        with demo_clock(at):
            if data["decision"] == "reject":
                referrals.reject_application(application, acting_user=manager, note=data["rejection"])
            else:
                note = "Checked with the referring partner." if referrals.signals_of(application) else ""
                application = referrals.approve_application(application, acting_user=manager, note=note)
                self.joined(application.partner)
        self._hush(at)
        if data["decision"] == "reject" or data["order_after"] is None:
            return
        ordered = at + timedelta(days=data["order_after"], hours=2)
        self._later(ordered, lambda when: self._first_order(application, data, when))

    def _first_order(self, application: Application, data: dict, at: datetime) -> None:
        """The newcomer's first order and its invoice, sent by the ERP like every other record."""
        erp_id, slug = application.partner.external_id, data["slug"]
        amount = str(sum(Decimal(line["net_amount"]) for line in data["order_lines"]))
        self._record("order", [{"external_id": f"SO-{slug}-1", "partner": erp_id, "placed_at": at.isoformat(),
                                "currency": self.currency, "lines": data["order_lines"]}])  # fmt: skip
        self._record("invoice", [{"external_id": f"INV-{slug}-1", "partner": erp_id, "amount": amount,
                                  "currency": self.currency, "issued_on": at.date().isoformat(),
                                  "due_on": (at.date() + timedelta(days=30)).isoformat()}])  # fmt: skip
        paid = at + timedelta(days=data["pay_after"], hours=1)
        payment = {"external_id": f"PAY-{slug}-1", "invoice": f"INV-{slug}-1", "amount": amount,
                   "paid_on": paid.date().isoformat()}  # fmt: skip
        self._later(paid, lambda when: self._first_payment(application, payment, when))

    def _first_payment(self, application: Application, payment: dict, at: datetime) -> None:
        """The payment, then the check the ERP's batch queues after it commits, as it would have run that day."""
        self._record("payment", [payment])
        with demo_clock(at):
            referrals.check_qualification(application.pk, now=at)

    def _count_replayed_referrals(self, referrer_ids: list[int]) -> None:
        """The ERP's records of newcomers an earlier run referred: there, and not sent again."""
        newcomers = Application.objects.filter(referrer_id__in=referrer_ids, partner__isnull=False).values("partner")
        self.tally.count("order", False, Order.objects.filter(partner__in=newcomers).count())
        self.tally.count("invoice", False, Invoice.objects.filter(partner__in=newcomers).count())
        self.tally.count("payment", False, Payment.objects.filter(invoice__partner__in=newcomers).count())

    def _close_referral_windows(self) -> None:
        """Referrals whose window ended by the demo's today without a first order expire, as beat's sweep does."""
        with demo_clock(self.horizon):
            for pk in referrals.waiting_applications():
                referrals.check_qualification(pk, now=self.horizon)

    def _count_referrals(self) -> None:
        """The referral points and welcome bonuses given, those of this run as new."""
        qualified = Application.objects.filter(status=Application.Status.QUALIFIED)
        for pk, referrer_points, welcome_points in qualified.values_list("pk", "referrer_points", "welcome_points"):
            created = pk not in self.qualified_before
            self.tally.count("referral", created, int(referrer_points > 0))
            self.tally.count("welcome", created, int(welcome_points > 0))

    @staticmethod
    def _hush(at: datetime) -> None:
        """The demo's past was announced at the time: its referral e-mails and owners' invitations are sent."""
        kinds = [referrals.NOTICE_KIND, INVITATION_NOTICE]
        Notice.objects.filter(kind__in=kinds, sent_at__isnull=True).update(sent_at=at)
