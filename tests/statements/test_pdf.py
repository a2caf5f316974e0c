"""The statement's PDF: its text agrees with the figures, Hebrew reads right to left, a busy month breaks
cleanly across pages, and nothing a partner or an account manager typed makes the renderer fetch anything
outside the project's files."""

import re
import subprocess
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.utils import formats, translation
from django.utils.translation import gettext
from wagtail.images.models import Image
from wagtail.images.tests.utils import get_test_image_file

from portal.ledger.models import Code
from portal.statements import render
from portal.statements.figures import EARNING_CODES, gather
from portal.statements.models import StatementBranding
from portal.statements.render import NotAllowed, ProjectFilesOnly, html_to_pdf, statement_pdf
from portal.tiers.models import PartnerTier, Tier, TierSettings
from tests.factories import PartnerFactory
from tests.statements.conftest import earn, spend
from tests.statements.test_figures import APRIL, busy_april

pytestmark = pytest.mark.django_db
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "statement.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout
    return re.sub("[\u202a-\u202e]", "", text)  # the bidi marks pdftotext puts around runs


def pages_of(pdf: bytes, tmp_path: Path) -> list[str]:
    return [page for page in pdf_text(pdf, tmp_path).split("\f") if page.strip()]


def first_page_png(pdf: bytes, name: str, tmp_path: Path) -> Path:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    ARTIFACTS.mkdir(exist_ok=True)
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(path),
                    str(ARTIFACTS / name)], check=True)  # fmt: skip
    return ARTIFACTS / f"{name}.png"


class Recording(ProjectFilesOnly):
    """The project's fetcher, noting every URL the renderer asks for (allowed or not)."""

    def __init__(self):
        super().__init__()
        self.asked: list[str] = []

    def fetch(self, url, headers=None):
        self.asked.append(url)
        return super().fetch(url, headers)


@pytest.fixture
def silver():
    Tier.objects.create(name="Member", name_he="חבר", threshold=0)
    Tier.objects.create(name="Gold", name_he="זהב", threshold=5_000)
    return Tier.objects.create(name="Silver", name_he="כסף", threshold=1_000)


@pytest.fixture
def busy(silver):
    """busy_april's partner (every kind of entry), Silver, with points expiring two months after they came."""
    programme = TierSettings.load()
    programme.expiry_months = 2
    programme.save()

    def make(**kwargs):
        partner = PartnerFactory(**kwargs)
        PartnerTier.objects.create(partner=partner, tier=silver, earned_tier=silver, since=date(2026, 1, 1))
        busy_april(partner)
        return gather([partner], APRIL)[partner.pk]

    return make


def test_the_english_statement_shows_the_ledgers_figures(tmp_path, busy):
    f = busy(name="Galil Networks Ltd", language="en")

    pdf = statement_pdf(f)
    text = pdf_text(pdf, tmp_path)
    first_page_png(pdf, "statement-en", tmp_path)

    assert "Galil Networks Ltd" in text and "Points statement, April 2026" in text
    assert f.closing == f.opening + f.movements()
    lines = [("Opening balance", f"{f.opening:,}"), ("Closing balance", f"{f.closing:,}")]
    lines += [(label, f"+{f.earned[code]:,}") for label, code in [
        ("Order", "order"), ("Early payment", "early_payment"), ("Learning", "content"), ("Referral", "referral"),
        ("Welcome bonus", "welcome"), ("Campaign", "campaign")]]  # fmt: skip
    lines += [("Redeemed", f"−{f.redeemed}"), ("Expired", f"−{f.expired}"),
              ("Returns and clawbacks", f"−{f.clawed_back}"), ("Adjustments in", f"+{f.adjusted_in}"),
              ("Adjustments out", f"−{f.adjusted_out}"), ("Pending (inside the return window)", f"{f.pending}"),
              ("Held for redemptions", f"{f.held}"), ("Available at the month's end", f"{f.available:,}")]  # fmt: skip
    for label, points in lines:
        assert re.search(rf"{re.escape(label)}\s+{re.escape(points)}(\s|$)", text, re.M), (label, points)
    # The hand-worked figures (test_figures) as the partner reads them.
    assert [points for _, points in lines[:8]] == ["1,200", "2,395", "+870", "+120", "+50", "+400", "+75", "+60"]
    assert "Tier: Silver" in text and "more to Gold" in text

    # Expiring: what is due by the 90 days' last day, as of the day the statement was made, said in so many words.
    assert f.expiring and f.expiring_until == date(2026, 7, 30)
    made = formats.date_format(f.made_at.astimezone(ZoneInfo("Asia/Jerusalem")), "SHORT_DATE_FORMAT")
    assert "Points expiring by 07/30/2026" in text
    made_words = rf"as the ledger stood on\s+{made}\s+when this statement was made"
    assert re.search(rf"in the 90 days after April 2026, {made_words}", text)
    for item in f.expiring:
        day = formats.date_format(item.expires_on, "SHORT_DATE_FORMAT")
        assert re.search(rf"{day}\s+{item.points:,}(\s|$)", text, re.M), item
    assert re.search(rf"Total\s+{f.expiring_total:,}(\s|$)", text, re.M)
    assert "Page 1 of 2" in text or "Page 1 of 1" in text


