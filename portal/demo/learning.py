"""The demo's Learn section, and its people learning through ``content.services``.

``seed_learning`` makes the section's pages as an account manager makes them in Wagtail: three articles
(rich text, a callout, a product link), five quizzes (three under their article, two standing alone; one
question with two right answers; the office-coffee article and its quiz for resellers only, through an
``accounts.Audience``), a questionnaire and two feedback forms; each in English and, through Wagtail's
"Translate" (``copy_for_translation``), in Hebrew. They are published at the start of the history. A page
is found by its slug, so a second run makes nothing.

``Learning.take`` is one person's turn at an item at a moment of the history (``demo_clock``): a view, then
``take_quiz`` or ``answer_form`` in the person's language, a failed quiz retried after the programme's wait
until it is passed (the demo's people persevere: a company earns what the history always gave it, some of
it a few days later).
The points, the once-per-person rule and the monthly cap are the services' own.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import translation
from wagtail.models import Locale, Page

from accounts.models import Audience, Membership, Partner
from content import queries, services
from content.errors import AlreadyDone, NotOffered, RetryTooSoon
from content.models import (
    ArticlePage,
    ContentSettings,
    FeedbackPage,
    FeedbackQuestion,
    FormPage,
    QuestionnairePage,
    QuestionnaireQuestion,
    QuizAttempt,
    QuizPage,
)
from portal.demo.replay import demo_clock

RESELLERS_AUDIENCE = "Resellers"


def _choice(choice_id: str, text: str, correct: bool = False) -> dict:
    return {"type": "item", "id": choice_id, "value": {"text": text, "correct": correct}}


def _question(question_id: str, text: str, choices: list[tuple[str, str, bool]], explanation: str) -> dict:
    return {
        "type": "question",
        "id": question_id,
        "value": {
            "question": text,
            "choices": [_choice(f"{question_id}-{n}", t, c) for n, (_, t, c) in enumerate(choices)],
            "explanation": f"<p>{explanation}</p>",
        },
    }


def _quiz(questions: list[tuple[str, str, list[tuple[str, str, bool]], str, str]]) -> dict[str, list[dict]]:
    """Questions in both languages with the same ids: (id, English, [(Hebrew, English, right)...], why, למה).

    Each choice is written (Hebrew text, English text, right); the ids are shared, so a Hebrew answer grades
    as the English one does."""
    english, hebrew = [], []
    for question_id, (text_en, text_he), choices, (why_en, why_he) in questions:
        english.append(_question(question_id, text_en, [(h, e, c) for h, e, c in choices], why_en))
        hebrew.append(_question(question_id, text_he, [(e, h, c) for h, e, c in choices], why_he))
    return {"en": english, "he": hebrew}


@dataclass(frozen=True)
class ArticleSpec:
    slug: str
    title: tuple[str, str]  # English, Hebrew
    summary: tuple[str, str]
    body: tuple[list, list]
    resellers_only: bool = False


@dataclass(frozen=True)
class QuizSpec:
    slug: str
    title: tuple[str, str]
    intro: tuple[str, str]
    points: int
    pass_mark_percent: int
    questions: dict[str, list[dict]]
    article: str | None = None  # the slug of the article it belongs to
    resellers_only: bool = False


@dataclass(frozen=True)
class FormSpec:
    slug: str
    kind: str  # "questionnaire" or "feedback"
    title: tuple[str, str]
    intro: tuple[str, str]
    points: int
    questions: list[tuple[str, tuple[str, str], str]]  # field type, (English, Hebrew) label, choices "a,b|א,ב"


def _body(paragraphs: list[str], callout: tuple[str, str], product: tuple[str, str, str]) -> list:
    tone, text = callout
    name, url, description = product
    return [
        {"type": "text", "value": f"<p>{paragraphs[0]}</p>"},
        {"type": "callout", "value": {"tone": tone, "text": f"<p>{text}</p>"}},
        {"type": "text", "value": "".join(f"<p>{p}</p>" for p in paragraphs[1:])},
        {"type": "product", "value": {"name": name, "url": url, "description": description}},
    ]


ARTICLES = [
    ArticleSpec(
        slug="the-g20-grinder",
        title=("The G20 grinder: dialling in", "מטחנת G20: כיוון הטחינה"),
        summary=(
            "Grind size, dose and time: the three settings behind a good espresso from the G20.",
            "גודל טחינה, מינון וזמן: שלוש ההגדרות שמאחורי אספרסו טוב מה-G20.",
        ),
        body=(
            _body(
                [
                    "The G20 uses conical burrs, which grind cooler and more evenly than blades.",
                    "Start at 18 grams in, 36 grams out, in 25 to 30 seconds. Finer if it runs fast, coarser if slow.",
                ],
                ("tip", "Change one setting at a time, and taste after each change."),
                ("G20 grinder", "https://vendor.example/products/grd-g20", "Conical burrs, 40 steps"),
            ),
            _body(
                [
                    "ב-G20 סכיני טחינה קוניים, שטוחנים קריר ואחיד יותר מלהבים.",
                    "התחילו ב-18 גרם קפה ו-36 גרם משקה, תוך 25 עד 30 שניות. עדין יותר אם זורם מהר, גס יותר אם לאט.",
                ],
                ("tip", "שנו הגדרה אחת בכל פעם, וטעמו אחרי כל שינוי."),
                ("מטחנת G20", "https://vendor.example/products/grd-g20", "סכינים קוניים, 40 דרגות"),
            ),
        ),
    ),
    ArticleSpec(
        slug="caring-for-the-pro-300",
        title=("Caring for the Pro 300", "טיפול ב-Pro 300"),
        summary=(
            "Daily cleaning and monthly descaling keep the Pro 300 pulling good shots for years.",
            "ניקוי יומי והסרת אבנית חודשית שומרים על ה-Pro 300 לשנים.",
        ),
        body=(
            _body(
                [
                    "Backflush the group head with the blind basket every evening.",
                    "Descale once a month with one sachet of descaler in the full tank, then rinse twice.",
                ],
                ("warning", "Never descale with vinegar: it damages the seals and voids the warranty."),
                ("Descaler, 6 sachets", "https://vendor.example/products/acc-descaler-6", "For every machine"),
            ),
            _body(
                [
                    "שטפו את ראש הקבוצה עם סלסלה עיוורת בכל ערב.",
                    "הסירו אבנית פעם בחודש עם שקית אחת של מסיר אבנית במיכל מלא, ואז שטפו פעמיים.",
                ],
                ("warning", "לעולם אל תסירו אבנית בחומץ: הוא פוגע באטמים ומבטל את האחריות."),
                ("מסיר אבנית, 6 שקיות", "https://vendor.example/products/acc-descaler-6", "לכל המכונות"),
            ),
        ),
    ),
    ArticleSpec(
        slug="selling-coffee-service-to-offices",
        title=("Selling coffee service to offices", "מכירת שירות קפה למשרדים"),
        summary=(
            "How resellers win and keep office accounts: the machine, the service contract, the refills.",
            "איך משווקים זוכים בלקוחות משרדיים ושומרים עליהם: המכונה, חוזה השירות, המילויים.",
        ),
        body=(
            _body(
                [
                    "An office buys a machine once and coffee every week: sell the service, not the box.",
                    "Offer the Office S with a one-year care plan and a standing capsule order.",
                ],
                ("note", "Offices of 20 to 60 people order about 300 capsules a week."),
                ("Office S machine", "https://vendor.example/products/mch-office-s", "For 20 to 60 people"),
            ),
            _body(
                [
                    "משרד קונה מכונה פעם אחת וקפה כל שבוע: מכרו את השירות, לא את הקופסה.",
                    "הציעו את Office S עם תוכנית טיפול לשנה והזמנת קפסולות קבועה.",
                ],
                ("note", "משרדים של 20 עד 60 עובדים מזמינים כ-300 קפסולות בשבוע."),
                ("מכונת Office S", "https://vendor.example/products/mch-office-s", "ל-20 עד 60 עובדים"),
            ),
        ),
        resellers_only=True,
    ),
]

QUIZZES = [
    QuizSpec(
        slug="barista-basics",
        title=("Dialling in the G20", "כיוון ה-G20"),
        intro=("Three questions on the article.", "שלוש שאלות על המאמר."),
        points=50,
        pass_mark_percent=66,
        article="the-g20-grinder",
        questions=_quiz(
            [
                (
                    "bb1",
                    ("Which burrs does the G20 use?", "באילו סכינים משתמשת ה-G20?"),
                    [("קוניים", "Conical burrs", True), ("להבים", "Blades", False)],
                    ("Conical burrs grind cooler.", "סכינים קוניים טוחנים קריר יותר."),
                ),
                (
                    "bb2",
                    ("The shot runs in 15 seconds. What do you do?", "המשקה זורם תוך 15 שניות. מה עושים?"),
                    [
                        ("טוחנים עדין יותר", "Grind finer", True),
                        ("טוחנים גס יותר", "Grind coarser", False),
                        ("מוסיפים מים", "Add water", False),
                    ],  # fmt: skip
                    ("Too fast: finer grounds slow the water.", "מהר מדי: טחינה עדינה מאטה את המים."),
                ),
                (
                    "bb3",
                    ("Where do you start?", "מאיפה מתחילים?"),
                    [("18 גרם פנימה, 36 החוצה", "18 g in, 36 g out", True), ("10 גרם פנימה", "10 g in", False)],
                    ("A 1:2 ratio is the usual start.", "יחס של 1:2 הוא נקודת ההתחלה המקובלת."),
                ),
            ]
        ),
    ),
    QuizSpec(
        slug="pro300-descaling",
        title=("Daily care of the Pro 300", "טיפול יומי ב-Pro 300"),
        intro=("Prove you can keep a Pro 300 running.", "הוכיחו שאתם יודעים לשמור על Pro 300."),
        points=50,
        pass_mark_percent=66,
        article="caring-for-the-pro-300",
        questions=_quiz(
            [
                (
                    "pd1",
                    ("How often do you descale?", "כל כמה זמן מסירים אבנית?"),
                    [("פעם בחודש", "Once a month", True), ("פעם בשנה", "Once a year", False)],
                    ("Monthly keeps the boiler clean.", "פעם בחודש שומרת על הדוד נקי."),
                ),
                (
                    "pd2",
                    ("What do you descale with?", "במה מסירים אבנית?"),
                    [("מסיר האבנית שלנו", "Our descaler", True), ("חומץ", "Vinegar", False)],
                    ("Vinegar damages the seals.", "חומץ פוגע באטמים."),
                ),
                (
                    "pd3",
                    ("What is backflushed every evening?", "מה שוטפים בכל ערב?"),
                    [("ראש הקבוצה", "The group head", True), ("מיכל המים", "The water tank", False)],
                    ("With the blind basket.", "עם הסלסלה העיוורת."),
                ),
            ]
        ),
    ),
    QuizSpec(
        slug="capsules-x5",
        title=("The X5 capsule range", "סדרת הקפסולות X5"),
        intro=("What is new in the X5 range, in three questions.", "מה חדש בסדרת X5, בשלוש שאלות."),
        points=75,
        pass_mark_percent=66,
        questions=_quiz(
            [
                (
                    "x1",
                    (
                        "Which machines take X5 capsules? (all that apply)",
                        "אילו מכונות מקבלות קפסולות X5? (כל הנכונות)",
                    ),
                    [("Office S", "Office S", True), ("Pro 300", "Pro 300", True), ("G20", "G20", False)],
                    ("The G20 is a grinder.", "ה-G20 היא מטחנה."),
                ),
                (
                    "x2",
                    ("How many capsules in a box?", "כמה קפסולות בקופסה?"),
                    [("100", "100", True), ("10", "10", False)],
                    ("Boxes of 100 for offices.", "קופסאות של 100 למשרדים."),
                ),
                (
                    "x3",
                    ("What are X5 capsules made of?", "ממה עשויות קפסולות X5?"),
                    [("אלומיניום ממוחזר", "Recycled aluminium", True), ("פלסטיק", "Plastic", False)],
                    ("Recyclable with household metal.", "ממוחזרות עם מתכת ביתית."),
                ),
            ]
        ),
    ),
    QuizSpec(
        slug="milk-texturing",
        title=("Milk texturing for busy counters", "הקצפת חלב לדלפק עמוס"),
        intro=("Two questions for the morning rush.", "שתי שאלות לעומס של הבוקר."),
        points=50,
        pass_mark_percent=100,
        questions=_quiz(
            [
                (
                    "m1",
                    ("To what temperature do you steam milk?", "לאיזו טמפרטורה מחממים חלב?"),
                    [("60 עד 65 מעלות", "60 to 65 °C", True), ("90 מעלות", "90 °C", False)],
                    ("Hotter scalds the milk's sugars.", "חם יותר שורף את סוכרי החלב."),
                ),
                (
                    "m2",
                    ("Which jug for two cappuccinos?", "איזה כד לשני קפוצ'ינו?"),
                    [('600 מ"ל', "600 ml", True), ('350 מ"ל', "350 ml", False)],
                    ("Room for the milk to grow.", "מקום לחלב לתפוח."),
                ),
            ]
        ),
    ),
    QuizSpec(
        slug="selling-to-offices",
        title=("Selling to offices", "מכירה למשרדים"),
        intro=("For resellers: the office account in two questions.", "למשווקים: הלקוח המשרדי בשתי שאלות."),
        points=75,
        pass_mark_percent=100,
        article="selling-coffee-service-to-offices",
        resellers_only=True,
        questions=_quiz(
            [
                (
                    "so1",
                    ("What do you sell an office? (all that apply)", "מה מוכרים למשרד? (כל הנכונות)"),
                    [
                        ("מכונה", "A machine", True),
                        ("חוזה שירות", "A care plan", True),
                        ("מטחנה ביתית", "A home grinder", False),
                    ],  # fmt: skip
                    ("The service keeps the account.", "השירות שומר על הלקוח."),
                ),
                (
                    "so2",
                    ("About how many capsules a week for 40 people?", "כמה קפסולות בשבוע ל-40 עובדים, בערך?"),
                    [("300", "300", True), ("30", "30", False)],
                    ("About 300 a week.", "כ-300 בשבוע."),
                ),
            ]
        ),
    ),
]

FORMS = [
    FormSpec(
        slug="partner-feedback-q3",
        kind="feedback",
        title=("Partner feedback", "משוב שותפים"),
        intro=("Tell us how the programme works for you.", "ספרו לנו איך התוכנית עובדת בשבילכם."),
        points=25,
        questions=[
            ("scale", ("How useful is the programme to your business?", "עד כמה התוכנית מועילה לעסק שלכם?"), ""),
            (
                "radio",
                ("Would you recommend it to another business?", "הייתם ממליצים עליה לעסק אחר?"),
                "Yes,Maybe,No|כן,אולי,לא",
            ),  # fmt: skip
            ("multiline", ("What should we change?", "מה כדאי לשנות?"), ""),
        ],
    ),
    FormSpec(
        slug="delivery-survey",
        kind="feedback",
        title=("How was your last delivery?", "איך היה המשלוח האחרון?"),
        intro=("Two minutes on your last delivery.", "שתי דקות על המשלוח האחרון."),
        points=25,
        questions=[
            ("scale", ("How was the delivery?", "איך היה המשלוח?"), ""),
            ("radio", ("Did it arrive on the day promised?", "האם הגיע ביום שהובטח?"), "Yes,No|כן,לא"),
            ("singleline", ("Anything to add?", "משהו להוסיף?"), ""),
        ],
    ),
    FormSpec(
        slug="sustainability-2026",
        kind="questionnaire",
        title=("Sustainability questionnaire 2026", "שאלון קיימות 2026"),
        intro=("What your customers ask about sustainability.", "מה הלקוחות שלכם שואלים על קיימות."),
        points=30,
        questions=[
            (
                "checkboxes",
                ("What do your customers ask for?", "מה הלקוחות שלכם מבקשים?"),
                "Recyclable capsules,Organic coffee,Plant milk|קפסולות ממוחזרות,קפה אורגני,חלב צמחי",
            ),  # fmt: skip
            ("radio", ("Would you take back used capsules?", "הייתם אוספים קפסולות משומשות?"), "Yes,No|כן,לא"),
            ("multiline", ("What would help you sell greener products?", "מה יעזור לכם למכור מוצרים ירוקים?"), ""),
        ],
    ),
]

# The items the history's people take, by slug (the history picks among them; see history.LEARNING).
ITEMS = [q.slug for q in QUIZZES] + [f.slug for f in FORMS]

COMMENTS = {
    "en": ["Faster deliveries, please.", "More Hebrew material for our staff.", "All good.", "Bigger capsule boxes."],
    "he": ["משלוחים מהירים יותר, בבקשה.", "יותר חומרים בעברית לצוות.", "הכל טוב.", "קופסאות קפסולות גדולות יותר."],
}


# --- The pages -------------------------------------------------------------------------------------------


def seed_learning(*, published_at: datetime) -> "Learning":
    """The Learn section's demo pages in English and Hebrew, published at `published_at` (made once)."""
    with demo_clock(published_at):
        section = services.open_learn_section()
        hebrew = Locale.objects.get(language_code="he")
        resellers, _ = Audience.objects.get_or_create(
            name=RESELLERS_AUDIENCE, defaults={"partner_kinds": [Partner.Kind.RESELLER]}
        )
        pages: dict[str, Page] = {}
        for spec in ARTICLES:
            audience = resellers if spec.resellers_only else None
            pages[spec.slug] = _article(section.english, spec, audience, hebrew)
        for spec in QUIZZES:
            parent = pages[spec.article] if spec.article else section.english
            audience = resellers if spec.resellers_only else None
            pages[spec.slug] = _quiz_page(parent, spec, audience, hebrew)
        for spec in FORMS:
            pages[spec.slug] = _form_page(section.english, spec, hebrew)
    return Learning(pages)


