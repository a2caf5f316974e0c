"""A ledger entry's row on a partner's pages and in the CSV export, worded by the ledger's registry
(``portal.ledger.wording``: what the entry is and how its points add up) and its reads (its status)."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice

from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

from portal.earning.queries import release_dates
from portal.ledger.models import Code, Transfer
from portal.ledger.queries import EntryKind, available_change, is_open, status_of
from portal.ledger.wording import word_entry
from portal.web.numbers import whole_number_format

# --- Pages -----------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryRow:
    """An entry as a page shows it, worded here so the template only places it (the dashboard is hot)."""

    moment: datetime
    day: str
    code: str
    source: str
    reason: str
    breakdown: str
    points: str
    tone: str  # pos, neg, or aside (does not change the available balance)
    status: str
    is_open: bool


def entry_rows(entries: list[Transfer], *, until_when: bool = True) -> list[EntryRow]:
    """Rows for a page's entries. With `until_when`, pending order points say until when (one query, if any)."""
    release_at = release_dates([e for e in entries if is_open(e) and e.points > 0]) if until_when else {}
    codes = dict(Code.choices)
    number = whole_number_format()
    rows = []
    for entry in entries:
        status = status_of(entry)
        until = release_at.get(entry.ref_id) if entry.ref_type == "order" and is_open(entry) else None
        if until:
            status += " · " + _("until %(day)s") % {"day": _short_date(until)}
        if not getattr(entry, "changes_available", True):
            tone = "aside"
        else:
            tone = "neg" if entry.points < 0 else "pos"
        words = word_entry(entry)
        rows.append(
            EntryRow(
                moment=entry.effective_at,
                day=_short_date(entry.effective_at),
                code=entry.code,
                source=str(codes.get(entry.code, entry.code)),
                reason=words.reason,
                breakdown=words.breakdown,
                points=("+" if entry.points > 0 else "") + number(entry.points),
                tone=tone,
                status=status,
                is_open=is_open(entry),
            )
        )
    return rows


_ROW_HTML = (
    '<tr class="{open}"><td class="c-date"><time datetime="{iso}">{day}</time></td>'
    '<td class="c-source">{source}</td><td class="c-what"><bdi>{reason}</bdi>{breakdown}</td>'
    '<td class="c-points num"><span class="points {tone}" dir="ltr">{points}</span></td>'
    '<td class="c-status"><span class="status{status_open}">{status}</span></td></tr>\n'
)


def rows_html(rows: list[EntryRow]) -> str:
    """The table rows of `_entries.html`, written here rather than by a template loop: on the dashboard, the
    page partners open most, the loop cost more than all its queries. Every value is escaped."""
    return format_html_join(
        "",
        _ROW_HTML,
        (
            dict(
                open="is-open" if row.is_open else "",
                iso=timezone.localtime(row.moment).isoformat(),
                day=row.day,
                source=row.source,
                reason=row.reason,
                breakdown=format_html('<div class="breakdown"><bdi>{}</bdi></div>', row.breakdown)
                if row.breakdown
                else "",
                tone=row.tone,
                points=row.points,
                status_open=" status-open" if row.is_open else "",
                status=row.status,
            )
            for row in rows
        ),
    )


def _short_date(moment: datetime) -> str:
    return formats.date_format(timezone.localtime(moment), "SHORT_DATE_FORMAT")


# --- CSV -------------------------------------------------------------------------------

# A spreadsheet runs a cell that starts with one of these as a formula (OWASP's CSV injection list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK = 2_000


def spreadsheet_safe(value):
    """A text cell a spreadsheet would run is prefixed with a quote; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_header() -> list[str]:
    return [
        _("Date"),
        _("Source"),
        _("Kind"),
        _("Reason"),
        _("Details"),
        _("Points"),
        _("Change to available points"),
        _("Status"),
        _("Available from"),
        _("Reference"),
    ]


def csv_rows(entries: Iterable[Transfer]) -> Iterator[list]:
    """One row per entry; the dates of pending order points are read a chunk at a time."""
    codes, kinds = dict(Code.choices), dict(EntryKind.choices)
    entries = iter(entries)
    while chunk := list(islice(entries, CHUNK)):
        release_at = release_dates(chunk)
        for entry in chunk:
            available_from = release_at.get(entry.ref_id) if is_open(entry) and entry.points > 0 else None
            words = word_entry(entry)
            row = [
                _iso_day(entry.effective_at),
                str(codes.get(entry.code, entry.code)),
                str(kinds.get(entry.kind, entry.kind)),
                words.reason,
                words.breakdown,
                entry.points,
                available_change(entry),
                status_of(entry),
                _iso_day(available_from) if available_from else "",
                f"{entry.ref_type} {entry.ref_id}".strip(),
            ]
            yield [spreadsheet_safe(cell) for cell in row]


def _iso_day(moment: datetime) -> str:
    return timezone.localtime(moment).date().isoformat()
