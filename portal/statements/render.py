"""A statement as a PDF: its figures in the partner's language through a template, laid out by WeasyPrint.

The renderer fetches through ``ProjectFilesOnly``: the project's static files and media and nothing else
(no ``file://``, no network), so whatever a partner or an account manager typed (a company name, an
entry's reason) can never make it read a local file or call an internal address. The parsed stylesheets
and the font configuration are made once per process and reused: they are a good part of a render; and the
user-agent stylesheet is cut to the elements a statement has (``statement_ua.css``).
"""

import mimetypes
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from posixpath import normpath
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.files.storage import default_storage
from django.template.loader import render_to_string
from django.utils import formats, translation
from django.utils.html import format_html
from django.utils.translation import gettext
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from portal.ledger.models import Code
from portal.ledger.queries import status_of
from portal.ledger.wording import number, word_entry
from portal.statements.chart import SOURCE_COLOURS, earned_chart, month_labels
from portal.statements.figures import EARNING_CODES, Figures
from portal.statements.models import StatementBranding

# The base of every relative URL in a statement: a name that resolves nowhere, so only the fetcher serves it.
ORIGIN = "https://statement.invalid"
STYLESHEET = Path(__file__).with_name("statement.css")
USER_AGENT_STYLESHEET = Path(__file__).with_name("statement_ua.css")


class NotAllowed(ValueError):
    """A statement asked for something outside the project's static files and media."""


class ProjectFilesOnly(URLFetcher):
    """Serves ``ORIGIN/static/...`` from the static files and ``ORIGIN/media/...`` from the storage API;
    refuses every other URL without opening it."""

    def __init__(self):
        super().__init__(allowed_protocols=("https",), allow_redirects=False)

    def fetch(self, url, headers=None):
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" != ORIGIN or parts.query:
            raise NotAllowed(url)
        path = unquote(parts.path)
        if normpath(path) != path:
            raise NotAllowed(url)
        if path.startswith(settings.STATIC_URL):
            found = finders.find(path.removeprefix(settings.STATIC_URL))
            if not found:
                raise NotAllowed(url)
            body = Path(found).read_bytes()
        elif path.startswith(settings.MEDIA_URL):
            with default_storage.open(path.removeprefix(settings.MEDIA_URL)) as file:
                body = file.read()
        else:
            raise NotAllowed(url)
        content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
        return URLFetcherResponse(url, body=body, headers={"Content-Type": content_type})


@cache
def _fonts() -> FontConfiguration:
    return FontConfiguration()


@cache
def _stylesheet() -> CSS:
    return CSS(filename=str(STYLESHEET), font_config=_fonts(), url_fetcher=ProjectFilesOnly())


@cache
def _user_agent_stylesheet() -> CSS:
    return CSS(filename=str(USER_AGENT_STYLESHEET), font_config=_fonts(), url_fetcher=ProjectFilesOnly())


class StatementHTML(HTML):
    """A statement's document: WeasyPrint's HTML with a user-agent stylesheet cut to the statement's elements
    (``statement_ua.css``; WeasyPrint 70 reads it through ``_ua_stylesheets``, pinned in requirements.txt)."""

    def _ua_stylesheets(self, forms=False):
        return [_user_agent_stylesheet()]


def html_to_pdf(html: str, *, url_fetcher: URLFetcher | None = None,
                document_class: type[HTML] = StatementHTML) -> bytes:  # fmt: skip
    document = document_class(string=html, base_url=f"{ORIGIN}/", url_fetcher=url_fetcher or ProjectFilesOnly())
    return document.write_pdf(stylesheets=[_stylesheet()], font_config=_fonts())


def statement_pdf(figures: Figures, *, branding: StatementBranding | None = None,
                  url_fetcher: URLFetcher | None = None) -> bytes:  # fmt: skip
    return html_to_pdf(statement_html(figures, branding=branding), url_fetcher=url_fetcher)


def statement_html(figures: Figures, *, branding: StatementBranding | None = None) -> str:
    """The statement's HTML in the partner's language."""
    branding = branding or StatementBranding.load()
    with translation.override(figures.partner.language or settings.LANGUAGE_CODE):
        return render_to_string("statements/statement.html", _context(figures, branding))


@dataclass(frozen=True)
class Line:
    label: str
    points: str
    strong: bool = False


