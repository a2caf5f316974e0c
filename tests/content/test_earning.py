"""Passing a quiz or answering a form earns the company the item's points: once per person and item, within
the company's monthly cap, only for items offered to it, a failed quiz retried only after the wait."""

from datetime import UTC, date, datetime, timedelta
from unittest import mock

import pytest
from django.utils import timezone, translation

from accounts.models import Partner
from content import queries, services
from content.errors import AlreadyDone, InvalidAnswers, NotOffered, RetryTooSoon
from content.models import Completion, FormAnswers, ItemView, QuizAttempt
from portal.ledger.models import Code, Transfer
from portal.ledger.queries import balance_of
from portal.ledger.wording import reason_of
from tests.content import pages
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _settings(content_settings):
    return content_settings


def test_passing_a_quiz_earns_its_points_for_the_company_with_an_entry_naming_person_and_item(reseller_member):
    quiz = pages.quiz(points=50)
    attempt = services.take_quiz(quiz, member=reseller_member, answers=pages.RIGHT)
    assert attempt.passed and attempt.score_percent == 100
    assert attempt.completion.points == 50
    assert balance_of(reseller_member.partner).available == 50
    entry = Transfer.objects.get(code=Code.CONTENT)
    person = str(reseller_member.user)
    assert entry.actor_id == reseller_member.user_id and entry.ref_id == str(quiz.pk)
    assert reason_of(entry.reason, entry.details) == f"Passed the quiz “Grinder basics” ({person})"


def test_the_entry_reads_in_the_readers_language_with_the_hebrew_title(reseller_member):
    quiz = pages.quiz()
    pages.in_hebrew(quiz, "יסודות המטחנה")
    services.take_quiz(quiz, member=reseller_member, answers=pages.RIGHT)
    entry = Transfer.objects.get(code=Code.CONTENT)
    with translation.override("he"):
        words = reason_of(entry.reason, entry.details)
    assert "יסודות המטחנה" in words and str(reseller_member.user) in words


def test_a_failed_quiz_is_stored_and_earns_nothing(reseller_member):
    quiz = pages.quiz(pass_mark_percent=100)
    attempt = services.take_quiz(quiz, member=reseller_member, answers=pages.HALF)
    assert not attempt.passed and attempt.score_percent == 50 and attempt.correct_count == 1
    assert attempt.answers == {"g1": ["c1a"], "g2": ["c2c"]}
    assert not Completion.objects.exists() and not Transfer.objects.filter(code=Code.CONTENT).exists()


def test_a_score_at_the_pass_mark_passes(reseller_member):
    quiz = pages.quiz(pass_mark_percent=50)
    assert services.take_quiz(quiz, member=reseller_member, answers=pages.HALF).passed


def test_a_failed_quiz_may_be_retried_only_after_the_wait(reseller_member, content_settings):
    quiz = pages.quiz()
    start = timezone.now()
    services.take_quiz(quiz, member=reseller_member, answers=pages.WRONG)
    with mock.patch("django.utils.timezone.now", return_value=start + timedelta(hours=23, minutes=59)):
        with pytest.raises(RetryTooSoon) as refused:
            services.take_quiz(quiz, member=reseller_member, answers=pages.RIGHT)
    assert refused.value.at == QuizAttempt.objects.get().created_at + timedelta(hours=24)
    assert QuizAttempt.objects.count() == 1
    with mock.patch("django.utils.timezone.now", return_value=start + timedelta(hours=24, seconds=1)):
        assert services.take_quiz(quiz, member=reseller_member, answers=pages.RIGHT).passed
    assert QuizAttempt.objects.count() == 2
    assert balance_of(reseller_member.partner).available == 50


def test_once_per_person_per_item_in_either_language(reseller_member):
    quiz = pages.quiz()
    hebrew = pages.in_hebrew(quiz, "יסודות המטחנה")
    services.take_quiz(quiz, member=reseller_member, answers=pages.RIGHT)
    with pytest.raises(AlreadyDone):
        services.take_quiz(quiz, member=reseller_member, answers=pages.RIGHT)
    with pytest.raises(AlreadyDone):
        services.take_quiz(hebrew, member=reseller_member, answers=pages.RIGHT)
    assert balance_of(reseller_member.partner).available == 50