def _existing(parent: Page, slug: str):
    page = parent.get_children().filter(slug=slug).first()
    return page.specific if page else None


def _publish(page: Page) -> Page:
    page.save_revision().publish()
    page.refresh_from_db()
    return page


def _translate(page: Page, hebrew: Locale, fields: dict) -> Page:
    """The page's Hebrew copy as Wagtail's "Translate" makes it, its text then translated and published."""
    if page.get_translations().filter(locale=hebrew).exists():
        return page.get_translation(hebrew)
    copy = page.copy_for_translation(hebrew, copy_parents=True)
    for name, value in fields.items():
        setattr(copy, name, value)
    return _publish(copy)


def _article(section: Page, spec: ArticleSpec, audience, hebrew) -> ArticlePage:
    page = _existing(section, spec.slug)
    if page is None:
        page = ArticlePage(
            title=spec.title[0], slug=spec.slug, summary=spec.summary[0], body=spec.body[0], audience=audience
        )
        page = _publish(section.add_child(instance=page))
    _translate(page, hebrew, {"title": spec.title[1], "summary": spec.summary[1], "body": spec.body[1]})
    return page


def _quiz_page(parent: Page, spec: QuizSpec, audience, hebrew) -> QuizPage:
    page = _existing(parent, spec.slug)
    if page is None:
        page = QuizPage(
            title=spec.title[0],
            slug=spec.slug,
            intro=spec.intro[0],
            points=spec.points,
            pass_mark_percent=spec.pass_mark_percent,
            questions=spec.questions["en"],
            audience=audience,
        )
        page = _publish(parent.add_child(instance=page))
    _translate(page, hebrew, {"title": spec.title[1], "intro": spec.intro[1], "questions": spec.questions["he"]})
    return page


