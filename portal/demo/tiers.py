"""The demo's tiers: the definitions an administrator enters in the CMS, and the programme's periodic runs
(the tier review and the expiry run, ``portal.tiers.services``) as beat would have run them during the history.

The thresholds fit the demo's twelve-month volumes (points of sale earn a few thousand qualifying points,
resellers tens of thousands, distributors hundreds of thousands), so its partners hold different tiers. Points
expire eight months after they were earned: the history is eight months long, so its oldest points come due
within days of the seed and the dashboard has points expiring in the next 90 days.

The runs are sent once a week of the history, after that week's business, ``on the day`` (``demo_clock``), so
a partner moves up when its points did, down after the grace period, and hears a review ahead. One
partner of Dana's portfolio gets a status match from her three weeks before the seed (``grant_tier``).
Only the partners new to this seed take part: the others went through it all on the run that made them.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from accounts.models import Partner, User
from portal.demo.replay import demo_clock
from portal.notices.models import Notice
from portal.tiers import services as tiers
from portal.tiers.models import Tier, TierGrant, TierSettings

# name, Hebrew name, qualifying points, multiplier, colour, benefits, Hebrew benefits
TIERS = [
    ("Member", "חבר", 0, "1.00", "#6b7280",
     "Points on every order\nThe partner portal and its Learn section",
     "נקודות על כל הזמנה\nפורטל השותפים ומדור הלמידה"),
    ("Silver", "כסף", 5_000, "1.10", "#94a3b8",
     "10% more points on orders\nPriority phone support",
     "10% יותר נקודות על הזמנות\nתמיכה טלפונית בעדיפות"),
    ("Gold", "זהב", 25_000, "1.25", "#d4a017",
     "25% more points on orders\nFree delivery on machine orders\nA named service engineer",
     "25% יותר נקודות על הזמנות\nמשלוח חינם בהזמנות מכונות\nטכנאי שירות קבוע"),
    ("Platinum", "פלטינום", 200_000, "1.50", "#4b5563",
     "50% more points on orders\nEarly access to new ranges\nA seat at the yearly partner summit",
     "50% יותר נקודות על הזמנות\nגישה מוקדמת למוצרים חדשים\nמקום בכנס השותפים השנתי"),
]  # fmt: skip
EXPIRY_MONTHS = 8

# The status match: which partner, to which tier, why, and when (days before the seed); held for six months.
MATCHED_DOMAIN = "harbourbistro.example"
MATCHED_TIER = "Gold"
MATCH_REASON = "Status match: Gold partner of a competing roaster's programme (certificate on file)"
MATCHED_DAYS_AGO = 21
MATCH_DAYS = 182

NOTICES = [tiers.DOWNGRADE_WARNING, tiers.EXPIRY_WARNING]


def seed_tiers() -> bool:
    """The demo's tiers and expiry, unless the programme has its tiers (a base tier) already: an earlier seed,
    or an administrator. Tiers the catalog named before they were defined (nobody reaches them) get theirs."""
    if Tier.objects.filter(threshold=0).exists():
        return False
    for name, name_he, threshold, multiplier, colour, benefits, benefits_he in TIERS:
        Tier.objects.update_or_create(
            name=name,
            defaults={"name_he": name_he, "threshold": threshold, "multiplier": Decimal(multiplier),
                      "colour": colour, "benefits": benefits, "benefits_he": benefits_he},
        )  # fmt: skip
    config = TierSettings.load()
    config.expiry_months = EXPIRY_MONTHS
    config.save()
    return True


class ProgrammeRuns:
    """The daily run as beat would have started it, once a week of the history (``Replay``'s ``after_week``)."""

    def __init__(self, partners: list[Partner], *, matched: Partner | None, horizon: datetime):
        self.partners = [p for p in partners if p.status == Partner.Status.ACTIVE]  # suspended only at the end
        self.matched = matched if matched in self.partners else None
        self.match_at = horizon - timedelta(days=MATCHED_DAYS_AGO)

    def __call__(self, at: datetime) -> None:
        ids = [p.id for p in self.partners if p.created_at <= at]
        if not ids:
            return
        today = timezone.localdate(at, ZoneInfo(settings.PROGRAMME_TIME_ZONE))
        with demo_clock(at):
            if self.matched is not None and at >= self.match_at:
                self._match(today)
            tiers.review_tiers(ids, today=today, monthly=True)
            tiers.run_expiry(ids, today=today)
        # The history's warnings went out at the time: the seed e-mails nobody.
        Notice.objects.filter(kind__in=NOTICES, sent_at__isnull=True, payload__partner__in=ids).update(sent_at=at)

    def _match(self, today: date) -> None:
        partner, self.matched = self.matched, None
        if TierGrant.objects.filter(partner=partner).exists():
            return
        manager = User.objects.get(pk=partner.account_manager_id)
        tiers.grant_tier(
            partner, tier=Tier.objects.get(name=MATCHED_TIER), ends_on=today + timedelta(days=MATCH_DAYS),
            reason=MATCH_REASON, granted_by=manager,
        )  # fmt: skip
