"""The dashboard's chart of points earned per month by source, drawn on the server as SVG.

Months are rows and sources are stacked along each bar, so the chart stays
readable on a phone (twelve labelled rows) as on a desktop, with each month's
total written at the end of its bar. Under a right-to-left language the
chart is mirrored: bars grow from the right, labels sit on the right.
"""

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

from django.utils import formats, timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from portal.ledger.models import Code
from portal.web.numbers import whole_number_format

# In the SVG's own units; the page draws it at 1:1 to about 1.4:1, so 12.5 units of text stay readable.
WIDTH = 340
LABEL_WIDTH = 64
TOTAL_WIDTH = 50
ROW_HEIGHT = 24
BAR_HEIGHT = 15
TOP = 4

# One colour per source that earns points, each at least 3:1 against white (WCAG's bar for graphics).
COLOURS = {
    Code.ORDER: "#1f5fa8",
    Code.EARLY_PAYMENT: "#1e7a46",
    Code.CONTENT: "#7b3fa0",
    Code.REFERRAL: "#a84700",
    Code.WELCOME: "#00707a",
    Code.CAMPAIGN: "#a3261b",
    Code.ADJUSTMENT: "#5b6476",
}
OTHER_COLOUR = "#3d4452"


@dataclass(frozen=True)
class Segment:
    code: str
    label: str
    colour: str
    points: int
    x: float
    width: float


@dataclass(frozen=True)
class Bar:
    month: date
    label: str
    total: int
    segments: tuple[Segment, ...]
    y: float
    label_x: float
    label_anchor: str
    total_x: float
    total_anchor: str

    @property
    def text_y(self) -> float:
        return self.y + BAR_HEIGHT - 3.5

    def points_of(self, code: str) -> int:
        return next((s.points for s in self.segments if s.code == code), 0)


@dataclass(frozen=True)
class Source:
    code: str
    label: str
    colour: str
    total: int


@dataclass(frozen=True)
class PointsChart:
    bars: tuple[Bar, ...]
    sources: tuple[Source, ...]
    total: int
    track_x: int
    width: int = WIDTH
    track_width: int = WIDTH - LABEL_WIDTH - TOTAL_WIDTH

    @property
    def height(self) -> int:
        return TOP * 2 + ROW_HEIGHT * len(self.bars)

    @property
    def bar_height(self) -> int:
        return BAR_HEIGHT

    @property
    def best(self) -> Bar | None:
        return max(self.bars, key=lambda bar: bar.total) if self.total else None


def last_months(today: date, count: int = 12) -> list[date]:
    """The first days of the last `count` months, oldest first, this month included."""
    months = []
    year, month = today.year, today.month
    for _step in range(count):
        months.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


@lru_cache(maxsize=256)
def _month_label(month: date, language: str) -> str:
    """The month as the chart names it ("Nov 2026"): the same twelve on every dashboard, so formatted once each."""
    return formats.date_format(month, "M Y")


def points_chart(rows: list[tuple[datetime, str, int]], *, months: list[date], mirrored: bool) -> PointsChart:
    """Lay out (month, code, points) rows as one stacked bar per month."""
    by_month: dict[date, dict[str, int]] = {month: {} for month in months}
    for moment, code, points in rows:
        day = timezone.localtime(moment).date() if isinstance(moment, datetime) else moment
        month = day.replace(day=1)
        if month in by_month:
            by_month[month][code] = by_month[month].get(code, 0) + points
    order = [code for code in COLOURS if any(code in m for m in by_month.values())]
    order += sorted({code for m in by_month.values() for code in m} - set(order))
    names = dict(Code.choices)
    labels = {code: str(names.get(code, code)) for code in order}  # translated once each
    peak = max((sum(m.values()) for m in by_month.values()), default=0)
    span = WIDTH - LABEL_WIDTH - TOTAL_WIDTH

    def place(x: float, width: float) -> float:
        return round(WIDTH - x - width if mirrored else x, 2)

    bars = []
    for row, month in enumerate(months):
        x = float(LABEL_WIDTH)
        segments = []
        for code in order:
            points = by_month[month].get(code, 0)
            if points <= 0:
                continue
            width = span * points / peak
            segments.append(
                Segment(
                    code,
                    labels[code],
                    COLOURS.get(code, OTHER_COLOUR),
                    points,
                    place(x, width),
                    round(width, 2),
                )
            )
            x += width
        bars.append(
            Bar(
                month=month,
                label=_month_label(month, get_language()),
                total=sum(by_month[month].values()),
                segments=tuple(segments),
                y=TOP + row * ROW_HEIGHT + (ROW_HEIGHT - BAR_HEIGHT) / 2,
                label_x=WIDTH if mirrored else 0,
                label_anchor="end" if mirrored else "start",
                total_x=place(x + 4, 0),
                total_anchor="end" if mirrored else "start",
            )
        )
    sources = tuple(
        Source(
            code,
            labels[code],
            COLOURS.get(code, OTHER_COLOUR),
            sum(m.get(code, 0) for m in by_month.values()),
        )
        for code in order
    )
    return PointsChart(
        bars=tuple(bars),
        sources=sources,
        total=sum(s.total for s in sources),
        track_x=TOTAL_WIDTH if mirrored else LABEL_WIDTH,
    )


