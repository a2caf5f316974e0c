"""The account managers' learning report: per item, what the partners they may see did with it.

Figures per item (a translation group: its English and Hebrew copies count as one), each broken down by the
partners' kind and region, over a date range of the programme's calendar:

- views: people who opened the item, once a day per person (``ItemView``);
- attempts, passes, the pass rate and the average score: every quiz attempt (a retry is an attempt too);
- completions and the points given: one per person and item (``Completion``; a completion over the
  company's monthly cap gave fewer points, or none).

Only the rows of `partners` count (``accounts.queries.partners_visible_to``: an account manager's portfolio,
every partner for an administrator). The figures come from four queries whatever the number of items: the
items, then one aggregate (GROUP BY item, kind, region) per kind of record.
"""

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from wagtail.models import Page

from accounts.models import Partner
from content.models import (
    ArticlePage,
    Completion,
    FeedbackPage,
    ItemView,
    QuestionnairePage,
    QuizAttempt,
    QuizPage,
)
from content.queries import reading_languages
from portal.tiers.queries import start_of

ITEM_KINDS = {ArticlePage: "article", QuizPage: "quiz", QuestionnairePage: "questionnaire", FeedbackPage: "feedback"}


@dataclass(frozen=True)
class Period:
    """Days of the programme's calendar, both ends included; None: unbounded."""

    start: date | None = None
    end: date | None = None

    def moments(self, field_name: str) -> Q:
        """The filter of a timestamp column to the period (its days in the programme's time zone)."""
        condition = Q()
        if self.start:
            condition &= Q(**{f"{field_name}__gte": start_of(self.start)})
        if self.end:
            condition &= Q(**{f"{field_name}__lt": start_of(self.end + timedelta(days=1))})
        return condition

    def days(self, field_name: str) -> Q:
        condition = Q()
        if self.start:
            condition &= Q(**{f"{field_name}__gte": self.start})
        if self.end:
            condition &= Q(**{f"{field_name}__lte": self.end})
        return condition


ALL_TIME = Period()


@dataclass
class Figures:
    views: int = 0
    attempts: int = 0
    passed: int = 0
    score_total: int = 0  # the sum of the attempts' scores (%), for the average
    completions: int = 0
    points: int = 0

    def add(self, other: "Figures") -> None:
        for name in ("views", "attempts", "passed", "score_total", "completions", "points"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def pass_rate_percent(self) -> float | None:
        """The share of attempts that passed; None when nobody attempted."""
        return round(self.passed * 100 / self.attempts, 1) if self.attempts else None

    @property
    def average_score_percent(self) -> float | None:
        return round(self.score_total / self.attempts, 1) if self.attempts else None


@dataclass
class Segment:
    """The partners of one kind in one region."""

    kind: str
    region: str
    figures: Figures = field(default_factory=Figures)

    @property
    def kind_label(self) -> str:
        return str(Partner.Kind(self.kind).label) if self.kind in Partner.Kind.values else self.kind


@dataclass
class ItemFigures:
    item_key: uuid.UUID
    title: str
    kind: str  # "article", "quiz", "questionnaire", "feedback"
    page_id: int  # the copy the title is read from
    live: bool
    total: Figures = field(default_factory=Figures)
    segments: list[Segment] = field(default_factory=list)

    @property
    def earns(self) -> bool:
        return self.kind != "article"


@dataclass(frozen=True)
class Item:
    key: uuid.UUID
    title: str
    kind: str
    page_id: int
    live: bool


def items(keys: list[uuid.UUID] | None = None) -> dict[uuid.UUID, Item]:
    """Every item of the Learn section (or those of `keys`), in the site's order, each titled in the reader's
    language where it has a copy in it (one query)."""
    kind_of = {ContentType.objects.get_for_model(model).pk: kind for model, kind in ITEM_KINDS.items()}
    pages = Page.objects.filter(content_type__in=kind_of)
    if keys is not None:
        pages = pages.filter(translation_key__in=keys)
    rows = pages.order_by("path").values_list(
        "translation_key", "title", "locale__language_code", "content_type_id", "pk", "live"
    )
    rank = {language: i for i, language in enumerate(reading_languages())}
    chosen: dict[uuid.UUID, tuple] = {}  # in the order each item's first copy comes in the tree
    for row in rows:
        best = chosen.get(row[0])
        if best is None or rank.get(row[2], len(rank)) < rank.get(best[2], len(rank)):
            chosen[row[0]] = row
    return {
        key: Item(key=key, title=title, kind=kind_of[content_type], page_id=pk, live=live)
        for key, title, _language, content_type, pk, live in chosen.values()
    }


def learning_report(*, partners: QuerySet[Partner], period: Period = ALL_TIME) -> list[ItemFigures]:
    """Each item's figures over the period for the given partners, by kind and region (four queries)."""
    report = {
        key: ItemFigures(item_key=key, title=item.title, kind=item.kind, page_id=item.page_id, live=item.live)
        for key, item in items().items()
    }
    segments: dict[uuid.UUID, dict[tuple[str, str], Segment]] = defaultdict(dict)

    def figures_of(row) -> Figures:
        key, kind, region = row["item_key"], row["partner__kind"], row["partner__region"]
        segment = segments[key].get((kind, region))
        if segment is None:
            segment = segments[key][kind, region] = Segment(kind=kind, region=region)
        return segment.figures

    grouping = ("item_key", "partner__kind", "partner__region")
    views = ItemView.objects.filter(period.days("day"), partner__in=partners)
    for row in views.values(*grouping).annotate(n=Count("pk")).order_by():
        figures_of(row).views = row["n"]
    attempts = QuizAttempt.objects.filter(period.moments("created_at"), partner__in=partners)
    for row in (
        attempts.values(*grouping)
        .annotate(n=Count("pk"), passed=Count("pk", filter=Q(passed=True)), scores=Sum("score_percent"))
        .order_by()
    ):
        figures = figures_of(row)
        figures.attempts, figures.passed, figures.score_total = row["n"], row["passed"], row["scores"]
    completions = Completion.objects.filter(period.moments("completed_at"), partner__in=partners)
    for row in completions.values(*grouping).annotate(n=Count("pk"), points=Sum("points")).order_by():
        figures = figures_of(row)
        figures.completions, figures.points = row["n"], row["points"]

    gone = set(segments) - set(report)
    if gone:  # an item whose pages were deleted keeps its figures, under the title it was completed as
        done_as = dict(Completion.objects.filter(item_key__in=gone).values_list("item_key", "title").distinct())
        for key in gone:
            report[key] = ItemFigures(item_key=key, title=done_as.get(key, ""), kind="", page_id=0, live=False)
    for key, by_segment in segments.items():
        item = report[key]
        item.segments = sorted(by_segment.values(), key=lambda s: (s.kind_label, s.region))
        for segment in item.segments:
            item.total.add(segment.figures)
    return list(report.values())


def report_totals(report: list[ItemFigures]) -> Figures:
    total = Figures()
    for item in report:
        total.add(item.total)
    return total


def local_moment(moment: datetime) -> str:
    """A moment as the programme's calendar reads it, to the minute (for the exports)."""
    return timezone.localtime(moment, ZoneInfo(settings.PROGRAMME_TIME_ZONE)).strftime("%Y-%m-%d %H:%M")