def test_the_hebrew_statement_reads_right_to_left(tmp_path, busy):
    f = busy(name="רשתות הגליל בע״מ", language="he")

    html = render.statement_html(f)
    pdf = statement_pdf(f)
    text = pdf_text(pdf, tmp_path)
    first_page_png(pdf, "statement-he", tmp_path)

    assert 'dir="rtl"' in html and 'lang="he"' in html
    # pdftotext gives Hebrew in reading order (glyphs not reversed), a page's lines top to bottom, and a
    # line's columns as they stand from the left: the number (left) before its label (right). It moves the
    # spaces around punctuation and numbers inside a Hebrew sentence (the PNG shows them right), hence \s*.
    assert "רשתות הגליל בע״מ" in text and re.search(r"דוח נקודות\s*,\s*אפריל 2026", text)
    with translation.override("he"):  # as the catalogs word them
        labels = [gettext("Opening balance"), *(str(Code(code).label) for code in EARNING_CODES), gettext("Redeemed"),
                  gettext("Expired"), gettext("Returns and clawbacks"), gettext("Adjustments in"),
                  gettext("Adjustments out"), gettext("Closing balance")]  # fmt: skip
    assert labels[:3] == ["יתרת פתיחה", "הזמנה", "תשלום מוקדם"] and labels[-1] == "יתרת סגירה"
    at = [text.index(label) for label in labels]
    assert at == sorted(at)
    for points, label in [("1,200", "יתרת פתיחה"), ("+870", "הזמנה"), ("+120", "תשלום מוקדם"), ("−250", "מומשו"),
                          ("−110", "החזרות וביטולים"), ("+35", "התאמות לזכות"), ("2,395", "יתרת סגירה")]:  # fmt: skip
        assert re.search(rf"(^|\s){re.escape(points)}\s+{label}", text, re.M), label
    assert "870+" not in text and "250−" not in text and "35+" not in text
    assert re.search(r"דרגה\s*:\s*כסף", text) and re.search(rf"עוד\s*{f.tier.points_to_next:,}\s*עד זהב", text)
    assert "נקודות שיפוגו עד 30/07/2026" in text  # a numeric date reads left to right
    assert re.search(r"^\s*3,514\s+סה״כ", text, re.M)
    assert re.search(r"עמוד\s*1\s*מתוך\s*2", text)


@pytest.fixture
def logo(settings, tmp_path):
    """The programme's logo, in media: the one file a statement fetches."""
    settings.MEDIA_ROOT = tmp_path / "media"
    branding = StatementBranding.load()
    branding.logo = Image.objects.create(title="Logo", file=get_test_image_file())
    branding.save()
    return f"{render.ORIGIN}{settings.MEDIA_URL}{branding.logo.file.name}"


def test_text_typed_by_people_makes_the_renderer_fetch_nothing_but_the_logo(tmp_path, logo):
    name = 'Evil <img src="file:///etc/passwd"> Ltd'
    reasons = ['<a href="http://127.0.0.1:9/">x</a><img src="http://127.0.0.1:9/a.png">',
               '<img src="http://169.254.169.254/latest/meta-data/">',
               '<link rel="stylesheet" href="http://169.254.169.254/">']  # fmt: skip
    partner = PartnerFactory(name=name, language="en")
    earn(partner, "o1", 100, "2026-04-03")
    for n, reason in enumerate(reasons):
        spend(partner, f"a{n}", 10, "2026-04-04", code=Code.ADJUSTMENT, details={"about": {"kind": "adjustment",
              "note": reason}})  # fmt: skip
    fetcher = Recording()

    pdf = statement_pdf(gather([partner], APRIL)[partner.pk], branding=StatementBranding.load(), url_fetcher=fetcher)
    text = pdf_text(pdf, tmp_path)

    assert fetcher.asked == [logo]  # the logo, from media, and nothing anyone typed
    assert name in text  # shown as text, not followed
    assert "http://127.0.0.1:9/" in text and "169.254.169.254/latest/meta-data/" in text