def chart_svg(chart: PointsChart) -> SafeString:
    """The chart as inline SVG with its accessible title and description.

    Built here rather than in a template: twelve rows of shapes are a few
    hundred values, which Django's template engine renders several times
    slower. Every text is escaped; the numbers are ours.
    """
    _number = whole_number_format()
    best = chart.best
    description = _(
        "%(total)s points in the last 12 months. The best month was %(month)s, with %(points)s points."
        " The table below the chart lists every month by source."
    ) % {
        "total": _number(chart.total),
        "month": best.label if best else "",
        "points": _number(best.total if best else 0),
    }
    rows = []
    for bar in chart.bars:
        segments = "".join(
            f'<rect x="{s.x}" y="{bar.y}" width="{s.width}" height="{BAR_HEIGHT}" fill="{s.colour}">'
            f"<title>{escape(s.label)}: {_number(s.points)}</title></rect>"
            for s in bar.segments
        )
        total_class = "chart-total" if bar.total else "chart-total chart-zero"
        rows.append(
            f'<g class="chart-row"><text class="chart-month" x="{bar.label_x}" y="{bar.text_y}"'
            f' text-anchor="{bar.label_anchor}">{escape(bar.label)}</text>'
            f'<rect class="chart-track" x="{chart.track_x}" y="{bar.y}" width="{chart.track_width}"'
            f' height="{BAR_HEIGHT}"/>{segments}'
            f'<text class="{total_class}" x="{bar.total_x}" y="{bar.text_y}" text-anchor="{bar.total_anchor}">'
            f"{_number(bar.total)}</text></g>"
        )
    title = escape(_("Points earned per month over the last 12 months, by source"))
    return mark_safe(
        f'<svg class="points-chart" viewBox="0 0 {chart.width} {chart.height}" role="img"'
        f' aria-labelledby="chart-title chart-desc" focusable="false"><title id="chart-title">{title}</title>'
        f'<desc id="chart-desc">{escape(description)}</desc>{"".join(rows)}</svg>'
    )


def chart_table_rows(chart: PointsChart) -> SafeString:
    """The chart's numbers as table rows (month, each source, total), for those who read rather than look."""
    _number = whole_number_format()
    rows = []
    for bar in chart.bars:
        cells = "".join(f'<td class="num">{_number(bar.points_of(s.code))}</td>' for s in chart.sources)
        rows.append(
            f'<tr><th scope="row">{escape(bar.label)}</th>{cells}'
            f'<td class="num"><strong>{_number(bar.total)}</strong></td></tr>'
        )
    return mark_safe("\n".join(rows))


def chart_legend(chart: PointsChart) -> SafeString:
    """The legend's items: each source's colour, name and total."""
    _number = whole_number_format()
    return mark_safe(
        "".join(
            f'<li><span class="swatch" style="background: {s.colour}" aria-hidden="true"></span>{escape(s.label)}'
            f' <span class="legend-total" dir="ltr">{_number(s.total)}</span></li>'
            for s in chart.sources
        )
    )


def chart_table_head(chart: PointsChart) -> SafeString:
    """The header cells of the chart's table: the month, each source, the total."""
    cells = "".join(f'<th scope="col" class="num">{escape(s.label)}</th>' for s in chart.sources)
    month, total = escape(_("Month")), escape(_("Total"))
    return mark_safe(f'<th scope="col">{month}</th>{cells}<th scope="col" class="num">{total}</th>')
