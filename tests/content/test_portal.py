"""The Learn section in the portal: what a company's people see, take and earn, by list, URL and POST."""

import re
from datetime import timedelta
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from content.models import Completion, ContentSettings, QuizAttempt
from portal.ledger.models import Code, Transfer
from portal.ledger.queries import balance_of
from tests.content import pages
from tests.factories import MembershipFactory, StaffFactory

pytestmark = pytest.mark.django_db

LEARN = "/learn/"


@pytest.fixture(autouse=True)
def _settings(content_settings):
    return content_settings


def item_url(page):
    return reverse("content:item", args=[page.pk])


def post_answers(client, quiz, answers):
    data = {f"q-{question}": choices for question, choices in answers.items()}
    return client.post(item_url(quiz), data)


def test_the_learn_section_lists_what_the_company_may_take_with_points_progress_and_the_cap(client, reseller_member):
    ContentSettings.objects.filter(pk=ContentSettings.load().pk).update(monthly_cap_points=500)
    article = pages.article(summary="All about the grinder")
    quiz = pages.quiz(article, points=75)
    form = pages.form_page(points=30)
    client.force_login(reseller_member.user)
    html = client.get(LEARN).content.decode()
    assert "The G20 grinder" in html and "All about the grinder" in html and item_url(article) in html
    assert item_url(quiz) in html and item_url(form) in html
    assert "75</span> points" in html and "Not taken yet" in html
    assert re.search(r"earned <span dir=\"ltr\">0</span> of <span dir=\"ltr\">500</span> points", html)
    post_answers(client, quiz, pages.RIGHT)
    html = client.get(LEARN).content.decode()
    assert "Passed" in html and "75</span> points earned" in html
    assert '<strong><span dir="ltr">425</span> left</strong>' in html
    assert "What you have done" in html


class TestTargeting:
    """A page for resellers is neither shown to nor earns for a point of sale: by list, URL and direct POST."""

    @pytest.fixture
    def quiz(self, resellers_only):
        return pages.quiz(title="For resellers", audience=resellers_only)

    def test_the_list(self, client, quiz, reseller_member, shop_member):
        client.force_login(shop_member.user)
        assert "For resellers" not in client.get(LEARN).content.decode()
        client.force_login(reseller_member.user)
        assert "For resellers" in client.get(LEARN).content.decode()

    def test_the_url(self, client, quiz, shop_member):
        client.force_login(shop_member.user)
        assert client.get(item_url(quiz)).status_code == 404

    def test_a_direct_post(self, client, quiz, shop_member):
        client.force_login(shop_member.user)
        assert post_answers(client, quiz, pages.RIGHT).status_code == 404
        assert not QuizAttempt.objects.exists() and not Transfer.objects.filter(code=Code.CONTENT).exists()

    def test_a_direct_post_to_a_form_for_resellers(self, client, resellers_only, shop_member):
        form = pages.form_page(audience=resellers_only)
        client.force_login(shop_member.user)
        assert client.post(item_url(form), pages.FORM_ANSWERS).status_code == 404
        assert not Completion.objects.exists()

    def test_the_hebrew_copys_url(self, client, quiz, shop_member):
        hebrew = pages.in_hebrew(quiz, "למשווקים")
        client.force_login(shop_member.user)
        assert client.get(item_url(hebrew)).status_code == 404


def test_the_right_answers_and_explanations_are_not_in_the_page_before_answering(client, reseller_member):
    quiz = pages.quiz()
    client.force_login(reseller_member.user)
    html = client.get(item_url(quiz)).content.decode()
    assert "Which burrs does the G20 grinder use?" in html and "Conical burrs" in html
    assert pages.SECRET_EXPLANATION not in html and "correct" not in html.lower()
    # The same quiz with other right choices (as many per question) reads the same, byte for byte.
    quiz.questions = pages.with_right_choices({"g1": {"c1b"}, "g2": {"c2b", "c2c"}})
    quiz.save_revision().publish()
    again = client.get(item_url(quiz)).content.decode()
    strip = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
    assert strip.sub("", again) == strip.sub("", html)


def test_a_purchaser_passes_a_quiz_sees_the_result_and_the_points_on_the_dashboard(client, reseller):
    purchaser = MembershipFactory(partner=reseller, role="purchaser")
    quiz = pages.quiz(points=50)
    client.force_login(purchaser.user)
    response = post_answers(client, quiz, pages.RIGHT)
    attempt = QuizAttempt.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("content:attempt", args=[attempt.pk])
    html = client.get(response["Location"]).content.decode()
    assert "You passed." in html and "100%" in html and "50</span> points" in html
    assert pages.SECRET_EXPLANATION in html and "right answer" in html
    dashboard = client.get("/").content.decode()
    assert '<span data-testid="available" dir="ltr">50</span>' in dashboard
    assert "Passed the quiz “Grinder basics”" in dashboard


def test_a_failed_quiz_says_when_to_retry_and_refuses_an_earlier_post(client, reseller_member):
    quiz = pages.quiz()
    client.force_login(reseller_member.user)
    response = post_answers(client, quiz, pages.WRONG)
    html = client.get(response["Location"]).content.decode()
    assert "Not passed this time." in html and "You may try again from" in html
    assert "right answer" not in html  # which choices are right is kept for the retry
    assert "You may try again from" in client.get(item_url(quiz)).content.decode()
    post_answers(client, quiz, pages.RIGHT)
    assert QuizAttempt.objects.count() == 1 and balance_of(reseller_member.partner).available == 0
    later = timezone.now() + timedelta(hours=25)
    with mock.patch("django.utils.timezone.now", return_value=later):
        assert post_answers(client, quiz, pages.RIGHT).status_code == 302
    assert balance_of(reseller_member.partner).available == 50


