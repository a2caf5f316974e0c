"""How learning's ledger entries read: a quiz passed, a questionnaire answered (the demo posts them today).

``register()`` (from the app's ``ready()``) tells the ledger's registry how they read in the reader's
language, and how an older entry's score reads.
"""

from dataclasses import dataclass

from django.utils.translation import gettext as _

from portal.ledger.wording import About, register_about, register_facts


@dataclass(frozen=True)
class QuizAbout(About):
    kind = "quiz"
    title: str
    person: str


@dataclass(frozen=True)
class QuestionnaireAbout(About):
    kind = "questionnaire"
    title: str
    person: str


def _score(details) -> str:
    return _("score %(score)s") % {"score": details["score"]} if "score" in details else ""


def register() -> None:
    register_about(QuizAbout, lambda a: _("Passed the quiz “%(title)s” (%(person)s)") % vars(a))
    register_about(QuestionnaireAbout, lambda a: _("Answered “%(title)s” (%(person)s)") % vars(a))
    register_facts(_score, rank=40)
