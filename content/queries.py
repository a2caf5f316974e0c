"""Reads the Learn section's pages and the dashboard share: what a company is offered, in the reader's
language, what each person did, and what is left of the month's cap.

What is offered is decided in one place, ``offered_items``, which the list, a page's URL and the services'
earning all go through: a live page, inside its window, whose audience includes the company (and, for a
quiz under an article, the article too). A person reads the copy in their language where it is live, the
English one otherwise.
"""

import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from wagtail.models import Page

from accounts.audiences import offered_to
from accounts.models import Partner
from content import rules
from content.blocks import choice_id
from content.models import (
    ArticlePage,
    Completion,
    ContentSettings,
    FeedbackPage,
    LearnPage,
    MonthlyContentPoints,
    QuestionnairePage,
    QuizAttempt,
    QuizPage,
)
from portal.tiers.queries import programme_today, tier_of

ITEM_MODELS: tuple[type[LearnPage], ...] = (ArticlePage, QuizPage, QuestionnairePage, FeedbackPage)
EARNING_MODELS = (QuizPage, QuestionnairePage, FeedbackPage)


def reading_languages() -> list[str]:
    """The languages a page is read in, preferred first: the active one, then the site's default."""
    active = (get_language() or settings.LANGUAGE_CODE).split("-")[0]
    return list(dict.fromkeys([active, settings.LANGUAGE_CODE]))


def _window(now: datetime) -> Q:
    return (Q(available_from__isnull=True) | Q(available_from__lte=now)) & (
        Q(available_until__isnull=True) | Q(available_until__gt=now)
    )


def offered_items(
    partner: Partner,
    *,
    now: datetime | None = None,
    keys: Collection[uuid.UUID] | None = None,
    models: Iterable[type[LearnPage]] = ITEM_MODELS,
) -> dict[uuid.UUID, LearnPage]:
    """Every item offered to the partner now, by item (translation key), newest first, each the copy to read;
    with `keys`, only among those items (a quiz's article's key among them, or the quiz is not offered).

    A few queries whatever the number of pages: one per page type, one for the articles' keys. A partner
    that is not active (applied, suspended) is offered nothing, as it earns nothing from its orders."""
    if partner.status != Partner.Status.ACTIVE:
        return {}
    now = now or timezone.now()
    tier = tier_of(partner)
    languages = reading_languages()
    offered = Q(locale__language_code__in=languages) & _window(now) & offered_to(partner, tier_id=tier and tier.pk)
    if keys is not None:
        offered &= Q(translation_key__in=list(keys))
    candidates: list[LearnPage] = []
    for model in models:
        candidates += model.objects.live().filter(offered).select_related("locale")
    rank = {language: i for i, language in enumerate(languages)}
    chosen: dict[uuid.UUID, LearnPage] = {}
    for page in sorted(candidates, key=lambda p: rank[p.locale.language_code]):
        chosen.setdefault(page.translation_key, page)
    # A quiz under an article is offered only with its article (the article's own copy, in any language).
    parents = {page.path[: -Page.steplen] for page in chosen.values() if isinstance(page, QuizPage)}
    article_keys = dict(ArticlePage.objects.filter(path__in=parents).values_list("path", "translation_key"))
    for key, page in list(chosen.items()):
        article_key = article_keys.get(page.path[: -Page.steplen]) if isinstance(page, QuizPage) else None
        if article_key is not None and article_key not in chosen:
            del chosen[key]
    newest_first = sorted(chosen.values(), key=lambda p: (p.first_published_at or now, p.pk), reverse=True)
    return {page.translation_key: page for page in newest_first}


def offered_page(partner: Partner, page_id: int, *, now: datetime | None = None) -> LearnPage | None:
    """The copy of page `page_id` (any language's) the partner's people read, if the item is offered to it.

    The same rule as the list, judged on this item and its article alone (every earning asks it: reading the
    whole section was three quarters of a quiz's submission)."""
    found = Page.objects.filter(pk=page_id).values_list("translation_key", "content_type").first()
    if found is None:
        return None
    key, content_type = found
    model = ContentType.objects.get_for_id(content_type).model_class()
    if model not in ITEM_MODELS:
        return None
    copies = Page.objects.filter(translation_key=key).values_list("path", flat=True)
    parents = [path[: -Page.steplen] for path in copies]
    article_keys = list(ArticlePage.objects.filter(path__in=parents).values_list("translation_key", flat=True))
    models = {model, ArticlePage} if article_keys else {model}
    return offered_items(partner, now=now, keys={key, *article_keys}, models=models).get(key)