def test_each_person_of_a_company_earns_once(reseller_member):
    colleague = MembershipFactory(partner=reseller_member.partner)
    quiz = pages.quiz(points=50)
    services.take_quiz(quiz, member=reseller_member, answers=pages.RIGHT)
    services.take_quiz(quiz, member=colleague, answers=pages.RIGHT)
    assert balance_of(reseller_member.partner).available == 100


def test_the_monthly_cap_exactly_the_completion_that_crosses_it_and_the_one_after(reseller, content_settings):
    content_settings.monthly_cap_points = 100
    content_settings.save()
    people = [MembershipFactory(partner=reseller) for _ in range(4)]
    quiz = pages.quiz(points=40)
    earned = [services.take_quiz(quiz, member=m, answers=pages.RIGHT).completion.points for m in people]
    assert earned == [40, 40, 20, 0]  # the third crosses the cap and earns what is left; the fourth nothing
    completions = list(Completion.objects.order_by("completed_at", "id"))
    assert [c.capped for c in completions] == [False, False, True, True]
    assert len(completions) == 4  # the completion over the cap is recorded all the same
    assert balance_of(reseller).available == 100
    assert Transfer.objects.filter(code=Code.CONTENT).count() == 3
    assert queries.month_cap(reseller).remaining == 0


def test_the_cap_is_a_calendar_month_of_the_programme(reseller, content_settings):
    content_settings.monthly_cap_points = 40
    content_settings.save()
    first, second = MembershipFactory(partner=reseller), MembershipFactory(partner=reseller)
    quiz = pages.quiz(points=40)
    # 21:30 UTC on 31 January is 23:30 in Jerusalem (the programme's calendar); an hour later it is February
    # there, though still January in UTC: the second completion counts in a fresh month.
    january_late = datetime(2026, 1, 31, 21, 30, tzinfo=UTC)
    with mock.patch("django.utils.timezone.now", return_value=january_late):
        services.take_quiz(quiz, member=first, answers=pages.RIGHT)
    with mock.patch("django.utils.timezone.now", return_value=january_late + timedelta(hours=1)):
        services.take_quiz(quiz, member=second, answers=pages.RIGHT)
    months = list(Completion.objects.order_by("id").values_list("month", "points"))
    assert months == [(date(2026, 1, 1), 40), (date(2026, 2, 1), 40)]


def test_answering_a_questionnaire_stores_the_answers_and_earns(reseller_member):
    page = pages.form_page("questionnaire", points=30)
    completion = services.answer_form(page, member=reseller_member, data=pages.FORM_ANSWERS)
    assert completion.points == 30 and completion.kind == "questionnaire"
    answers = FormAnswers.objects.get()
    assert answers.form_data == pages.FORM_ANSWERS and answers.person == reseller_member.user
    assert list(page.get_submissions()) == [answers]  # Wagtail's own listing and export read them
    entry = Transfer.objects.get(code=Code.CONTENT)
    assert reason_of(entry.reason, entry.details) == f"Answered “How do you sell?” ({reseller_member.user})"
    with pytest.raises(AlreadyDone):
        services.answer_form(page, member=reseller_member, data=pages.FORM_ANSWERS)


def test_a_feedback_form_refuses_answers_off_its_scale_naming_the_field(reseller_member):
    page = pages.form_page("feedback", title="The X5 launch")
    with pytest.raises(InvalidAnswers) as refused:
        services.answer_form(page, member=reseller_member, data={**pages.FORM_ANSWERS, "how_useful_is_the_range": "9"})
    assert set(refused.value.message_dict) == {"how_useful_is_the_range"}
    assert not FormAnswers.objects.exists() and not Completion.objects.exists()


@pytest.mark.parametrize(
    "answers, wrong",
    [
        ({"g1": ["c1a"]}, {"g2"}),  # a question left out
        ({"g1": ["c1a", "c1b"], "g2": ["c2c"]}, {"g1"}),  # two ticked where one is right
        ({"g1": ["elsewhere"], "g2": ["c2c"]}, {"g1"}),  # a choice of no question of this quiz
        ({}, {"g1", "g2"}),
    ],
)
def test_answers_that_cannot_be_graded_are_refused_per_question_and_not_stored(reseller_member, answers, wrong):
    quiz = pages.quiz()
    with pytest.raises(InvalidAnswers) as refused:
        services.take_quiz(quiz, member=reseller_member, answers=answers)
    assert set(refused.value.message_dict) == wrong
    assert not QuizAttempt.objects.exists()