def _form_page(section: Page, spec: FormSpec, hebrew) -> FormPage:
    model, question = (
        (FeedbackPage, FeedbackQuestion) if spec.kind == "feedback" else (QuestionnairePage, QuestionnaireQuestion)
    )
    page = _existing(section, spec.slug)
    if page is None:
        fields = [
            question(sort_order=n, label=label[0], field_type=kind, choices=choices.split("|")[0], required=True)
            for n, (kind, label, choices) in enumerate(spec.questions)
        ]
        page = model(title=spec.title[0], slug=spec.slug, intro=f"<p>{spec.intro[0]}</p>", points=spec.points)
        page.form_fields = fields
        page = _publish(section.add_child(instance=page))
    if not page.get_translations().filter(locale=hebrew).exists():
        copy = page.copy_for_translation(hebrew, copy_parents=True)
        translated = list(copy.form_fields.all())
        for field, (_kind, label, choices) in zip(translated, spec.questions, strict=True):
            field.label = label[1]  # the clean name stays the English one: answers keep one key per question
            field.choices = choices.split("|")[1] if choices else ""
        copy.form_fields = translated
        copy.title, copy.intro = spec.title[1], f"<p>{spec.intro[1]}</p>"
        _publish(copy)
    return page


# --- People learning -------------------------------------------------------------------------------------


