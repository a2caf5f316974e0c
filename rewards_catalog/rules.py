"""The catalog's rules as pure functions: no database, so each is easy to test at its edges.

`why_unavailable` gives the first reason an item is NOT available to a partner (or None), in words the
portal shows; `points_short` and `within_reach` say what the partner can afford; `period_start` where a
per-partner limit's period began; `mask_code` how a gift-card code is shown where it must not be read.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import models
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accounts import audiences
from accounts.models import Partner


class Period(models.TextChoices):
    MONTH = "month", gettext_lazy("month")
    QUARTER = "quarter", gettext_lazy("quarter")
    YEAR = "year", gettext_lazy("year")


@dataclass(frozen=True)
class ItemTerms:
    """What an item asks of a partner (a snapshot of the item's row)."""

    is_active: bool
    stock: int | None = None
    audience: audiences.AudienceTerms | None = None  # who it is offered to; None: every partner
    tier_names: tuple[str, ...] = ()  # its audience's tiers in the reader's language, lowest first, for the reason
    limit_per_period: int | None = None
    limit_period: str = ""
    active_from: datetime | None = None
    active_until: datetime | None = None


@dataclass(frozen=True)
class PartnerFacts:
    """What the rules need to know of a partner."""

    is_active: bool
    who: audiences.PartnerFacts  # what an audience asks of it: kind, region, tier, tags
    redeemed_in_period: int = 0  # units of this item redeemed in the item's current period (not rejected or cancelled)


@dataclass(frozen=True)
class Unavailable:
    """Why an item cannot be redeemed; `code` for callers, `message` for people."""

    code: str
    message: str

    def __str__(self):
        return str(self.message)


def why_unavailable(item: ItemTerms, partner: PartnerFacts, *, now: datetime, quantity: int = 1) -> Unavailable | None:
    """The first reason `partner` may not redeem `quantity` of `item` now, or None when it may."""
    if not partner.is_active:
        return Unavailable("partner_not_active", _("Your company's membership is not active, so it cannot redeem."))
    if not item.is_active:
        return Unavailable("item_withdrawn", _("This item has been withdrawn from the catalog."))
    if item.active_from and now < item.active_from:
        return Unavailable("not_yet", _("Available from %(date)s.") % {"date": _date(item.active_from)})
    if item.active_until and now >= item.active_until:
        return Unavailable("ended", _("This offer ended on %(date)s.") % {"date": _date(item.active_until)})
    outside = _outside_audience(item, partner.who)
    if outside is not None:
        return outside
    if item.stock is not None and item.stock < quantity:
        if item.stock == 0:
            return Unavailable("sold_out", _("Sold out."))
        return Unavailable(
            "not_enough_stock",
            ngettext("Only %(stock)s left.", "Only %(stock)s left.", item.stock) % {"stock": item.stock},
        )
    if item.limit_per_period:
        left = item.limit_per_period - partner.redeemed_in_period
        if left < quantity:
            period = Period(item.limit_period).label
            if left <= 0:
                message = ngettext(
                    "Your company has redeemed this %(limit)s time this %(period)s, the most allowed.",
                    "Your company has redeemed this %(limit)s times this %(period)s, the most allowed.",
                    item.limit_per_period,
                )
            else:
                message = ngettext(
                    "Your company may redeem %(left)s more this %(period)s.",
                    "Your company may redeem %(left)s more this %(period)s.",
                    left,
                )
            values = {"limit": item.limit_per_period, "left": left, "period": period}
            return Unavailable("period_limit", message % values)
    return None


def _outside_audience(item: ItemTerms, partner: audiences.PartnerFacts) -> Unavailable | None:
    """The item's audience's first limit the partner does not meet, in the portal's words."""
    limit = audiences.unmet(item.audience, partner)
    if limit is None:
        return None
    terms = item.audience
    if limit == audiences.Limit.TIER:
        return Unavailable("tier", _("Only for these tiers: %(tiers)s.") % {"tiers": ", ".join(item.tier_names)})
    if limit == audiences.Limit.PARTNER_KIND:
        names = ", ".join(
            str(Partner.Kind(kind).label) for kind in sorted(terms.partner_kinds) if kind in Partner.Kind.values
        )
        return Unavailable("partner_kind", _("Only for these kinds of partner: %(kinds)s.") % {"kinds": names})
    if limit == audiences.Limit.REGION:
        regions = ", ".join(sorted(terms.regions))
        return Unavailable("region", _("Only for partners in these regions: %(regions)s.") % {"regions": regions})
    return Unavailable("segment", _("Offered to selected partner groups only; yours is not among them."))


def _date(moment: datetime) -> str:
    return date_format(moment, "DATE_FORMAT")


def points_short(*, cost_points: int, quantity: int, available: int) -> int:
    """How many points the partner lacks for `quantity` of an item (0 when it can afford it)."""
    return max(0, cost_points * quantity - available)


def within_reach(*, cost_points: int, available: int, pending: int) -> bool:
    """Affordable now, or soon: once the points now pending (orders inside their return window) are released."""
    return cost_points <= available + max(0, pending)


def period_start(period: str, now: datetime) -> datetime:
    """When the current month, quarter or year began, in `now`'s time zone."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == Period.MONTH:
        return midnight.replace(day=1)
    if period == Period.QUARTER:
        return midnight.replace(month=(now.month - 1) // 3 * 3 + 1, day=1)
    if period == Period.YEAR:
        return midnight.replace(month=1, day=1)
    raise ValueError(f"unknown period {period!r}")


MASK = "****"


def mask_code(code: str) -> str:
    """A gift-card code as lists show it: its last four characters only, and only when it is long enough
    that four characters give nothing useful away (****-1234)."""
    if len(code) < 8:
        return MASK
    return f"{MASK}-{code[-4:]}"
