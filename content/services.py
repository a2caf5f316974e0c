"""Learning's use cases: take a quiz, answer a questionnaire or feedback form, note a view, open the section.

Each is one transaction that checks who may do it and whether the item is offered to the company
(``queries.offered_items``, the same rule as the list and the page's URL), so the portal, a test and the
demo behave alike. Points move only through the ledger (``Code.CONTENT``, keyed ``content:<person>:<item>``).

Rules the database holds: one ``Completion`` per person and item (a unique key: two tabs submitting together
earn once), and the company's month row (``MonthlyContentPoints``) that every completion locks before it
reads what the company earned, so the monthly cap is exact however many people finish at once.

Locks, always in this order, each to the end of the transaction:

1. the person's row (``FOR NO KEY UPDATE``): one person's attempts take turns, so the wait before a retry
   and "once per person" are judged on what the person did before;
2. the company's month row (``FOR NO KEY UPDATE``), only when something is completed;
3. the ledger's accounts, taken by the ledger itself, last.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from django.contrib.auth.models import Group, Permission
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.models import GroupPagePermission, Locale, Page, Site

from accounts.models import Membership, User
from content import queries, rules
from content.errors import AlreadyDone, InvalidAnswers, NotAMember, NotOffered, RetryTooSoon
from content.models import (
    Completion,
    ContentSettings,
    FeedbackPage,
    FormAnswers,
    FormPage,
    ItemView,
    Kind,
    LearnIndexPage,
    LearnPage,
    MonthlyContentPoints,
    QuizAttempt,
    QuizPage,
)
from content.wording import QuestionnaireAbout, QuizAbout
from portal.ledger import services as ledger
from portal.ledger.models import Code
from portal.tiers.queries import programme_today


def transfer_key(person_id: int, item_key: uuid.UUID) -> str:
    """The ledger key of a person's points for an item: the same key, once, whatever is retried."""
    return f"content:{person_id}:{item_key}"


# --- Taking a quiz ---------------------------------------------------------------------------------------


def take_quiz(quiz: QuizPage, *, member: Membership, answers: Mapping[str, list[str]]) -> QuizAttempt:
    """Grade the person's answers and store the attempt; a pass earns the quiz's points for the company.

    `answers` maps each question's id to the ids of the choices ticked (as the quiz form posts them). The
    attempt comes back with ``completion`` set when it passed (its `points` may be fewer than the quiz's,
    or none, when the company's monthly cap is reached). Refused: ``NotOffered``, ``AlreadyDone`` (passed
    before), ``RetryTooSoon`` (failed less than the programme's wait ago), ``InvalidAnswers``.
    """
    member = _current(member)
    if queries.offered_page(member.partner, quiz.pk) is None:
        raise NotOffered()
    questions = queries.questions_of(quiz)
    chosen = _checked_answers(questions, answers)
    with transaction.atomic():
        person = User.objects.select_for_update(no_key=True).get(pk=member.user_id)
        now = timezone.now()
        if Completion.objects.filter(person=person, item_key=quiz.translation_key).exists():
            raise AlreadyDone()
        last_failed = (
            QuizAttempt.objects.filter(person=person, item_key=quiz.translation_key, passed=False)
            .order_by("-created_at")
            .values_list("created_at", flat=True)
            .first()
        )
        retry_at = rules.may_retry_at(last_failed, wait_hours=ContentSettings.load().retry_wait_hours)
        if retry_at is not None and retry_at > now:
            raise RetryTooSoon(retry_at)
        grade = rules.grade(questions, chosen, pass_mark_percent=quiz.pass_mark_percent)
        attempt = QuizAttempt.objects.create(
            person=person,
            partner=member.partner,
            item_key=quiz.translation_key,
            page=quiz,
            language=quiz.locale.language_code,
            answers=chosen,
            correct_count=grade.correct,
            question_count=grade.questions,
            score_percent=grade.score_percent,
            pass_mark_percent=quiz.pass_mark_percent,
            passed=grade.passed,
            created_at=now,
        )
        if grade.passed:
            _complete(quiz, Kind.QUIZ, member=member, person=person, now=now, attempt=attempt)
        return attempt


