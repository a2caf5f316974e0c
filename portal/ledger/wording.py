"""How a ledger entry reads, in the reader's language: the registry through which each source says it.

The ledger keeps each entry's reason and breakdown in English, as written when it was posted: the
record that finance and the API read, never changed. Beside them a source stores facts in the entry's
details, and says here, in its ``AppConfig.ready()``, how they read:

- ``about``: what the entry is (an order, a return, a redemption, with their ids), a typed value, an
  ``About`` subclass, stored as ``details["about"]`` by ``as_details()`` and read back by its ``kind``
  (``register_about``);
- ``parts``: the earning rules' parts ({"rule": "category", "name": "Networking", "factor": "1.25",
  "points": 310}), worded by their rule (``register_part``);
- for entries older than both, the loose facts they carry (an order's value, a quiz's score), each
  put into a few words by a source's ``describe`` (``register_facts``).

Pages, exports, the API and statements ask ``word_entry`` (or ``reason_of``, ``breakdown_of``,
``parts_text``); an entry nothing registered knows reads as it was posted. The ledger imports no source:
the sources come to it.
"""

import dataclasses
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, NamedTuple, Self, TypedDict, TypeVar

from django.utils import formats

# --- Typed "about" values ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class About:
    """What an entry is, as its source stores it in ``details["about"]``. A subclass is a frozen dataclass
    with its ``kind`` (a class attribute, unique among the sources) and the facts its words need; a field
    stored under another name than its own (``return``, a Python keyword) says so with ``stored_as``. A fact
    that is None is not stored; a fact with a default may be missing from what older entries stored."""

    kind: ClassVar[str]

    def as_details(self) -> dict:
        """The dict stored as ``details["about"]``: the kind, then each fact that is not None."""
        data: dict[str, Any] = {"kind": self.kind}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is not None:
                data[_stored_name(field)] = value
        return data

    @classmethod
    def from_details(cls, data: dict) -> Self:
        """The value back from its stored dict; KeyError when a fact it needs is missing."""
        values = {}
        for field in dataclasses.fields(cls):
            name = _stored_name(field)
            if name in data:
                values[field.name] = data[name]
            elif field.default is dataclasses.MISSING:
                raise KeyError(name)
        return cls(**values)


def stored_as(name: str, **kwargs):
    """A field of an ``About`` stored under `name` in the details."""
    return dataclasses.field(metadata={"stored_as": name}, **kwargs)


def _stored_name(field: dataclasses.Field) -> str:
    return field.metadata.get("stored_as", field.name)


_ABOUT: dict[str, tuple[type[About], Callable[[Any], str]]] = {}
A = TypeVar("A", bound=About)


def register_about(cls: type[A], words: Callable[[A], str]) -> None:
    """Say how entries about `cls` read: `words(about)` in the current language."""
    known = _ABOUT.get(cls.kind)
    if known is not None and known[0] is not cls:
        raise ValueError(f"two sources word entries of the kind {cls.kind!r}: {known[0]} and {cls}")
    _ABOUT[cls.kind] = (cls, words)


def about_of(details: dict | None) -> About | None:
    """The entry's typed about value, if its kind is registered and the stored facts make one."""
    data = (details or {}).get("about")
    if not isinstance(data, dict):
        return None
    kind = data.get("kind")
    known = _ABOUT.get(kind) if isinstance(kind, str) else None
    if known is None:
        return None
    try:
        return known[0].from_details(data)
    except (KeyError, TypeError, ValueError):
        return None


# --- Parts and facts ---------------------------------------------------------------------------------


class PartFacts(TypedDict):
    """A stored part as its words get it: the points in the current language (without a sign for a rule
    registered signless), and the name, factor or count its rule used."""

    points: str
    name: str
    factor: str
    count: int
    name_he: str  # the name in Hebrew, where the part stored one (a tier's)


