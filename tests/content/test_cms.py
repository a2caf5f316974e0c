"""Account managers edit the Learn section in Wagtail: each page type's editor opens, a page is translated
into Hebrew with Wagtail's own "Translate", and programme administrators set the cap and the wait."""

import pytest
from django.core.management import call_command
from django.urls import reverse
from wagtail.models import Locale

from content import services
from content.models import ArticlePage, ContentSettings, FormAnswers, QuizPage
from content.queries import questions_of
from tests.content import pages
from tests.factories import AccountManagerFactory, MembershipFactory, ProgrammeAdministratorFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["articlepage", "quizpage", "questionnairepage", "feedbackpage"])
def test_an_account_manager_opens_the_editor_of_each_page_type_under_learn(client, model):
    section = pages.section()
    client.force_login(AccountManagerFactory())
    response = client.get(reverse("wagtailadmin_pages:add", args=["content", model, section.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    if model != "articlepage":
        assert 'name="points"' in html
    assert 'name="audience"' in html and 'name="available_from"' in html


def test_an_account_manager_edits_a_quiz_and_its_article(client):
    quiz = pages.quiz(pages.article())
    client.force_login(AccountManagerFactory())
    for page in (quiz, quiz.get_parent()):
        assert client.get(reverse("wagtailadmin_pages:edit", args=[page.pk])).status_code == 200


def test_a_page_is_translated_into_hebrew_with_wagtails_translate(client):
    quiz = pages.quiz()
    hebrew = Locale.objects.get(language_code="he")
    client.force_login(AccountManagerFactory())
    url = reverse("simple_translation:submit_page_translation", args=[quiz.pk])
    response = client.post(url, {"locales": [hebrew.pk], "include_subtree": False})
    assert response.status_code == 302
    copy = QuizPage.objects.get(translation_key=quiz.translation_key, locale=hebrew)
    assert questions_of(copy) == questions_of(quiz)  # the same question and choice ids: answers grade alike
    assert copy.get_parent().specific.locale == hebrew


def test_the_learn_section_is_made_once_in_both_languages():
    call_command("open_learn_section")
    call_command("open_learn_section")
    sections = list(pages.section().get_translations(inclusive=True))
    assert sorted(s.locale.language_code for s in sections) == ["en", "he"]


def test_a_manager_may_not_put_an_article_outside_the_learn_section(client):
    section = pages.section()
    client.force_login(AccountManagerFactory())
    response = client.get(reverse("wagtailadmin_pages:add", args=["content", "articlepage", section.get_parent().pk]))
    assert response.status_code in (302, 403)
    assert not ArticlePage.objects.exists()


def test_an_administrator_sets_the_monthly_cap_and_the_wait(client):
    client.force_login(ProgrammeAdministratorFactory())
    url = reverse("wagtailsettings:edit", args=["content", "contentsettings", ContentSettings.load().pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"monthly_cap_points": "300", "retry_wait_hours": "12"})
    assert response.status_code == 302
    settings = ContentSettings.load()
    assert (settings.monthly_cap_points, settings.retry_wait_hours) == (300, 12)


def test_an_account_manager_may_not_change_the_programmes_learning_settings(client):
    client.force_login(AccountManagerFactory())
    url = reverse("wagtailsettings:edit", args=["content", "contentsettings", ContentSettings.load().pk])
    assert client.get(url).status_code in (302, 403)


def test_a_form_page_with_answers_is_not_deleted_one_without_may_be(client):
    answered, unanswered = pages.form_page(title="Answered"), pages.form_page(title="Not yet")
    services.answer_form(answered, member=MembershipFactory(), data=pages.FORM_ANSWERS)
    manager = AccountManagerFactory()
    assert not answered.permissions_for_user(manager).can_delete()
    assert unanswered.permissions_for_user(manager).can_delete()
    client.force_login(manager)
    response = client.post(reverse("wagtailadmin_pages:delete", args=[answered.pk]))
    assert response.status_code in (302, 403)
    assert FormAnswers.objects.filter(page=answered).exists()
