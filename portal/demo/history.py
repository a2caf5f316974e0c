"""Eight months of a demo partner's business, written as what the ERP, its people and its account
manager would have sent: orders with their lines, returns, invoices and payments, redemptions and
adjustments, quizzes, questionnaires and feedback forms, and referrals.

A partner's history is walked day by day from a random generator seeded by its ERP id, so it is the
same on every run and on every machine, and so are its ids (``SO-<partner>-<n>``, ``INV-...``,
``PAY-...``, ``RMA-...``): the earning services answer "duplicate" for what was recorded before. The
plan holds no points: the programme's own rules work them out when ``replay`` sends it through the
product's services, and the history a partner sees is what those services made of it.
"""

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.models import Membership, Partner
from portal.demo.directory import PartnerSpec

HISTORY_DAYS = 243  # eight months
APPROVAL_WAIT_DAYS = 7  # redemptions younger than this still wait for their account manager


@dataclass(frozen=True)
class Profile:
    """How a kind of partner buys: orders a month, net order value, payment terms (days)."""

    orders_per_month: float
    order_value: tuple[int, int]
    payment_terms: int
    adjustment_points: tuple[int, int]


PROFILES = {
    Partner.Kind.RESELLER: Profile(3.5, (1_500, 28_000), 30, (150, 1_200)),
    Partner.Kind.DISTRIBUTOR: Profile(5.0, (15_000, 180_000), 45, (500, 4_000)),
    Partner.Kind.POINT_OF_SALE: Profile(4.0, (300, 4_500), 30, (50, 400)),
}

# What the vendor sells (it roasts coffee and makes espresso machines): sku, category, unit price.
PRODUCTS = [
    ("MCH-PRO300", "Machines", Decimal("2450.00")),
    ("MCH-OFFICE-S", "Machines", Decimal("1290.00")),
    ("GRD-K60", "Grinders", Decimal("890.00")),
    ("GRD-G20", "Grinders", Decimal("189.00")),
    ("COF-HOUSE-1KG", "Coffee", Decimal("18.50")),
    ("COF-ORIGIN-1KG", "Coffee", Decimal("27.00")),
    ("CAP-X5-100", "Capsules", Decimal("42.00")),
    ("CAP-CLASSIC-100", "Capsules", Decimal("31.00")),
    ("SRV-CARE-1Y", "Service", Decimal("240.00")),
    ("ACC-MILK-JUG", "Accessories", Decimal("12.90")),
    ("ACC-TAMPER-58", "Accessories", Decimal("24.00")),
    ("ACC-DESCALER-6", "Accessories", Decimal("36.00")),
]
# Who buys what most: distributors move coffee and capsules, points of sale consumables.
WEIGHTS = {
    Partner.Kind.RESELLER: [3, 4, 2, 3, 4, 2, 4, 3, 3, 2, 2, 2],
    Partner.Kind.DISTRIBUTOR: [1, 1, 1, 1, 6, 4, 6, 5, 1, 2, 1, 2],
    Partner.Kind.POINT_OF_SALE: [0, 1, 1, 2, 6, 4, 3, 3, 1, 3, 2, 3],
}

# The Learn section's items the demo's people take (``portal.demo.learning`` makes their pages): (slug, kind).
# Eight, the quizzes first, as the history has always drawn them: the draws, and so every partner's history, stay
# the same.
LEARNING = [
    ("barista-basics", "quiz"),
    ("pro300-descaling", "quiz"),
    ("capsules-x5", "quiz"),
    ("milk-texturing", "quiz"),
    ("selling-to-offices", "quiz"),
    ("partner-feedback-q3", "feedback"),
    ("delivery-survey", "feedback"),
    ("sustainability-2026", "questionnaire"),
]
# A Hebrew-speaking reseller's people all learn in one month, the seventh before today: the company reaches its
# monthly learning cap, and what its people complete after that is recorded with no points.
STUDY_DOMAIN = "coffee4work.example"
STUDY_MONTHS_AGO = 7

