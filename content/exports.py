"""The answers behind the learning report, as rows for a CSV file: a quiz's attempts, a form's answers.

One row per attempt or per form answered, naming the partner, the person, when, the language it was taken
in, and the answers: one column per question, in the order of the item's copy in the reader's language (a
Hebrew copy's answers go under the same question: quiz questions and choices keep their ids in a translated
copy, form questions their place). Only the rows of `partners` (the user's portfolio) are read; the rows
stream from the database a chunk at a time. Cells are made safe for spreadsheets by ``portal.csv_cells``.
"""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from django.utils.translation import gettext as _
from wagtail.models import Page

from accounts.models import Partner
from content.blocks import choice_id
from content.models import FormAnswers, FormPage, QuizAttempt, QuizPage
from content.queries import reading_languages
from content.reports import ALL_TIME, Period, local_moment

CHUNK = 500


@dataclass(frozen=True)
class Sheet:
    header: list[str]
    rows: Iterator[list]


def _copies(item_key: uuid.UUID, model) -> list:
    """The item's copies, the reader's language first."""
    rank = {language: i for i, language in enumerate(reading_languages())}
    copies = list(model.objects.filter(translation_key=item_key).select_related("locale"))
    return sorted(copies, key=lambda page: (rank.get(page.locale.language_code, len(rank)), page.pk))


def _who(record) -> list:
    partner, person = record.partner, record.person
    return [
        partner.name,
        partner.external_id,
        Partner.Kind(partner.kind).label,
        partner.region,
        str(person),
        person.email,
    ]


def _who_header() -> list[str]:
    return [_("Partner"), _("ERP id"), _("Partner kind"), _("Region"), _("Person"), _("E-mail")]


# --- Quizzes ---------------------------------------------------------------------------------------------


def quiz_attempts(item_key: uuid.UUID, *, partners, period: Period = ALL_TIME) -> Sheet | None:
    """Every attempt at the quiz by the partners' people over the period, oldest first (None: no such quiz)."""
    copies = _copies(item_key, QuizPage)
    if not copies:
        return None
    questions: list[str] = []  # question ids, in the reader's copy's order
    texts: dict[str, str] = {}  # question id -> its text; choice id -> its text (the reader's copy wins)
    for copy in reversed(copies):
        for block in copy.questions:
            texts[block.id] = block.value["question"]
            for i, child in enumerate(block.value["choices"].bound_blocks):
                texts[choice_id(i, child)] = child.value["text"]
    for copy in copies:
        questions += [block.id for block in copy.questions if block.id not in questions]
    header = [
        _("Taken at"),
        *_who_header(),
        _("Language"),
        _("Score (%)"),
        _("Passed"),
        *[texts.get(q, q) for q in questions],
    ]
    attempts = (
        QuizAttempt.objects.filter(period.moments("created_at"), item_key=item_key, partner__in=partners)
        .select_related("partner", "person")
        .order_by("created_at", "pk")
    )

    def rows():
        for attempt in attempts.iterator(chunk_size=CHUNK):
            answers = ["; ".join(texts.get(choice, choice) for choice in attempt.answers.get(q, [])) for q in questions]
            passed = _("yes") if attempt.passed else _("no")
            yield [
                local_moment(attempt.created_at),
                *_who(attempt),
                attempt.language,
                attempt.score_percent,
                passed,
                *answers,
            ]

    return Sheet(header=header, rows=rows())


# --- Questionnaires and feedback forms -------------------------------------------------------------------


def form_answers(item_key: uuid.UUID, *, partners, period: Period = ALL_TIME) -> Sheet | None:
    """Every answer to the questionnaire or feedback form by the partners' people over the period, oldest
    first (None: no such form)."""
    copies = [page for page in _copies(item_key, Page) if isinstance(page.specific, FormPage)]
    if not copies:
        return None
    copies = [page.specific for page in copies]
    fields_of = {page.pk: [f.clean_name for f in page.get_form_fields()] for page in copies}
    labels = [f.label for f in copies[0].get_form_fields()]
    width = max(len(names) for names in fields_of.values())
    labels += [f"{_('Question')} {n + 1}" for n in range(len(labels), width)]
    header = [_("Answered at"), *_who_header(), _("Language"), *labels]
    language_of = {page.pk: page.locale.language_code for page in copies}
    answers = (
        FormAnswers.objects.filter(period.moments("submit_time"), page__in=list(fields_of), partner__in=partners)
        .select_related("partner", "person")
        .order_by("submit_time", "pk")
    )

    def rows():
        for submission in answers.iterator(chunk_size=CHUNK):
            names = fields_of[submission.page_id]
            values = [_cell(submission.form_data.get(name)) for name in names]
            values += [""] * (width - len(values))
            yield [local_moment(submission.submit_time), *_who(submission), language_of[submission.page_id], *values]

    return Sheet(header=header, rows=rows())


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)
