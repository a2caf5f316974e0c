"""Learn pages for tests, made as an account manager makes them in Wagtail (pages under the Learn section)."""

from django.utils.text import slugify
from wagtail.models import Locale, Page

from content import services
from content.models import (
    ArticlePage,
    FeedbackPage,
    FeedbackQuestion,
    QuestionnairePage,
    QuestionnaireQuestion,
    QuizPage,
)

SECRET_EXPLANATION = "Conical burrs grind cooler"


def choice(choice_id, text, correct=False):
    return {"type": "item", "id": choice_id, "value": {"text": text, "correct": correct}}


# Question 1 has one right choice (c1a), question 2 two (c2a, c2b). The ids say nothing of which is right.
QUESTIONS = [
    {
        "type": "question",
        "id": "g1",
        "value": {
            "question": "Which burrs does the G20 grinder use?",
            "choices": [choice("c1a", "Conical burrs", True), choice("c1b", "Blades")],
            "explanation": f"<p>{SECRET_EXPLANATION} than flat ones.</p>",
        },
    },
    {
        "type": "question",
        "id": "g2",
        "value": {
            "question": "What sets the grind size?",
            "choices": [
                choice("c2a", "The dial", True),
                choice("c2b", "The collar", True),
                choice("c2c", "The hopper"),
            ],
            "explanation": "<p>Both the dial and the collar move the burrs.</p>",
        },
    },
]


def with_right_choices(right: dict[str, set[str]]) -> list[dict]:
    """The questions with other choices marked right."""
    return [
        {
            **q,
            "value": {
                **q["value"],
                "choices": [
                    {**c, "value": {**c["value"], "correct": c["id"] in right[q["id"]]}} for c in q["value"]["choices"]
                ],
            },
        }
        for q in QUESTIONS
    ]


RIGHT = {"g1": ["c1a"], "g2": ["c2a", "c2b"]}
HALF = {"g1": ["c1a"], "g2": ["c2c"]}
WRONG = {"g1": ["c1b"], "g2": ["c2c"]}


def site_root():
    """The tree's root and the default locale, which a test that commits (and so empties the database) lacks."""
    Locale.objects.get_or_create(language_code="en")
    if Page.get_first_root_node() is None:
        Page.add_root(instance=Page(title="Root", slug="root"))


def section():
    return services.open_learn_section().english


def quiz(parent=None, *, title="Grinder basics", points=50, pass_mark_percent=100, **fields) -> QuizPage:
    page = QuizPage(
        title=title,
        slug=slugify(title),
        points=points,
        pass_mark_percent=pass_mark_percent,
        questions=QUESTIONS,
        **fields,
    )
    return (parent or section()).add_child(instance=page)


def article(*, title="The G20 grinder", **fields) -> ArticlePage:
    body = [{"type": "text", "value": "<p>The G20 grinds for espresso.</p>"}]
    return section().add_child(instance=ArticlePage(title=title, slug=slugify(title), body=body, **fields))


def form_page(kind="questionnaire", *, title="How do you sell?", points=30, **fields):
    model, question = (
        (QuestionnairePage, QuestionnaireQuestion) if kind == "questionnaire" else (FeedbackPage, FeedbackQuestion)
    )
    page = section().add_child(instance=model(title=title, slug=slugify(title), points=points, **fields))
    question.objects.create(page=page, sort_order=0, label="What do your customers ask for?", field_type="multiline")
    question.objects.create(page=page, sort_order=1, label="How useful is the range?", field_type="scale")
    return page


FORM_ANSWERS = {"what_do_your_customers_ask_for": "Oat milk", "how_useful_is_the_range": "4"}


def in_hebrew(page, title):
    """The page's Hebrew copy, published (its parents copied too, as Wagtail's "Translate" does)."""
    hebrew, _ = Locale.objects.get_or_create(language_code="he")
    copy = page.copy_for_translation(hebrew, copy_parents=True)
    copy.title = title
    copy.save_revision().publish()
    copy.refresh_from_db()
    return copy
