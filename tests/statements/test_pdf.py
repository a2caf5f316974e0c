"""The statement's PDF: its text agrees with the figures, Hebrew reads right to left, and nothing a partner
or an account manager typed makes the renderer fetch anything outside the project's files."""

import re
import subprocess
from datetime import date
from pathlib import Path

import pytest

from portal.ledger.models import Code
from portal.statements import render
from portal.statements.figures import gather
from portal.statements.render import NotAllowed, ProjectFilesOnly, html_to_pdf, statement_pdf
from portal.tiers.models import PartnerTier, Tier
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


def first_page_png(pdf: bytes, name: str, tmp_path: Path) -> Path:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    ARTIFACTS.mkdir(exist_ok=True)
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(path),
                    str(ARTIFACTS / name)], check=True)  # fmt: skip
    return ARTIFACTS / f"{name}.png"


@pytest.fixture
def silver():
    Tier.objects.create(name="Member", name_he="חבר", threshold=0)
    Tier.objects.create(name="Gold", name_he="זהב", threshold=5_000)
    return Tier.objects.create(name="Silver", name_he="כסף", threshold=1_000)


def test_the_english_statement_shows_the_ledgers_figures(tmp_path, silver):
    partner = PartnerFactory(name="Galil Networks Ltd", language="en")
    PartnerTier.objects.create(partner=partner, tier=silver, earned_tier=silver, since=date(2026, 1, 1))
    busy_april(partner)
    f = gather([partner], APRIL)[partner.pk]

    pdf = statement_pdf(f)
    text = pdf_text(pdf, tmp_path)
    first_page_png(pdf, "statement-en", tmp_path)

    assert "Galil Networks Ltd" in text and "April 2026" in text
    assert "Opening balance" in text and "1,200" in text
    assert "Closing balance" in text and "2,395" in text
    for label, points in [("Order", "+870"), ("Early payment", "+120"), ("Learning", "+50"),
                          ("Referral", "+400"), ("Welcome bonus", "+75"), ("Campaign", "+60"),
                          ("Redeemed", "−250"), ("Expired", "−40"), ("Returns and clawbacks", "−110"),
                          ("Adjustments in", "+35"), ("Adjustments out", "−15")]:  # fmt: skip
        assert re.search(rf"{label}\s+{re.escape(points)}(\s|$)", text), label
    assert "180" in text and "60" in text and "2,335" in text  # pending, held, available
    assert "Silver" in text and "Gold" in text
    assert "Page 1 / " in text


def test_a_busy_month_breaks_across_pages_with_the_header_repeated(tmp_path):
    partner = PartnerFactory(language="en")
    for n in range(120):
        earn(partner, f"o{n}", 10 + n, date(2026, 4, 1 + n % 30), code=Code.ORDER)
    pdf = statement_pdf(gather([partner], APRIL)[partner.pk])
    pages = pdf_text(pdf, tmp_path).split("\f")
    pages = [page for page in pages if page.strip()]
    assert len(pages) >= 3
    assert all("Points" in page and "Entry" in page for page in pages[1:])
    assert "Page 3 / " in pages[2]


def test_the_hebrew_statement_reads_right_to_left(tmp_path, silver):
    partner = PartnerFactory(name="רשתות הגליל בע״מ", language="he")
    PartnerTier.objects.create(partner=partner, tier=silver, earned_tier=silver, since=date(2026, 1, 1))
    busy_april(partner)
    f = gather([partner], APRIL)[partner.pk]

    html = render.statement_html(f)
    pdf = statement_pdf(f)
    text = pdf_text(pdf, tmp_path)
    first_page_png(pdf, "statement-he", tmp_path)

    assert 'dir="rtl"' in html and 'lang="he"' in html
    assert "רשתות הגליל" in text  # pdftotext gives Hebrew in reading order
    assert "יתרת פתיחה" in text and "יתרת סגירה" in text and "2,395" in text
    assert "כסף" in text
    assert "אפריל 2026" in text


@pytest.mark.parametrize(
    "typed",
    ['<img src="file:///etc/passwd">', "http://169.254.169.254/latest/meta-data/",
     '<link rel="stylesheet" href="http://169.254.169.254/">'],
)  # fmt: skip
def test_text_typed_by_people_makes_the_renderer_fetch_nothing(typed, tmp_path):
    asked = []

    class Watching(ProjectFilesOnly):
        def fetch(self, url, headers=None):
            asked.append(url)
            return super().fetch(url, headers)

    partner = PartnerFactory(name=f"Evil {typed} Ltd", language="en")
    earn(partner, "o1", 100, "2026-04-03")
    spend(partner, "a1", 10, "2026-04-04", code=Code.ADJUSTMENT, details={"about": {"kind": "adjustment",
          "reason": typed}})  # fmt: skip

    text = pdf_text(statement_pdf(gather([partner], APRIL)[partner.pk], url_fetcher=Watching()), tmp_path)

    assert asked == []
    assert "Evil" in text and "169.254.169.254" in text or "passwd" in text  # shown as text, not followed


def test_the_fetcher_serves_only_the_projects_files(tmp_path):
    fetcher = ProjectFilesOnly()
    for url in ["file:///etc/passwd", "http://169.254.169.254/", "https://169.254.169.254/static/x.css",
                f"{render.ORIGIN}/static/../../../../etc/passwd", f"{render.ORIGIN}/etc/passwd",
                f"{render.ORIGIN}/media/../settings.py", "data:text/plain,hello"]:  # fmt: skip
        with pytest.raises(NotAllowed):
            fetcher.fetch(url)

    # Even raw HTML that reaches the renderer (not through the escaping template) fetches nothing outside.
    asked = []

    class Watching(ProjectFilesOnly):
        def fetch(self, url, headers=None):
            asked.append(url)
            return super().fetch(url, headers)

    pdf = html_to_pdf(
        '<p>x</p><img src="file:///etc/passwd"><img src="http://169.254.169.254/"><iframe src="/etc/passwd">',
        url_fetcher=Watching(),
    )
    assert pdf.startswith(b"%PDF")
    assert all(url.startswith(render.ORIGIN) or url.startswith(("file:", "http:")) for url in asked)
    assert "root:" not in pdf_text(pdf, tmp_path)