# Businesses a partner refers: (name, kind, region, language of their e-mails).
REFERRED_BUSINESSES = [
    ("Café Aroma Ra'anana", Partner.Kind.POINT_OF_SALE, "Sharon", "en"),
    ("Kibbutz Hatzor dining hall", Partner.Kind.POINT_OF_SALE, "South", "he"),
    ("Lakeside Office Park", Partner.Kind.RESELLER, "Center", "en"),
    ("מאפיית בית שמש", Partner.Kind.POINT_OF_SALE, "Jerusalem", "he"),
    ("Hadera Convenience", Partner.Kind.POINT_OF_SALE, "Haifa", "en"),
    ("Galil Coffee Carts", Partner.Kind.RESELLER, "North", "en"),
    ("מזנון העירייה", Partner.Kind.POINT_OF_SALE, "Center", "he"),
    ("Modiin Business Lounge", Partner.Kind.RESELLER, "Center", "en"),
]
CONTACTS = ["Noa Peretz", "Yael Cohen", "Avi Mizrahi", "Dana Levi", "Omer Katz", "Shira Azulay"]
REFERRAL_REJECTIONS = ["The delivery address is outside our service area", "Already buys through a distributor of ours"]
REJECTIONS = ["Out of stock until next quarter", "The delivery address is outside our service area"]
GOODWILL = ["Goodwill: late delivery", "Compensation: machine downtime", "Trade show stand support"]

# The well-known partner shows every kind of event; these come on top of its random ones (days ago).
NORTHWIND_SCRIPT = {
    190: [("referral", {"qualifies": True})],  # approved, then its first order and payment reward both
    150: [("redemption", {"decision": "reject"})],
    120: [("order", {"returned": "late"})],  # part of it returned after its window: a clawback
    110: [("redemption", {"decision": "approve"})],
    60: [("adjustment", {"points": 6_000, "reason": "Trade show stand support, spring fair", "approve": True})],
    40: [("adjustment", {"points": -300, "reason": "Correction: points for an invoice counted twice"})],
    25: [("redemption", {"decision": "approve"})],
    14: [("order", {"returned": "all"})],  # returned inside its window: the pending points are voided
    9: [("order", {"open_invoice": True})],
    5: [("adjustment", {"points": 7_500, "reason": "Goodwill: warehouse move delayed three deliveries"})],
    3: [("redemption", {"wait": True}), ("redemption", {"wait": True})],  # for the account manager's queue
}


# A kiosk that catered a wedding season: twenty machines lift it to Silver; it sends eighteen back after the
# return window (a clawback) in the month before last, so the last two monthly reviews find it below Silver
# and the latest warns that the next one moves it down. Its own orders are few (a fixed, low activity).
DOWNGRADE_DOMAIN = "cornerkiosk.example"
DOWNGRADE_ACTIVITY = 0.5
CATERING_LINES = [{"line_no": 1, "sku": "MCH-PRO300", "category": "Machines", "quantity": 20,
                   "net_amount": "49000.00"}]  # fmt: skip
CATERING_RETURNED = 18
CATERING_RETURN_AFTER_DAYS = 50


