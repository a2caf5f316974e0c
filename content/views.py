"""The Learn section in the portal: what the company's people may read and take, and taking it.

As everywhere in the portal the company is the signed-in person's membership (``member_required``). An item
is looked up among those offered to the company (``queries.offered_page``: its audience, its window, live),
so a page for other partners is a 404 by its URL, as if it did not exist, and a POST to it earns nothing.
Every change is a call to ``content.services``; its refusals are shown on the form.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.views.decorators.http import require_GET, require_http_methods

from accounts.decorators import member_required
from content import queries, services
from content.blocks import choice_id
from content.errors import InvalidAnswers, NotOffered
from content.forms import QuizForm
from content.models import ArticlePage, Completion, FeedbackPage, FormPage, LearnPage, QuizAttempt, QuizPage
from content.queries import Progress


@dataclass(frozen=True)
class Card:
    """An item in the list, as the person stands with it."""

    page: LearnPage
    kind: str
    progress: Progress
    quizzes: list  # an article's quizzes (with their progress), as (quiz, progress)

    @property
    def points(self) -> int | None:
        return getattr(self.page, "points", None)


def _kind(page) -> str:
    if isinstance(page, ArticlePage):
        return "article"
    if isinstance(page, QuizPage):
        return "quiz"
    return "feedback" if isinstance(page, FeedbackPage) else "questionnaire"


@member_required
@require_GET
def learn(request):
    partner = request.membership.partner
    offered = queries.offered_items(partner)
    progress = queries.progress_of(request.user, offered.keys())
    quizzes_under = _quizzes_by_article(offered)
    cards = []
    for key, page in offered.items():
        if isinstance(page, QuizPage) and key in quizzes_under["in_article"]:
            continue  # listed with its article
        quizzes = [(quiz, progress[quiz.translation_key]) for quiz in quizzes_under["of"].get(key, [])]
        cards.append(Card(page, _kind(page), progress[key], quizzes))
    done = Completion.objects.filter(person=request.user).select_related("page").order_by("-completed_at")
    context = {"cards": cards, "cap": queries.month_cap(partner), "done": list(done), "partner": partner}
    return render(request, "content/learn.html", context)


def _quizzes_by_article(offered) -> dict:
    """Which offered quizzes belong to which offered article (by the article's item key)."""
    of: dict = {}
    in_article = set()
    for page in offered.values():
        if isinstance(page, QuizPage):
            article = queries.article_of(page, offered)
            if article is not None:
                of.setdefault(article.translation_key, []).append(page)
                in_article.add(page.translation_key)
    return {"of": of, "in_article": in_article}


@member_required
@require_http_methods(["GET", "POST"])
def item(request, page_id: int):
    member = request.membership
    page = queries.offered_page(member.partner, page_id)
    if page is None:
        raise Http404
    if request.method == "GET":
        services.note_view(page, member=member)
    context = {"page": page, "other_language": page.locale.language_code != _language()}
    if isinstance(page, ArticlePage):
        return _article(request, page, context)
    if isinstance(page, QuizPage):
        return _quiz(request, page, context)
    return _form(request, page, context)


def _language() -> str:
    return (get_language() or "en").split("-")[0]


def _article(request, page, context):
    if request.method == "POST":
        raise Http404
    offered = queries.offered_items(request.membership.partner)
    quizzes = queries.quizzes_of(page, offered)
    progress = queries.progress_of(request.user, [q.translation_key for q in quizzes])
    context["quizzes"] = [(quiz, progress[quiz.translation_key]) for quiz in quizzes]
    return render(request, page.template, context)


def _quiz(request, quiz, context):
    progress = queries.progress_of(request.user, [quiz.translation_key])[quiz.translation_key]
    form = QuizForm(quiz)
    if request.method == "POST" and not progress.done and progress.retry_at is None:
        form = QuizForm(quiz, data=request.POST)
        if form.is_valid():
            try:
                attempt = services.take_quiz(quiz, member=request.membership, answers=form.answers())
            except NotOffered:
                raise Http404 from None
            except InvalidAnswers as refused:
                form.add_answer_errors(refused.message_dict)
            except ValidationError as refused:  # already passed, or too soon after failing (another tab)
                form.add_error(None, refused)
            else:
                return redirect("content:attempt", attempt_id=attempt.pk)
    context.update(
        form=form,
        progress=progress,
        about=queries.article_of(quiz, queries.offered_items(request.membership.partner)),
    )
    return render(request, quiz.template, context, status=400 if form.errors else 200)


def _form(request, page: FormPage, context):
    progress = queries.progress_of(request.user, [page.translation_key])[page.translation_key]
    form = page.get_form(page=page, user=request.user)
    if request.method == "POST" and not progress.done:
        form = page.get_form(request.POST, page=page, user=request.user)
        if form.is_valid():
            try:
                services.answer_form(page, member=request.membership, data=request.POST)
            except NotOffered:
                raise Http404 from None
            except InvalidAnswers as refused:
                for name, messages in refused.message_dict.items():
                    form.add_error(name if name in form.fields else None, messages)
            except ValidationError as refused:
                form.add_error(None, refused)
            else:
                return redirect("content:item", page_id=page.pk)
    context.update(form=form, progress=progress)
    return render(request, page.template, context, status=400 if form.errors else 200)


@member_required
@require_GET
def attempt(request, attempt_id: int):
    """A person's own attempt: the score, and per question what they chose and the explanation.

    The right choices are shown once the quiz is passed (after a fail, which questions were wrong and the
    explanations, so the retry still tests what was learned)."""
    attempt = get_object_or_404(QuizAttempt, pk=attempt_id, person=request.user)
    quiz = QuizPage.objects.filter(translation_key=attempt.item_key).select_related("locale")
    reading = {page.locale.language_code: page for page in quiz}
    page = reading.get(_language()) or (attempt.page and attempt.page.specific)
    if page is None:
        raise Http404
    progress = queries.progress_of(request.user, [attempt.item_key])[attempt.item_key]
    context = {
        "attempt": attempt,
        "page": page,
        "questions": _marked(page, attempt),
        "completion": getattr(attempt, "completion", None),
        "progress": progress,
        "show_right": progress.done,
        "still_offered": queries.offered_page(request.membership.partner, page.pk) is not None,
        "other_language": page.locale.language_code != _language(),
    }
    return render(request, "content/attempt.html", context)


@dataclass(frozen=True)
class MarkedChoice:
    text: str
    chosen: bool
    right: bool


@dataclass(frozen=True)
class MarkedQuestion:
    text: str
    choices: list[MarkedChoice]
    explanation: object
    answered_right: bool


def _marked(page: QuizPage, attempt: QuizAttempt) -> list[MarkedQuestion]:
    marked = []
    for block in page.questions:
        chosen = set(attempt.answers.get(block.id, []))
        children = list(enumerate(block.value["choices"].bound_blocks))
        right_ids = {choice_id(i, child) for i, child in children if child.value["correct"]}
        choices = [
            MarkedChoice(child.value["text"], choice_id(i, child) in chosen, child.value["correct"])
            for i, child in children
        ]
        right = chosen == right_ids
        marked.append(MarkedQuestion(block.value["question"], choices, block.value["explanation"], right))
    return marked