def _signed(points: int) -> str:
    return f"+{number(points)}" if points > 0 else f"−{number(-points)}" if points < 0 else number(0)


def _isolated(text: str) -> str:
    """A number or a numeric date inside a sentence: left to right whatever the language around it."""
    return format_html('<bdi dir="ltr">{}</bdi>', text)


def _css_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ").replace("<", "\\3c ") + '"'


def _page_numbers() -> str:
    """The footer's "Page 1 of 2" as CSS content, in the current language."""
    words = gettext("Page %(page)s of %(pages)s") % {"page": "\0", "pages": "\1"}
    before, rest = words.split("\0", 1)
    between, after = rest.split("\1", 1)
    parts = [_css_string(before), "counter(page)", _css_string(between), "counter(pages)", _css_string(after)]
    return " ".join(part for part in parts if part != '""')


# The entries that fit under the summary and the chart (16 short ones do; a margin for long ones and for the
# expiring list's extra lines). A longer table starts on a page of its own, where an ordinary month's table
# (up to some 45 entries) fits whole: only a busy month's breaks, with its header repeated.
ROWS_ON_THE_FIRST_PAGE = 12


def _own_page(entries: list[dict], expiring: list) -> bool:
    rows = len(entries) + max(0, len(expiring) - 3)
    rows += sum(1 for e in entries if len(e["reason"]) + len(e["breakdown"]) > 80)  # two lines
    return rows > ROWS_ON_THE_FIRST_PAGE


def _context(f: Figures, branding: StatementBranding) -> dict:
    tz = ZoneInfo(settings.PROGRAMME_TIME_ZONE)
    lines = [Line(gettext("Opening balance"), number(f.opening), strong=True)]
    lines += [Line(Code(code).label, _signed(points)) for code, points in f.earned.items()]
    lines += [
        Line(gettext("Redeemed"), _signed(-f.redeemed)),
        Line(gettext("Expired"), _signed(-f.expired)),
        Line(gettext("Returns and clawbacks"), _signed(-f.clawed_back)),
        Line(gettext("Adjustments in"), _signed(f.adjusted_in)),
        Line(gettext("Adjustments out"), _signed(-f.adjusted_out)),
        Line(gettext("Closing balance"), number(f.closing), strong=True),
    ]
    entries = []
    for entry in f.entries:
        t = entry.transfer
        t.points = entry.points
        words = word_entry(t)
        entries.append({
            "day": formats.date_format(t.effective_at.astimezone(tz), "SHORT_DATE_FORMAT"),
            "reason": words.reason,
            "breakdown": words.breakdown,
            "status": status_of(t),
            "points": _signed(entry.points),
            "counts": entry.changes_balance,
        })  # fmt: skip
    rtl = translation.get_language_bidi()
    start, end = ("right", "left") if rtl else ("left", "right")
    return {
        "f": f,
        "branding": branding,
        "logo_url": f"{settings.MEDIA_URL}{branding.logo.file.name}" if branding.logo_id else "",
        "rtl": rtl,
        "start": start,
        "end": end,
        "language": translation.get_language(),
        "page_numbers": _page_numbers(),
        "month": formats.date_format(f.month.first_day, "YEAR_MONTH_FORMAT"),
        "lines": lines,
        "pending": number(f.pending),
        "held": number(f.held),
        "available": number(f.available),
        "tier_points": _isolated(number(f.tier.qualifying_points)) if f.tier else "",
        "tier_to_next": _isolated(number(f.tier.points_to_next)) if f.tier else "",
        "expiring": [
            (formats.date_format(e.expires_on, "SHORT_DATE_FORMAT"), number(e.points)) for e in f.expiring if e.points
        ],  # fmt: skip
        "expiring_total": number(f.expiring_total),
        "expiring_until": _isolated(formats.date_format(f.expiring_until, "SHORT_DATE_FORMAT")),
        "made_on": _isolated(formats.date_format(f.made_at.astimezone(tz), "SHORT_DATE_FORMAT")),
        "entries": entries,
        "own_page": _own_page(entries, f.expiring),
        "chart": earned_chart(f.chart, rtl=rtl),
        "chart_months": month_labels(f.chart),
        "legend": [(Code(code).label, SOURCE_COLOURS[code]) for code in EARNING_CODES],
    }