def test_an_unanswered_question_is_named_and_nothing_is_stored(client, reseller_member):
    quiz = pages.quiz()
    client.force_login(reseller_member.user)
    response = post_answers(client, quiz, {"g1": ["c1a"]})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Choose an answer." in html and 'role="alert"' in html
    assert 'value="c1a" id="id_q-g1_0" checked' in html or "checked" in html
    assert not QuizAttempt.objects.exists()


def test_a_forged_choice_is_refused_without_a_server_error(client, reseller_member):
    quiz = pages.quiz()
    client.force_login(reseller_member.user)
    response = client.post(item_url(quiz), {"q-g1": "<script>", "q-g2": ["c2a", "\x00"]})
    assert response.status_code in (400,)
    assert not QuizAttempt.objects.exists()


def test_answering_a_questionnaire_thanks_and_earns_once(client, reseller_member):
    page = pages.form_page(points=30, thank_you_text="<p>Thanks, partner!</p>")
    client.force_login(reseller_member.user)
    html = client.get(item_url(page)).content.decode()
    assert 'type="radio" name="how_useful_is_the_range" value="5"' in html
    response = client.post(item_url(page), pages.FORM_ANSWERS)
    assert response.status_code == 302
    html = client.get(item_url(page)).content.decode()
    assert "Thanks, partner!" in html and "<form" not in html.split("<main")[1].split("</main>")[0].replace(
        '<form class="language-switch"', ""
    )
    client.post(item_url(page), pages.FORM_ANSWERS)
    assert balance_of(reseller_member.partner).available == 30


def test_a_hebrew_reader_reads_the_hebrew_copy_right_to_left(client, reseller_member):
    quiz = pages.quiz()
    pages.in_hebrew(quiz, "יסודות המטחנה")
    reseller_member.user.language = "he"
    reseller_member.user.save(update_fields=["language"])
    client.force_login(reseller_member.user)
    html = client.get(item_url(quiz)).content.decode()
    assert '<html lang="he" dir="rtl">' in html
    assert re.search(r'<article class="ln-quiz" lang="he" dir="rtl"\s*>\s*<h1>יסודות המטחנה</h1>', html)
    assert "שליחת התשובות" in html and "בחרו את כל התשובות הנכונות." in html
    learn = client.get(LEARN).content.decode()
    assert "<h1>למידה</h1>" in learn and "יסודות המטחנה" in learn and "Grinder basics" not in learn


def test_a_hebrew_reader_without_a_hebrew_copy_reads_the_english_one_left_to_right(client, reseller_member):
    quiz = pages.quiz()
    reseller_member.user.language = "he"
    reseller_member.user.save(update_fields=["language"])
    client.force_login(reseller_member.user)
    html = client.get(item_url(quiz)).content.decode()
    assert '<html lang="he" dir="rtl">' in html
    assert re.search(r'<article class="ln-quiz" lang="en" dir="ltr"\s*>\s*<h1>Grinder basics</h1>', html)


def test_the_dashboard_suggests_a_quiz_not_yet_taken(client, reseller_member):
    quiz = pages.quiz(title="Milk texturing", points=60)
    client.force_login(reseller_member.user)
    html = client.get("/").content.decode()
    assert "Take the quiz “Milk texturing”: 60 points" in html and item_url(quiz) in html
    post_answers(client, quiz, pages.RIGHT)
    assert "Milk texturing" not in client.get("/").content.decode().split("What to do next")[1].split("</section>")[0]


def test_the_header_links_to_learn(client, reseller_member):
    client.force_login(reseller_member.user)
    html = client.get(LEARN).content.decode()
    assert '<a href="/learn/" aria-current="page">Learn</a>' in html


def test_another_persons_attempt_is_not_found(client, reseller_member):
    quiz = pages.quiz()
    client.force_login(reseller_member.user)
    post_answers(client, quiz, pages.WRONG)
    attempt = QuizAttempt.objects.get()
    client.force_login(MembershipFactory(partner=reseller_member.partner).user)
    assert client.get(reverse("content:attempt", args=[attempt.pk])).status_code == 404


def test_wagtails_own_route_sends_partners_to_the_learn_section(client, reseller_member):
    quiz = pages.quiz()
    client.force_login(reseller_member.user)
    response = client.get(quiz.url)
    assert response.status_code == 302 and response["Location"] == item_url(quiz)


def test_signed_out_visitors_are_sent_to_sign_in_and_staff_to_the_cms(client):
    quiz = pages.quiz()
    assert client.get(item_url(quiz))["Location"].startswith("/accounts/login/")
    client.force_login(StaffFactory())
    assert client.get(LEARN).status_code == 302


def test_a_staff_preview_renders_the_quiz_without_its_answers(reseller_member):
    quiz = pages.quiz()
    response = quiz.make_preview_request()
    html = response.render().content.decode() if hasattr(response, "render") else response.content.decode()
    assert "Which burrs does the G20 grinder use?" in html and pages.SECRET_EXPLANATION not in html


def test_staff_previews_of_an_article_and_a_questionnaire_render_as_partners_read_them(reseller_member):
    article = pages.article(summary="All about the grinder")
    form = pages.form_page()
    article_html = article.make_preview_request().render().content.decode()
    assert "The G20 grinds for espresso." in article_html and "Preview: partners see this page" in article_html
    form_html = form.make_preview_request().render().content.decode()
    assert 'name="how_useful_is_the_range"' in form_html and "disabled" in form_html