@dataclass
class Turn:
    """What one turn at an item came to: the attempt or completion made, and a retry to schedule."""

    done: bool = False
    attempted: bool = False
    retry: tuple[datetime, Callable[[datetime], "Turn"]] | None = None


class Learning:
    def __init__(self, pages: dict[str, Page]):
        self.pages = pages
        self.copies: dict[tuple[str, str], Page] = {}
        self.wait = timedelta(hours=ContentSettings.load().retry_wait_hours)

    def copy_of(self, slug: str, language: str) -> Page:
        key = (slug, language)
        if key not in self.copies:
            page = self.pages[slug]
            copy = page.get_translations(inclusive=True).filter(locale__language_code=language).first()
            self.copies[key] = (copy or page).specific
        return self.copies[key]

    def take(self, member: Membership, data: dict, at: datetime) -> Turn:
        """The person opens the item and takes it: a quiz with the answers their mastery gives, or a form."""
        language = member.partner.language
        page = self.copy_of(data["item"], language)
        rng = random.Random(data["seed"])
        with translation.override(language), demo_clock(at):
            if queries.offered_page(member.partner, page.pk) is None:
                return Turn()  # not for this company (the resellers' quiz): it never saw it
            article = page.get_parent().specific if isinstance(page, QuizPage) else None
            for seen in (article, page):
                if isinstance(seen, ArticlePage | QuizPage | FormPage):
                    services.note_view(seen, member=member)
            try:
                if isinstance(page, QuizPage):
                    return self._quiz(page, member, data, at)
                services.answer_form(page, member=member, data=self._answers(page, language, rng))
                return Turn(done=True)
            except (AlreadyDone, RetryTooSoon, NotOffered):
                return Turn()

    def _quiz(self, quiz: QuizPage, member: Membership, data: dict, at: datetime, *, attempt_no: int = 1) -> Turn:
        # Mastery (70 to 100, the history's draw): 74 and up passes at once, 71 to 73 on the retry, 70 on the
        # third try; each retry after the programme's wait and a few hours more.
        mastery = data["mastery"]
        tries_needed = 1 if mastery >= 74 else 2 if mastery >= 71 else 3
        right = attempt_no >= tries_needed
        attempt: QuizAttempt = services.take_quiz(quiz, member=member, answers=_quiz_answers(quiz, right=right))
        if attempt.passed:
            return Turn(done=True, attempted=True)
        retry_at = at + self.wait + timedelta(hours=data["retry_after_hours"])

        def retry(when: datetime) -> Turn:
            with translation.override(member.partner.language), demo_clock(when):
                services.note_view(quiz, member=member)
                try:
                    return self._quiz(quiz, member, data, when, attempt_no=attempt_no + 1)
                except (AlreadyDone, RetryTooSoon, NotOffered):
                    return Turn()

        return Turn(attempted=True, retry=(retry_at, retry))

    @staticmethod
    def _answers(page: FormPage, language: str, rng: random.Random) -> dict:
        answers = {}
        for field in page.get_form_fields():
            choices = [c.strip() for c in field.choices.split(",") if c.strip()]
            if field.field_type == "scale":
                answers[field.clean_name] = str(rng.choice([3, 4, 4, 5, 5]))
            elif field.field_type == "checkboxes":
                answers[field.clean_name] = rng.sample(choices, k=rng.randint(1, len(choices)))
            elif choices:
                answers[field.clean_name] = rng.choice(choices)
            else:
                answers[field.clean_name] = rng.choice(COMMENTS[language])
        return answers


def _quiz_answers(quiz: QuizPage, *, right: bool) -> dict[str, list[str]]:
    """The right choices, or a wrong choice to every question but the first (under every pass mark but 1%)."""
    answers = {}
    for n, question in enumerate(queries.questions_of(quiz)):
        wrong = sorted(question.choices - question.right)
        answers[question.id] = sorted(question.right) if right or n == 0 or not wrong else wrong[:1]
    return answers