def test_the_fetcher_serves_only_the_projects_static_files_and_media(tmp_path, settings, logo):
    fetcher = ProjectFilesOnly()
    refused = [
        "file:///etc/passwd",
        "http://127.0.0.1/",
        "http://127.0.0.1:9/",
        "http://169.254.169.254/latest/meta-data/",
        "https://169.254.169.254/static/earning/import_progress.js",  # the right path on another host
        f"{render.ORIGIN}/static/../../../../etc/passwd",
        f"{render.ORIGIN}/static/%2e%2e/%2e%2e/portal/settings.py",
        f"{render.ORIGIN}/static//etc/passwd",
        f"{render.ORIGIN}/static/portal/settings.py",  # a project file, but not a static one
        f"{render.ORIGIN}/static/earning/import_progress.js?x=1",
        f"{render.ORIGIN}/etc/passwd",
        f"{render.ORIGIN}/media/../settings.py",
        "data:text/plain,hello",
    ]
    for url in refused:
        with pytest.raises(NotAllowed):
            fetcher.fetch(url)
    assert fetcher.fetch(f"{render.ORIGIN}/static/earning/import_progress.js").read()
    assert fetcher.fetch(logo).read().startswith(b"\x89PNG")

    # Even raw HTML that reaches the renderer (not through the escaping template) fetches nothing outside.
    watching = Recording()
    pdf = html_to_pdf(
        '<p>x</p><img src="file:///etc/passwd"><img src="http://169.254.169.254/"><iframe src="/etc/passwd">'
        '<link rel="stylesheet" href="http://127.0.0.1:9/s.css"><img src="../../../etc/passwd">',
        url_fetcher=watching,
    )
    assert pdf.startswith(b"%PDF")
    for url in watching.asked:
        with pytest.raises(NotAllowed):
            fetcher.fetch(url)
    assert "root:" not in pdf_text(pdf, tmp_path)


def test_a_busy_month_breaks_across_pages_with_the_header_repeated(tmp_path):
    partner = PartnerFactory(language="en")
    for n in range(80):
        earn(partner, f"o{n}", 10 + n, date(2026, 4, 1 + n % 30), code=Code.ORDER)
    pdf = statement_pdf(gather([partner], APRIL)[partner.pk])
    pages = pages_of(pdf, tmp_path)

    assert len(pages) >= 3  # the summary, then the activity over two pages
    count = len(pages)
    for n, page in enumerate(pages, start=1):
        assert f"Page {n} of {count}" in page
    for page in pages[1:]:  # each page of the table starts with its header
        assert re.search(r"^\s*Date\s+Entry\s+Status\s+Points\s*$", page, re.M)
    rows = [line for page in pages for line in page.splitlines() if re.match(r"\s*04/\d\d/2026\s+o\d+", line)]
    assert len(rows) == 80  # none lost or doubled at a break


@pytest.mark.parametrize(("entries", "first_page_only"), [(8, True), (20, False)])
def test_an_ordinary_month_is_one_or_two_pages_and_its_table_never_breaks(tmp_path, entries, first_page_only):
    partner = PartnerFactory(language="he")
    for n in range(entries):
        earn(partner, f"o{n}", 10 + n, date(2026, 4, 1 + n), code=Code.ORDER, details={"breakdown": f"{10 + n} base"})
    f = gather([partner], APRIL)[partner.pk]
    pages = pages_of(statement_pdf(f), tmp_path)

    with translation.override("he"):
        header = "הפעילות החודש"
    assert len(pages) == (1 if first_page_only else 2)
    table = [n for n, page in enumerate(pages) if header in page]
    assert len(table) == 1
    assert len(re.findall(r"\d\d/04/2026", pages[table[0]])) == entries  # every entry on the table's one page
    assert "base" in pages[table[0]]


def page_images(pdf: bytes, name: str, tmp_path: Path) -> list[bytes]:
    (tmp_path / f"{name}.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "72", str(tmp_path / f"{name}.pdf"), str(tmp_path / name)], check=True)
    return [p.read_bytes() for p in sorted(tmp_path.glob(f"{name}-*.png"))]


@pytest.mark.parametrize("language", ["en", "he"])
def test_the_statements_own_user_agent_stylesheet_draws_every_page_as_weasyprints_does(tmp_path, busy, logo,
                                                                                      language):  # fmt: skip
    """statement_ua.css keeps only the rules of WeasyPrint's HTML5 stylesheet that a statement's elements use:
    each page, logo, chart, summary and a table over pages, is the same pixel for pixel with either."""
    f = busy(language=language, name="Galil <b>Networks</b>")
    for n in range(40):
        earn(f.partner, f"more{n}", 5 + n, date(2026, 4, 1 + n % 28))
    html = render.statement_html(gather([f.partner], APRIL)[f.partner.pk])

    ours = page_images(html_to_pdf(html), "ours", tmp_path)
    weasyprints = page_images(html_to_pdf(html, document_class=render.HTML), "weasyprints", tmp_path)

    assert len(ours) >= 2 and ours == weasyprints