_PARTS: dict[str, Callable[[PartFacts], str]] = {}
_SIGNLESS: set[str] = set()
_FACTS: list[tuple[int, Callable[[dict], str]]] = []


def register_part(rule: str, words: Callable[[PartFacts], str], *, signless: bool = False) -> None:
    """Say how a part of `rule` reads. A `signless` rule's part shows its points without a sign: it is
    negative and joined with " − " (a return's goods)."""
    _PARTS[str(rule)] = words
    if signless:
        _SIGNLESS.add(str(rule))


def register_facts(describe: Callable[[dict], str], *, rank: int) -> None:
    """Add a way to put an older entry's facts into words: `describe(details)` gives a few words, or "" when
    the details have none of its facts. The describers' words are joined with " · ", lowest `rank` first
    (the order these facts have always read in: order value 10, bulk bonus 20, invoice 30, score 40,
    redeemed item 50, share returned 60, return 70, referred 80, ticket 90)."""
    if all(known is not describe for _rank, known in _FACTS):
        _FACTS.append((rank, describe))
        _FACTS.sort(key=lambda ranked: ranked[0])


# --- Reading an entry ---------------------------------------------------------------------------------


class EntryWords(NamedTuple):
    reason: str
    breakdown: str


def word_entry(entry) -> EntryWords:
    """What a ledger entry (a ``Transfer``) is and how its points add up, in the current language."""
    return EntryWords(reason_of(entry.reason, entry.details), breakdown_of(entry.details))


def reason_of(reason: str, details: dict | None) -> str:
    """The entry's reason in the current language, from what its source stored; else as written."""
    about = about_of(details)
    if about is None:
        return reason
    try:
        return _ABOUT[about.kind][1](about)
    except (KeyError, TypeError, ValueError):
        return reason


def breakdown_of(details: dict | None) -> str:
    """How the entry's points add up: its parts worded, else its English breakdown, else its facts."""
    if not details:
        return ""
    if details.get("parts"):
        return parts_text(details["parts"])
    if details.get("breakdown"):
        return str(details["breakdown"])
    return " · ".join(part for _rank, describe in _FACTS for part in [describe(details)] if part)


def parts_text(parts: list[dict] | None, fallback: str = "") -> str:
    """The rules' parts in the current language ("1,240 base + 310 Networking ×1.25 + 500 bulk bonus");
    `fallback` (the English breakdown) for a record written before parts were stored, or with a part not
    registered."""
    if not parts:
        return fallback
    worded = [_part(part) for part in parts]
    if None in worded:
        return fallback or " + ".join(f"{number(p.get('points', 0))} {p.get('rule', '')}" for p in parts)
    text = ""
    for part, words in zip(parts, worded, strict=True):
        if text:
            text += " − " if part.get("points", 0) < 0 else " + "
        text += words
    return text


def _part(part: dict) -> str | None:
    rule = part.get("rule")
    words = _PARTS.get(rule) if isinstance(rule, str) else None
    if words is None:
        return None
    points = part.get("points", 0)
    return words(
        PartFacts(
            points=number(abs(points) if rule in _SIGNLESS else points),
            name=part.get("name", ""),
            factor=part.get("factor", ""),
            count=part.get("count", 0),
            name_he=part.get("name_he", ""),
        )
    )


# --- Numbers, money and days in the current language -------------------------------------------------


def number(value) -> str:
    return formats.number_format(value, use_l10n=True, force_grouping=True)


def money(value, currency) -> str:
    try:
        amount = formats.number_format(Decimal(str(value)), 2, use_l10n=True, force_grouping=True)
    except (InvalidOperation, ValueError):
        return str(value)
    return f"{amount} {currency}".strip()


def day(value) -> str:
    """An ISO date ("2026-11-18") as the language writes a short date."""
    try:
        return formats.date_format(date.fromisoformat(str(value)), "SHORT_DATE_FORMAT")
    except ValueError:
        return str(value)
