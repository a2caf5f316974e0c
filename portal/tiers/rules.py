"""Tier qualification as pure functions: which tier points reach, and what a monthly review decides.

A partner moves up as soon as its qualifying points reach a higher tier (any run), and down only at a monthly
review, after ``grace`` reviews in a row below its tier: then to the tier its points reach. At the review
before the one that would move it down, the company is told how many points, by which day, keep the tier.
"""

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class TierStep:
    """A tier as the rules see it."""

    id: int
    threshold: int


@dataclass(frozen=True)
class Standing:
    """Where a partner stands, as kept between runs."""

    earned: TierStep
    reviews_below: int = 0
    downgrade_on: date | None = None


@dataclass(frozen=True)
class Review:
    """What a run decides: the standing after it, and whether it moved the tier down (grace over)."""

    standing: Standing
    moved_down: bool = False
    warn: bool = False  # the next review moves it down unless it earns more: tell the company now


def tier_for(points: int, tiers: Sequence[TierStep]) -> TierStep | None:
    """The highest tier whose threshold `points` reach (`tiers` in any order); None below every tier."""
    reached = [t for t in tiers if t.threshold <= points]
    return max(reached, key=lambda t: t.threshold) if reached else None


def next_tier(current: TierStep, tiers: Sequence[TierStep]) -> TierStep | None:
    above = [t for t in tiers if t.threshold > current.threshold]
    return min(above, key=lambda t: t.threshold) if above else None


def daily(standing: Standing, qualifying: int, tiers: Sequence[TierStep]) -> Review:
    """Any day's run: up at once when the points reach a higher tier; never down."""
    reached = tier_for(qualifying, tiers)
    if reached is not None and reached.threshold > standing.earned.threshold:
        return Review(Standing(reached))
    return Review(standing)


def monthly(
    standing: Standing, qualifying: int, qualifying_at_next: int, tiers: Sequence[TierStep], *, grace: int,
    next_review: date,
) -> Review:  # fmt: skip
    """A monthly review. `qualifying_at_next` is what the points already earned will count at the next
    review (those older than twelve months by then no longer count)."""
    reached = tier_for(qualifying, tiers) or standing.earned
    moved_down = False
    if reached.threshold >= standing.earned.threshold:
        standing = Standing(reached if reached.threshold > standing.earned.threshold else standing.earned)
    elif standing.reviews_below + 1 > grace:
        standing, moved_down = Standing(reached), True
    else:
        standing = Standing(standing.earned, standing.reviews_below + 1)
    keeps = qualifying_at_next >= standing.earned.threshold
    if not keeps and standing.reviews_below + 1 > grace:
        return Review(Standing(standing.earned, standing.reviews_below, next_review), moved_down, warn=True)
    return Review(standing, moved_down)


def add_months(day: date, months: int) -> date:
    """The same day `months` later (or earlier), or the month's last day when it has no such day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def first_of_next_month(day: date) -> date:
    return add_months(day.replace(day=1), 1)
