"""How learning's ledger entries read: a quiz passed, a questionnaire or feedback form answered.

``register()`` (from the app's ``ready()``) tells the ledger's registry how they read in the reader's
language, and how an older entry's score reads. The entry stores the item's title in both languages (the
Hebrew one where the item has a Hebrew copy), so a Hebrew reader reads the Hebrew title.
"""

from dataclasses import dataclass

from django.utils.translation import gettext as _

from portal.languages import in_language
from portal.ledger.wording import About, register_about, register_facts


@dataclass(frozen=True)
class QuizAbout(About):
    kind = "quiz"
    title: str
    person: str
    title_he: str | None = None


@dataclass(frozen=True)
class QuestionnaireAbout(About):
    kind = "questionnaire"
    title: str
    person: str
    title_he: str | None = None


def _words(about) -> dict:
    return {"title": in_language(about.title, about.title_he or ""), "person": about.person}


def _score(details) -> str:
    return _("score %(score)s") % {"score": details["score"]} if "score" in details else ""


def register() -> None:
    register_about(QuizAbout, lambda a: _("Passed the quiz “%(title)s” (%(person)s)") % _words(a))
    register_about(QuestionnaireAbout, lambda a: _("Answered “%(title)s” (%(person)s)") % _words(a))
    register_facts(_score, rank=40)