def quizzes_of(article: ArticlePage, offered: dict[uuid.UUID, LearnPage]) -> list[QuizPage]:
    """The article's quizzes among what is offered (whichever language's copy of the article is read)."""
    paths = ArticlePage.objects.filter(translation_key=article.translation_key).values_list("path", flat=True)
    return [
        page for page in offered.values() if isinstance(page, QuizPage) and page.path[: -Page.steplen] in set(paths)
    ]


def article_of(quiz: QuizPage, offered: dict[uuid.UUID, LearnPage]) -> ArticlePage | None:
    """The article a quiz belongs to, as the reader reads it (None for a quiz standing alone)."""
    parent = ArticlePage.objects.filter(path=quiz.path[: -Page.steplen]).values_list("translation_key", flat=True)
    key = parent.first()
    return offered.get(key) if key else None  # type: ignore[return-value]


def questions_of(quiz: QuizPage) -> list[rules.Question]:
    """The quiz's questions as grading needs them: the blocks' ids, never their text."""
    questions = []
    for block in quiz.questions:
        choices = {
            choice_id(i, child): child.value["correct"] for i, child in enumerate(block.value["choices"].bound_blocks)
        }
        right = frozenset(c for c, correct in choices.items() if correct)
        questions.append(rules.Question(id=block.id, choices=frozenset(choices), right=right))
    return questions


# --- What people did -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """One person's standing with one item."""

    completion: Completion | None
    last_attempt: QuizAttempt | None
    retry_at: datetime | None  # when a failed quiz may be taken again, if that is still to come

    @property
    def done(self) -> bool:
        return self.completion is not None


def progress_of(person, item_keys: Iterable[uuid.UUID], *, now: datetime | None = None) -> dict[uuid.UUID, Progress]:
    """Each item's progress for the person (two queries)."""
    keys = list(item_keys)
    now = now or timezone.now()
    completions = {c.item_key: c for c in Completion.objects.filter(person=person, item_key__in=keys)}
    last: dict[uuid.UUID, QuizAttempt] = {}
    attempts = QuizAttempt.objects.filter(person=person, item_key__in=keys).order_by("item_key", "-created_at")
    for attempt in attempts.distinct("item_key"):
        last[attempt.item_key] = attempt
    wait_hours = ContentSettings.load().retry_wait_hours
    progress = {}
    for key in keys:
        attempt = last.get(key)
        retry_at = None
        if attempt is not None and not attempt.passed and key not in completions:
            retry_at = rules.may_retry_at(attempt.created_at, wait_hours=wait_hours)
            retry_at = retry_at if retry_at > now else None
        progress[key] = Progress(completions.get(key), attempt, retry_at)
    return progress


@dataclass(frozen=True)
class MonthCap:
    """A company's learning points this month against the programme's monthly cap (0: no cap)."""

    month: object  # the first day of the month
    earned: int
    cap: int

    @property
    def remaining(self) -> int | None:
        return rules.remaining_cap(earned_this_month=self.earned, cap=self.cap)


def month_cap(partner: Partner) -> MonthCap:
    month = rules.month_of(programme_today())
    earned = MonthlyContentPoints.objects.filter(partner=partner, month=month).values_list("points", flat=True).first()
    return MonthCap(month=month, earned=earned or 0, cap=ContentSettings.load().monthly_cap_points)


def next_quiz_for(person, partner: Partner) -> QuizPage | None:
    """A quiz offered to the company that the person has not passed and may take now (the dashboard's hint)."""
    offered = offered_items(partner)
    quizzes = [page for page in offered.values() if isinstance(page, QuizPage)]
    progress = progress_of(person, [q.translation_key for q in quizzes])
    for quiz in quizzes:
        standing = progress[quiz.translation_key]
        if not standing.done and standing.retry_at is None:
            return quiz
    return None


def titles_of(page: Page) -> dict[str, str]:
    """The item's title in each language it has a copy in (for the ledger entry's words)."""
    copies = Page.objects.filter(translation_key=page.translation_key).values_list("locale__language_code", "title")
    return dict(copies)
