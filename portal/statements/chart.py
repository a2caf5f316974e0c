"""The statement's small chart: points earned per month by source, as stacked bars, drawn as SVG on the
server (no script, nothing fetched)."""

from datetime import date
from xml.sax.saxutils import escape

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

WIDTH, HEIGHT, BOTTOM, TOP = 480, 150, 20, 8


def earned_chart(months: list[tuple[date, dict[str, int]]], *, rtl: bool = False) -> str:
    """An SVG of the months' earned points by source, oldest first (rightmost first when `rtl`). Points
    below zero (a month whose returns outweighed its orders) draw nothing."""
    tallest = max([sum(max(0, p) for p in by_code.values()) for _, by_code in months] + [1])
    slot = WIDTH / max(len(months), 1)
    bar = slot * 0.6
    plot = HEIGHT - BOTTOM - TOP
    shapes = []
    for n, (month, by_code) in enumerate(months):
        x = (len(months) - 1 - n if rtl else n) * slot + (slot - bar) / 2
        y = HEIGHT - BOTTOM
        for code in EARNING_CODES:
            points = max(0, by_code.get(str(code), 0))
            if not points:
                continue
            h = points * plot / tallest
            y -= h
            shapes.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{SOURCE_COLOURS[code]}"/>'
            )
        label = escape(formats.date_format(month, "M"))
        shapes.append(f'<text x="{x + bar / 2:.1f}" y="{HEIGHT - 6}" font-size="9" text-anchor="middle">{label}</text>')
    shapes.append(f'<line x1="0" y1="{HEIGHT - BOTTOM}" x2="{WIDTH}" y2="{HEIGHT - BOTTOM}" stroke="#9ca3af"/>')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}"'
        f' width="{WIDTH}" height="{HEIGHT}" role="img">{"".join(shapes)}</svg>'
    )