def test_a_view_is_counted_once_a_day_per_person(reseller_member):
    quiz = pages.quiz()
    services.note_view(quiz, member=reseller_member)
    services.note_view(quiz, member=reseller_member)
    assert ItemView.objects.count() == 1


class TestTargeting:
    """A page for resellers is neither offered to nor earns for a point of sale."""

    def test_the_reseller_is_offered_it_and_earns(self, reseller_member, resellers_only):
        quiz = pages.quiz(audience=resellers_only)
        assert quiz.translation_key in queries.offered_items(reseller_member.partner)
        assert services.take_quiz(quiz, member=reseller_member, answers=pages.RIGHT).completion.points == 50

    def test_the_point_of_sale_is_not_offered_it_and_earns_nothing(self, shop_member, resellers_only):
        quiz = pages.quiz(audience=resellers_only)
        form = pages.form_page(audience=resellers_only)
        offered = queries.offered_items(shop_member.partner)
        assert quiz.translation_key not in offered and form.translation_key not in offered
        with pytest.raises(NotOffered):
            services.take_quiz(quiz, member=shop_member, answers=pages.RIGHT)
        with pytest.raises(NotOffered):
            services.answer_form(form, member=shop_member, data=pages.FORM_ANSWERS)
        assert not QuizAttempt.objects.exists() and not Completion.objects.exists()
        assert not Transfer.objects.filter(code=Code.CONTENT).exists()

    def test_a_quiz_under_an_article_for_resellers_is_not_offered_to_a_point_of_sale(self, shop_member, resellers_only):
        quiz = pages.quiz(pages.article(audience=resellers_only))
        assert quiz.translation_key not in queries.offered_items(shop_member.partner)
        with pytest.raises(NotOffered):
            services.take_quiz(quiz, member=shop_member, answers=pages.RIGHT)

    def test_outside_its_window_an_item_is_not_offered(self, reseller_member):
        now = timezone.now()
        later = pages.quiz(title="Later", available_from=now + timedelta(days=1))
        over = pages.quiz(title="Over", available_until=now - timedelta(seconds=1))
        offered = queries.offered_items(reseller_member.partner)
        assert later.translation_key not in offered and over.translation_key not in offered
        with pytest.raises(NotOffered):
            services.take_quiz(over, member=reseller_member, answers=pages.RIGHT)

    def test_an_unpublished_item_is_not_offered(self, reseller_member):
        quiz = pages.quiz()
        quiz.unpublish()
        with pytest.raises(NotOffered):
            services.take_quiz(quiz, member=reseller_member, answers=pages.RIGHT)


def test_a_suspended_partner_is_offered_nothing_and_earns_nothing(reseller_member):
    quiz = pages.quiz()
    Partner.objects.filter(pk=reseller_member.partner_id).update(status=Partner.Status.SUSPENDED)
    reseller_member.partner.refresh_from_db()
    assert queries.offered_items(reseller_member.partner) == {}
    with pytest.raises(NotOffered):
        services.take_quiz(quiz, member=reseller_member, answers=pages.RIGHT)


def test_a_person_reads_their_languages_copy_falling_back_to_english(reseller_member):
    translated = pages.quiz(title="Translated")
    hebrew = pages.in_hebrew(translated, "מתורגם")
    english_only = pages.quiz(title="English only")
    with translation.override("he"):
        offered = queries.offered_items(reseller_member.partner)
    assert offered[translated.translation_key].pk == hebrew.pk
    assert offered[english_only.translation_key].pk == english_only.pk
    assert queries.offered_items(reseller_member.partner)[translated.translation_key].pk == translated.pk


def test_deleting_a_quiz_keeps_who_passed_it_and_what_they_earned(reseller_member):
    quiz = pages.quiz()
    services.take_quiz(quiz, member=reseller_member, answers=pages.RIGHT)
    quiz.delete()
    kept = [(c.title, c.points, c.page_id) for c in Completion.objects.all()]
    assert kept == [("Grinder basics", 50, None)]
    assert QuizAttempt.objects.get().page_id is None and balance_of(reseller_member.partner).available == 50