def _checked_answers(questions: list[rules.Question], answers: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """Every question answered with its own choices (a forged or stale form is told which question is wrong)."""
    errors = {}
    chosen = {}
    for question in questions:
        picked = [str(c) for c in answers.get(question.id, []) if c]
        if not picked:
            errors[question.id] = _("Choose an answer.")
        elif not set(picked) <= question.choices or len(set(picked)) != len(picked):
            errors[question.id] = _("Choose among the question's own choices (the quiz may have changed: reload it).")
        elif len(question.right) == 1 and len(picked) > 1:
            errors[question.id] = _("Choose one answer.")
        else:
            chosen[question.id] = sorted(picked)
    if errors:
        raise InvalidAnswers(errors)
    return chosen


# --- Answering a form ------------------------------------------------------------------------------------


def answer_form(page: FormPage, *, member: Membership, data: Mapping) -> Completion:
    """Store the person's answers to a questionnaire or feedback form; completing it earns its points once.

    `data` is what the form posted; it is validated by the page's own form (Wagtail's form builder), and
    ``InvalidAnswers`` names each field that is wrong. Refused also: ``NotOffered``, ``AlreadyDone``.
    """
    member = _current(member)
    if queries.offered_page(member.partner, page.pk) is None:
        raise NotOffered()
    form = page.get_form(data, page=page, user=member.user)
    if not form.is_valid():
        raise InvalidAnswers({name: errors[0] for name, errors in form.errors.items()})
    with transaction.atomic():
        person = User.objects.select_for_update(no_key=True).get(pk=member.user_id)
        if Completion.objects.filter(person=person, item_key=page.translation_key).exists():
            raise AlreadyDone()
        answers = FormAnswers.objects.create(
            form_data=form.cleaned_data, page=page, person=person, partner=member.partner
        )
        kind = Kind.FEEDBACK if isinstance(page, FeedbackPage) else Kind.QUESTIONNAIRE
        return _complete(page, kind, member=member, person=person, now=timezone.now(), answers=answers)


# --- Earning ---------------------------------------------------------------------------------------------


def _complete(page, kind: Kind, *, member, person, now, attempt=None, answers=None) -> Completion:
    """Record the completion and give its points, within the company's monthly cap (under the month's lock)."""
    month = rules.month_of(programme_today())
    MonthlyContentPoints.objects.bulk_create(
        [MonthlyContentPoints(partner_id=member.partner_id, month=month)], ignore_conflicts=True
    )
    tally = MonthlyContentPoints.objects.select_for_update(no_key=True).get(partner_id=member.partner_id, month=month)
    points = rules.points_within_cap(
        page.points, earned_this_month=tally.points, cap=ContentSettings.load().monthly_cap_points
    )
    key = transfer_key(person.pk, page.translation_key)
    titles = queries.titles_of(page)
    title = titles.get("en") or page.title
    try:
        with transaction.atomic():
            completion = Completion.objects.create(
                person=person,
                partner_id=member.partner_id,
                item_key=page.translation_key,
                page=page,
                kind=kind,
                title=title,
                points_offered=page.points,
                points=points,
                month=month,
                attempt=attempt,
                answers=answers,
                transfer_key=key if points else "",
                completed_at=now,
            )
    except IntegrityError:  # the same person's other tab, on a path that did not take the person's lock
        raise AlreadyDone() from None
    if points:
        _post_points(page, kind, member=member, person=person, key=key, points=points, titles=titles, attempt=attempt)
        tally.points += points
        tally.save(update_fields=["points"])
    return completion


def _post_points(page, kind, *, member, person, key, points, titles, attempt) -> None:
    name = str(person)
    title = titles.get("en") or page.title
    if kind == Kind.QUIZ:
        about = QuizAbout(title=title, person=name, title_he=titles.get("he"))
        reason = f"Passed the quiz “{title}” ({name})"
    else:
        about = QuestionnaireAbout(title=title, person=name, title_he=titles.get("he"))
        reason = f"Answered “{title}” ({name})"
    details = {"about": about.as_details(), "item": str(page.translation_key)}
    if attempt is not None:
        details["score"] = f"{attempt.score_percent}%"
    request = ledger.earning(
        member.partner_id,
        key=key,
        amount=points,
        code=Code.CONTENT,
        reason=reason,
        details=details,
        actor_id=person.pk,
        ref_type=f"content.{kind}",
        ref_id=str(page.pk),
    )
    (result,) = ledger.post_transfers([request])
    if result.error:
        raise result.error


# --- Views and the section -------------------------------------------------------------------------------


def note_view(page: LearnPage, *, member: Membership) -> None:
    """Count that the person opened the item today (once a day per person; the managers' figures)."""
    ItemView.objects.bulk_create(
        [
            ItemView(
                person_id=member.user_id,
                partner_id=member.partner_id,
                item_key=page.translation_key,
                page=page,
                day=programme_today(),
            )
        ],
        ignore_conflicts=True,
    )


@dataclass(frozen=True)
class Section:
    english: LearnIndexPage
    hebrew: LearnIndexPage


@transaction.atomic
def open_learn_section(*, title: str = "Learn", title_he: str = "למידה") -> Section:
    """The Learn section under the site's root, in English and Hebrew (made on first call, found after)."""
    english_locale = Locale.get_default()
    hebrew_locale, _created = Locale.objects.get_or_create(language_code="he")
    english = LearnIndexPage.objects.filter(locale=english_locale).first()
    if english is None:
        site = Site.objects.filter(is_default_site=True).select_related("root_page").first()
        root = site.root_page if site else Page.get_first_root_node()
        english = root.add_child(instance=LearnIndexPage(title=title, slug="learn", locale=english_locale))
    hebrew = LearnIndexPage.objects.filter(translation_key=english.translation_key, locale=hebrew_locale).first()
    if hebrew is None:
        hebrew = english.copy_for_translation(hebrew_locale, copy_parents=True)
        hebrew.title = title_he
        hebrew.save_revision().publish()
    _let_staff_edit(english, hebrew)
    return Section(english=english, hebrew=hebrew)


# The CMS groups (accounts' migrations) edit, publish and translate the section's pages; none deletes in bulk.
EDITING_GROUPS = ("Account managers", "Programme administrators")
EDITING = ("add_page", "change_page", "publish_page", "lock_page", "unlock_page")


def _let_staff_edit(*sections: LearnIndexPage) -> None:
    permissions = list(Permission.objects.filter(content_type__app_label="wagtailcore", codename__in=EDITING))
    for group in Group.objects.filter(name__in=EDITING_GROUPS):
        for section in sections:
            for permission in permissions:
                GroupPagePermission.objects.get_or_create(group=group, page=section, permission=permission)


def _current(member: Membership) -> Membership:
    """The person's membership as it is now (they may have been removed since the page was read)."""
    current = Membership.objects.select_related("partner", "user").filter(pk=member.pk).first()
    if current is None or not current.user.is_active:
        raise NotAMember()
    return current
