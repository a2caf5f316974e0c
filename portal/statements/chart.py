"""The statement's small chart: points earned per month by source, as stacked bars, drawn as SVG on the
server (no script, nothing fetched).

One path per source however many months, and no text inside the SVG: WeasyPrint lays SVG text out one letter
at a time (slow, and Hebrew comes out backwards), so the months' names are HTML under the chart
(``month_labels``), in the page's direction."""

from datetime import date

from django.utils import formats

from portal.ledger.models import Code
from portal.statements.figures import EARNING_CODES

# One colour per source, the same on every statement (the legend says which is which).
SOURCE_COLOURS = {
    Code.ORDER: "#2563eb",
    Code.EARLY_PAYMENT: "#16a34a",
    Code.CONTENT: "#9333ea",
    Code.REFERRAL: "#ea580c",
    Code.WELCOME: "#0891b2",
    Code.CAMPAIGN: "#db2777",
}

WIDTH, HEIGHT, TOP = 480, 100, 4


def earned_chart(months: list[tuple[date, dict[str, int]]], *, rtl: bool = False) -> str:
    """An SVG of the months' earned points by source, oldest first (rightmost first when `rtl`), one slot per
    month the width of a cell of ``month_labels``. Points below zero (a month whose returns outweighed its
    orders) draw nothing."""
    tallest = max([sum(max(0, p) for p in by_code.values()) for _, by_code in months] + [1])
    slot = WIDTH / max(len(months), 1)
    bar = slot * 0.6
    plot = HEIGHT - TOP
    paths = {code: [] for code in EARNING_CODES}
    for n, (_month, by_code) in enumerate(months):
        x = (len(months) - 1 - n if rtl else n) * slot + (slot - bar) / 2
        y = float(HEIGHT)
        for code in EARNING_CODES:
            points = max(0, by_code.get(str(code), 0))
            if not points:
                continue
            h = points * plot / tallest
            y -= h
            paths[code].append(f"M{x:.1f} {y:.1f}h{bar:.1f}v{h:.1f}h{-bar:.1f}z")
    shapes = [f'<path fill="{SOURCE_COLOURS[code]}" d="{"".join(d)}"/>' for code, d in paths.items() if d]
    shapes.append(f'<path stroke="#9ca3af" stroke-width="0.8" d="M0 {HEIGHT - 0.4}H{WIDTH}"/>')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}"'
        f' width="{WIDTH}" height="{HEIGHT}" role="img">{"".join(shapes)}</svg>'
    )


def month_labels(months: list[tuple[date, dict[str, int]]]) -> list[str]:
    """The months' short names, oldest first (a right-to-left page puts the first on the right)."""
    return [formats.date_format(month, "M") for month, _ in months]
