"""The Hebrew catalog keeps up with the code, and a Hebrew page is Hebrew, right to left.

A fresh machine has Python but no GNU gettext, so the compiled catalog is committed next to
its source; these tests fail when a string is added but not translated (after
`manage.py makemessages -l he`), when a translation is left fuzzy, or when the .mo was not
recompiled after the .po changed.
"""

import ast
import gettext
import re
from datetime import datetime
from pathlib import Path

import django
import pytest
from django.apps import apps
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation

from portal.ledger import services as ledger
from portal.ledger.models import Code

BASE_DIR = Path(settings.BASE_DIR)


def hebrew_catalogs() -> list[Path]:
    """Every Hebrew catalog of the project: LOCALE_PATHS and each own app's locale folder."""
    folders = [Path(path) for path in settings.LOCALE_PATHS]
    folders += [
        Path(config.path) / "locale"
        for config in apps.get_app_configs()
        if Path(config.path).is_relative_to(BASE_DIR) and ".venv" not in Path(config.path).parts
    ]
    found = [
        folder / "he" / "LC_MESSAGES" for folder in folders if (folder / "he" / "LC_MESSAGES" / "django.po").exists()
    ]
    return sorted(set(found))


CATALOGS = pytest.mark.parametrize(
    "catalog", hebrew_catalogs(), ids=lambda path: str(path.relative_to(BASE_DIR).parent.parent.parent)
)
PLACEHOLDER = re.compile(r"%\(\w+\)\d*[sdix]|\{\w+\}")


def parse_po(path: Path) -> list[dict]:
    """The entries of a .po file: msgctxt, msgid, msgid_plural, msgstr {index: text}, flags, obsolete."""
    entries, entry, field = [], None, None

    def finish():
        if entry and "msgid" in entry:
            entries.append(entry)

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            finish()
            entry, field = None, None
            continue
        if entry is None:
            entry = {"flags": set(), "msgstr": {}, "obsolete": False}
        if line.startswith("#~"):
            entry["obsolete"] = True
        elif line.startswith("#,"):
            entry["flags"] |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            text = ast.literal_eval(line)
            if isinstance(field, int):
                entry["msgstr"][field] += text
            else:
                entry[field] += text
        else:
            match = re.fullmatch(r'(msgctxt|msgid_plural|msgid|msgstr)(?:\[(\d+)\])?\s+(".*")', line)
            assert match, f"{path}: cannot read {raw!r}"
            keyword, index, text = match[1], match[2], ast.literal_eval(match[3])
            if keyword == "msgstr":
                field = int(index or 0)
                entry["msgstr"][field] = text
            else:
                field = keyword
                entry[keyword] = text
    finish()
    return [entry for entry in entries if not entry["obsolete"]]


def messages(catalog: Path):
    return [entry for entry in parse_po(catalog / "django.po") if entry["msgid"]]


def describe(entry) -> str:
    return (entry.get("msgctxt", "") + "|" if entry.get("msgctxt") else "") + entry["msgid"][:80]


def test_the_project_catalog_is_there():
    assert BASE_DIR / "locale" / "he" / "LC_MESSAGES" in hebrew_catalogs()
    assert len(messages(BASE_DIR / "locale" / "he" / "LC_MESSAGES")) > 300


@CATALOGS
def test_the_catalog_says_it_is_hebrew_with_djangos_plural_forms(catalog):
    header = next(entry for entry in parse_po(catalog / "django.po") if entry["msgid"] == "")
    assert "fuzzy" not in header["flags"]
    assert "Language: he\n" in header["msgstr"][0]
    django_he = Path(django.__file__).parent / "conf" / "locale" / "he" / "LC_MESSAGES" / "django.po"
    django_header = next(entry for entry in parse_po(django_he) if entry["msgid"] == "")

    def plural_forms(header):
        return re.search(r"^Plural-Forms: (.*)$", header["msgstr"][0], re.M)[1]

    assert plural_forms(header) == plural_forms(django_header)  # Django keeps a catalog per plural rule
    ours = gettext.GNUTranslations((catalog / "django.mo").open("rb"))
    assert [ours.plural(n) for n in (1, 2, 20, 7)] == [0, 1, 2, 3]


@CATALOGS
def test_every_entry_is_translated_and_none_is_fuzzy(catalog):
    untranslated = [
        describe(entry)
        for entry in messages(catalog)
        if "fuzzy" in entry["flags"]
        or not entry["msgstr"]
        or not all(text.strip() for text in entry["msgstr"].values())
        or ("msgid_plural" in entry and len(entry["msgstr"]) != 4)
    ]
    assert not untranslated, (
        f"{len(untranslated)} entries of {catalog}/django.po are untranslated or fuzzy; "
        f"translate them and run compilemessages: {untranslated[:20]}"
    )


@CATALOGS
def test_every_translation_keeps_the_placeholders_of_its_source(catalog):
    broken = []
    for entry in messages(catalog):
        for index, text in entry["msgstr"].items():
            plural = "msgid_plural" in entry
            source = set(PLACEHOLDER.findall(entry["msgid_plural"] if plural and index > 0 else entry["msgid"]))
            used = set(PLACEHOLDER.findall(text))
            # A singular form may say "one" in words instead of its number; nothing else may go missing.
            if not (used <= source if plural and index == 0 else used == source):
                broken.append((describe(entry), text))
    assert not broken


@CATALOGS
def test_the_committed_mo_agrees_with_the_po(catalog):
    compiled = gettext.GNUTranslations((catalog / "django.mo").open("rb"))
    stale = []
    for entry in messages(catalog):
        context = entry.get("msgctxt")
        if "msgid_plural" in entry:
            for n, index in ((1, 0), (2, 1), (20, 2), (7, 3)):
                if context:
                    got = compiled.npgettext(context, entry["msgid"], entry["msgid_plural"], n)
                else:
                    got = compiled.ngettext(entry["msgid"], entry["msgid_plural"], n)
                if got != entry["msgstr"][index]:
                    stale.append(describe(entry))
        else:
            got = compiled.pgettext(context, entry["msgid"]) if context else compiled.gettext(entry["msgid"])
            if got != entry["msgstr"][0]:
                stale.append(describe(entry))
    assert not stale, f"django.mo is older than django.po; run compilemessages: {stale[:20]}"


# --- a Hebrew page ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_dashboard_in_hebrew_is_right_to_left_with_hebrew_words_numbers_and_dates(client, partner, member):
    moment = timezone.make_aware(datetime(2026, 3, 7, 12, 0))
    ledger.post_transfer(
        ledger.earning(partner.id, key="w", amount=12_345, code=Code.WELCOME, reason="Welcome", effective_at=moment)
    )
    member.language = "he"  # a signed-in person's saved language wins (accounts.middleware)
    member.save(update_fields=["language"])
    client.force_login(member)
    with translation.override("he"):
        response = client.get(reverse("web:dashboard"))
    assert response.status_code == 200
    html = response.text
    assert '<html lang="he" dir="rtl">' in html
    for hebrew in ("לוח הבקרה", "נקודות זמינות", "מוחזקות למימוש", "פעילות אחרונה", "התנתקות"):
        assert hebrew in html, hebrew
    for english in (">Dashboard<", "Available points", "Latest activity", "Sign out"):
        assert english not in html, english
    assert '<span data-testid="available" dir="ltr">12,345</span>' in html
    assert "07/03/2026" in html  # Hebrew short dates are day/month/year
    assert "03/07/2026" not in html