def catering_return_day(today: date) -> date:
    """The 15th of the month before last: after that month's review, before last month's."""
    index = today.year * 12 + today.month - 1 - 2
    return date(index // 12, index % 12 + 1, 15)


@dataclass(frozen=True)
class Person:
    user_id: int
    name: str
    role: Membership.Role


@dataclass(frozen=True)
class Event:
    """One thing that happened, at a moment: `kind` says which service takes `data`."""

    at: datetime
    kind: str  # order, return, invoice, payment, content, referral, redemption, adjustment
    data: dict = field(hash=False, compare=True)


@dataclass(frozen=True)
class Timeline:
    """When a demo partner joined (days ago) and, if suspended, when its activity stopped."""

    joined_days_ago: int
    stopped_days_ago: int


def timeline_of(spec: PartnerSpec) -> Timeline:
    rng = random.Random(f"{spec.rng_seed}:timeline")
    if spec.status == Partner.Status.APPLIED:
        return Timeline(joined_days_ago=rng.randint(3, 20), stopped_days_ago=0)
    recent = not spec.is_northwind and rng.random() < 0.2 and spec.domain != DOWNGRADE_DOMAIN
    joined = rng.randint(40, HISTORY_DAYS - 20) if recent else rng.randint(HISTORY_DAYS + 60, 1_400)
    stopped = rng.randint(40, 120) if spec.status == Partner.Status.SUSPENDED else 0
    return Timeline(joined_days_ago=joined, stopped_days_ago=stopped)


def partner_history(spec: PartnerSpec, *, people: list[Person], today: date, currency: str) -> list[Event]:
    """The partner's events, oldest first; nothing of today or later (the ERP has not sent it yet)."""
    if spec.status == Partner.Status.APPLIED:
        return []
    events = _Walk(spec, people=people, today=today, currency=currency).run()
    horizon = timezone.make_aware(datetime.combine(today, time.min))
    return sorted((e for e in events if e.at < horizon), key=lambda e: e.at)


def _moment(today: date, days_ago: int, minutes: int = 0) -> datetime:
    moment = datetime.combine(today - timedelta(days=days_ago), time(8)) + timedelta(minutes=minutes)
    return timezone.make_aware(moment)


class _Walk:
    def __init__(self, spec: PartnerSpec, *, people, today, currency):
        self.spec = spec
        self.people = people
        self.buyers = [p for p in people if p.role in (Membership.Role.OWNER, Membership.Role.PURCHASER)]
        self.today = today
        self.currency = currency
        self.rng = random.Random(spec.rng_seed)
        self.profile = PROFILES[spec.kind]
        self.activity = 1.6 if spec.is_northwind else self.rng.uniform(0.5, 1.4)
        if spec.domain == DOWNGRADE_DOMAIN:
            self.activity = DOWNGRADE_ACTIVITY
            returned_days_ago = (today - catering_return_day(today)).days
            self.script = {returned_days_ago + CATERING_RETURN_AFTER_DAYS: [("catering_order", {})]}
        else:
            self.script = NORTHWIND_SCRIPT if spec.is_northwind else {}
        self.events: list[Event] = []
        self.numbers: dict[str, int] = {}
        self.learned: set[tuple[int, str]] = set()

    def run(self) -> list[Event]:
        timeline = timeline_of(self.spec)
        first_day = min(timeline.joined_days_ago, HISTORY_DAYS)
        for days_ago in range(first_day, timeline.stopped_days_ago, -1):
            self.day, self.minutes = days_ago, 0
            if days_ago == timeline.joined_days_ago:
                # The moment it joined (no welcome bonus: that is a referred newcomer's, on its first order);
                # drawn still, so the rest of the history, and its ids, are those of earlier seeds.
                self._at()
            for event, options in self._events_of_the_day():
                getattr(self, f"_{event}")(**options)
        if self.spec.domain == STUDY_DOMAIN:
            self._study_month()
        return self.events

    def _events_of_the_day(self):
        per_day = self.activity / 30
        rng = self.rng
        events = []
        if rng.random() < self.profile.orders_per_month * per_day:
            events.append(("order", {}))
        if rng.random() < 0.8 * len(self.people) / 30:
            events.append(("learning", {}))
        if rng.random() < 0.15 / 30:
            events.append(("referral", {}))
        if self.buyers and rng.random() < (1.0 if self.spec.kind == Partner.Kind.DISTRIBUTOR else 0.5) / 30:
            events.append(("redemption", {}))
        if rng.random() < 0.1 / 30:
            events.append(("adjustment", {}))
        return events + self.script.get(self.day, [])

    # --- events ---------------------------------------------------------------------------

    def _order(self, returned=None, open_invoice=False):
        placed_at = self._at()
        order = self._id("SO", "order", 4)
        lines = self._lines()
        self._add(
            placed_at,
            "order",
            {"external_id": order, "partner": self.spec.external_id, "placed_at": placed_at.isoformat(),
             "currency": self.currency, "lines": lines},
        )  # fmt: skip
        if returned is None and self.rng.random() < 0.07:
            returned = self.rng.choice(["all", "part", "part"])
        if returned:
            self._return(order, placed_at, lines, whole=returned == "all", late=returned == "late")
        if returned != "all":  # an order sent back at once is cancelled before it is invoiced
            self._invoice(placed_at, lines, open_invoice=open_invoice)

    def _catering_order(self):
        """The kiosk's one big order, most of it sent back after the return window; its invoice is still open."""
        placed_at = self._at()
        order = self._id("SO", "order", 4)
        self._add(placed_at, "order", {"external_id": order, "partner": self.spec.external_id,
                                       "placed_at": placed_at.isoformat(), "currency": self.currency,
                                       "lines": CATERING_LINES})  # fmt: skip
        at = placed_at + timedelta(days=CATERING_RETURN_AFTER_DAYS, hours=2)
        self._add(at, "return", {"external_id": self._id("RMA", "return", 3), "order": order,
                                 "returned_at": at.isoformat(),
                                 "lines": [{"line_no": 1, "quantity": CATERING_RETURNED}]})  # fmt: skip
        self._invoice(placed_at, CATERING_LINES, open_invoice=True)

    def _lines(self) -> list[dict]:
        """A few lines whose net amounts add up to about what this kind of partner spends on an order."""
        low, high = self.profile.order_value
        target = Decimal(round(self.rng.triangular(low, high, low + (high - low) / 4)))
        count = self.rng.randint(1, 5)
        products = []
        while len(products) < count:
            product = self.rng.choices(PRODUCTS, weights=WEIGHTS[self.spec.kind])[0]
            if product not in products:
                products.append(product)
        shares = [self.rng.uniform(0.5, 1.5) for _ in products]
        lines = []
        for number, ((sku, category, price), share) in enumerate(zip(products, shares, strict=True), 1):
            quantity = max(1, int(target * Decimal(share / sum(shares)) / price))
            lines.append({"line_no": number, "sku": sku, "category": category, "quantity": quantity,
                          "net_amount": str(price * quantity)})  # fmt: skip
        return lines

    def _return(self, order: str, placed_at: datetime, lines: list[dict], *, whole: bool, late: bool):
        if whole:
            after = self.rng.randint(1, 4)
            returned = [{"line_no": x["line_no"], "quantity": x["quantity"]} for x in lines]
        else:
            line = self.rng.choice(lines)
            after = self.rng.randint(35, 60) if late else self.rng.randint(3, 60)
            quantity = max(1, line["quantity"] // self.rng.choice([1, 2, 3]))
            returned = [{"line_no": line["line_no"], "quantity": quantity}]
        at = placed_at + timedelta(days=after, hours=2)
        self._add(at, "return", {"external_id": self._id("RMA", "return", 3), "order": order,
                                 "returned_at": at.isoformat(), "lines": returned})  # fmt: skip

    def _invoice(self, placed_at: datetime, lines: list[dict], *, open_invoice: bool):
        issued = placed_at.date()
        due = issued + timedelta(days=self.profile.payment_terms)
        amount = sum(Decimal(x["net_amount"]) for x in lines)
        invoice = self._id("INV", "invoice", 4)
        self._add(placed_at + timedelta(minutes=5), "invoice",
                  {"external_id": invoice, "partner": self.spec.external_id, "amount": str(amount),
                   "currency": self.currency, "issued_on": issued.isoformat(), "due_on": due.isoformat()})  # fmt: skip
        if open_invoice:
            return
        habit = self.rng.random()
        if habit < 0.4:  # early: earns points
            paid = due - timedelta(days=self.rng.randint(10, min(25, self.profile.payment_terms - 1)))
        elif habit < 0.75:  # on time
            paid = due - timedelta(days=self.rng.randint(0, 9))
        else:  # late
            paid = due + timedelta(days=self.rng.randint(1, 20))
        if paid >= self.today:
            return  # not paid yet: open, and perhaps still early enough to earn
        self._add(timezone.make_aware(datetime.combine(paid, time(12))), "payment",
                  {"external_id": self._id("PAY", "payment", 4), "invoice": invoice, "amount": str(amount),
                   "paid_on": paid.isoformat()})  # fmt: skip

    def _learning(self):
        """A person opens an item and takes it; a quiz's outcome follows the person's mastery (70 to 100,
        ``portal.demo.learning``: most pass at once, some on a retry, a few never)."""
        person = self.rng.choice(self.people)
        slug, kind = self.rng.choice(LEARNING)
        if (person.user_id, slug) in self.learned:
            return  # once per person per item
        mastery = self.rng.randint(70, 100) if kind == "quiz" else 0
        self._learn(self._at(), person, slug, mastery)

    def _learn(self, at: datetime, person: Person, slug: str, mastery: int):
        self.learned.add((person.user_id, slug))
        seed = f"{self.spec.rng_seed}:{person.user_id}:{slug}"  # its own draws: the day's stay as they were
        retry_after_hours = random.Random(seed).randint(2, 72)
        self._add(at, "content", {"person": person.user_id, "item": slug, "mastery": mastery,
                                  "retry_after_hours": retry_after_hours, "seed": seed})  # fmt: skip

    def _study_month(self):
        """Every person takes every item in one month (most quizzes passed at once); they learned nothing after."""
        rng = random.Random(f"{self.spec.rng_seed}:study")
        index = self.today.year * 12 + self.today.month - 1 - STUDY_MONTHS_AGO
        first = date(index // 12, index % 12 + 1, 1)
        start = timezone.make_aware(datetime.combine(first, time.min))
        self.events = [e for e in self.events if e.kind != "content" or e.at < start]
        self.learned = {(e.data["person"], e.data["item"]) for e in self.events if e.kind == "content"}
        for n, (person, (slug, kind)) in enumerate((p, item) for p in self.people for item in LEARNING):
            day = first + timedelta(days=2 + n // 3)
            at = timezone.make_aware(datetime.combine(day, time(9))) + timedelta(minutes=20 * (n % 3))
            if (person.user_id, slug) not in self.learned:
                self._learn(at, person, slug, rng.choice([72, 80, 90, 95, 100]) if kind == "quiz" else 0)

    def _referral(self, qualifies=False):
        """A business applies through the partner's link; what happens next is drawn from a generator of its
        own (so the partner's own history is the same whatever the referral does): its account manager
        approves it (or rejects it) a few days later, and an approved business places its first order and
        pays it, or never orders within the window."""
        name, kind, region, language = self.rng.choice(REFERRED_BUSINESSES)
        number = self._id("REF", "referral", 2)
        rng = random.Random(f"{self.spec.external_id}:{number}")
        serial = self.numbers["referral"]
        body = f"52{self.spec.number:04d}{serial:02d}"
        slug = f"ref{self.spec.number}{serial:02d}"
        quantity = rng.randint(1, 4)
        self._add(self._at(), "referral", {
            "number": number,
            "company_name": name,
            "registration_number": body + _check_digit(body),
            "contact_name": rng.choice(CONTACTS),
            "email": f"office@{slug}.example",
            "phone": f"0{rng.randint(2, 9)}-555-{rng.randint(1000, 9999)}",
            "kind": kind,
            "region": region,
            "language": language,
            "decision": "reject" if rng.random() < 0.15 and not qualifies else "approve",
            "rejection": rng.choice(REFERRAL_REJECTIONS),
            "decide_after": 1 if qualifies else rng.randint(1, 4),
            "order_after": 3 if qualifies else rng.randint(4, 45) if rng.random() < 0.85 else None,  # None: never
            "order_lines": [{"line_no": 1, "sku": "MCH-OFFICE-S", "category": "Machines", "quantity": quantity,
                             "net_amount": str(Decimal("1290.00") * quantity)}],
            "pay_after": 5 if qualifies else rng.randint(10, 30),
            "slug": slug,
        })  # fmt: skip

    def _redemption(self, decision=None, wait=False):
        """A buyer redeems; which item is chosen when it happens, from what the company can afford then."""
        if not self.buyers:
            return
        if decision is None and self.day >= APPROVAL_WAIT_DAYS:
            roll = self.rng.random()
            decision = "reject" if roll < 0.1 else "cancel" if roll < 0.15 else "approve"
        self._add(self._at(), "redemption", {
            "number": self._id("R", "redemption", 3),
            "member": self.rng.choice(self.buyers).user_id,
            "choice": self.rng.random(),
            "decision": decision if self.day >= APPROVAL_WAIT_DAYS else None,
            "decide_after": self.rng.randint(1, min(5, self.day - 1)) if self.day > 1 else 0,
            "ship_after": self.rng.randint(1, 3),
            "deliver_after": self.rng.randint(2, 6),
            "rejection": self.rng.choice(REJECTIONS),
            "wait": wait,  # an item that waits for approval (a gift card with codes would go out at once)
        })  # fmt: skip

    def _adjustment(self, points=None, reason=None, approve=False):
        if points is None:
            low, high = self.profile.adjustment_points
            points = self.rng.randint(low // 10, high // 10) * 10
            reason = self.rng.choice(GOODWILL)
        ticket = self._id("T", "ticket", 2)
        self._add(self._at(), "adjustment", {"points": points, "reason": f"{reason} ({ticket})", "approve": approve,
                                             "approve_after": self.rng.randint(1, 3)})  # fmt: skip

    # --- bookkeeping ----------------------------------------------------------------------

    def _add(self, at: datetime, kind: str, data: dict):
        self.events.append(Event(at, kind, data))

    def _id(self, prefix: str, series: str, digits: int) -> str:
        self.numbers[series] = self.numbers.get(series, 0) + 1
        return f"{prefix}-{self.spec.number}-{self.numbers[series]:0{digits}d}"

    def _at(self) -> datetime:
        """This day, a little later than the event before: events of a day keep their order."""
        self.minutes += self.rng.randint(10, 50)
        return _moment(self.today, self.day, self.minutes)


def _check_digit(body: str) -> str:
    """The check digit that makes an 8-digit body a valid Israeli company number."""
    for digit in "0123456789":
        products = (int(d) * (1 + i % 2) for i, d in enumerate(body + digit))
        if sum(p - 9 if p > 9 else p for p in products) % 10 == 0:
            return digit
    raise AssertionError("unreachable")
