"""The account managers' learning report and its exports: figures for a hand-computed set of attempts, by
partner kind and region; another portfolio's figures and answers absent from every report, export and
Wagtail's own form submission pages; cells a spreadsheet would run escaped."""

import csv
import io
from datetime import UTC, date, datetime
from unittest import mock

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Partner
from content import reports, services
from content.models import FormAnswers
from tests.content import pages
from tests.factories import (
    AccountManagerFactory,
    MembershipFactory,
    PartnerFactory,
    ProgrammeAdministratorFactory,
    StaffFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

RESELLER, POS, DISTRIBUTOR = Partner.Kind.RESELLER, Partner.Kind.POINT_OF_SALE, Partner.Kind.DISTRIBUTOR


@pytest.fixture
def programme(content_settings):
    """Two portfolios. Dana's: two resellers in the North, a shop in the South; Yossi's: a distributor in the North.

    With a monthly cap of 60 points and no wait before a retry:
    - North Reseller 1: Ann fails the quiz (50%) then passes (100%: 50 points); Ben passes (100%: 10, the cap).
    - North Reseller 2: Cy fails (0%).
    - South Shop: Dee passes (100%: 50) and answers the questionnaire (30 offered, 10 under the cap).
    - Yossi's distributor: Eve passes (100%: 50) and answers the questionnaire (10).
    Views: Ann, Ben and Eve opened the quiz; Dee the article and the questionnaire.
    """
    content_settings.monthly_cap_points = 60
    content_settings.retry_wait_hours = 0
    content_settings.save()
    dana, yossi = AccountManagerFactory(), AccountManagerFactory()
    reseller_1 = PartnerFactory(name="North Reseller 1", kind=RESELLER, region="North", account_manager=dana)
    reseller_2 = PartnerFactory(name="North Reseller 2", kind=RESELLER, region="North", account_manager=dana)
    shop = PartnerFactory(name="South Shop", kind=POS, region="South", account_manager=dana)
    distributor = PartnerFactory(name="Yossi Distribution", kind=DISTRIBUTOR, region="North", account_manager=yossi)

    def member(partner, first_name):
        return MembershipFactory(partner=partner, user=UserFactory(first_name=first_name, last_name="Tester"))

    ann, ben, cy = member(reseller_1, "Ann"), member(reseller_1, "Ben"), member(reseller_2, "Cy")
    dee, eve = member(shop, "Dee"), member(distributor, "Eve")
    article = pages.article()
    quiz = pages.quiz(points=50, pass_mark_percent=100)
    form = pages.form_page(points=30)
    for taker, answers in [(ann, pages.HALF), (ann, pages.RIGHT), (ben, pages.RIGHT), (cy, pages.WRONG)]:
        services.take_quiz(quiz, member=taker, answers=answers)
    for taker in (dee, eve):
        services.take_quiz(quiz, member=taker, answers=pages.RIGHT)
        services.answer_form(form, member=taker, data=pages.FORM_ANSWERS)
    for viewer, page in [(ann, quiz), (ben, quiz), (eve, quiz), (dee, article), (dee, form)]:
        services.note_view(page, member=viewer)
        services.note_view(page, member=viewer)  # the same day again: one view
    return {
        "dana": dana,
        "yossi": yossi,
        "article": article,
        "quiz": quiz,
        "form": form,
        "partners": {"reseller_1": reseller_1, "shop": shop, "distributor": distributor},
    }


def figures(item):
    total = item.total
    return (
        total.views,
        total.attempts,
        total.pass_rate_percent,
        total.average_score_percent,
        total.completions,
        total.points,
    )


def by_segment(item):
    return {
        (s.kind, s.region): (
            s.figures.views,
            s.figures.attempts,
            s.figures.pass_rate_percent,
            s.figures.average_score_percent,
            s.figures.completions,
            s.figures.points,
        )
        for s in item.segments
    }


def report_for(user, period=reports.ALL_TIME):
    from accounts.queries import partners_visible_to

    return {item.item_key: item for item in reports.learning_report(partners=partners_visible_to(user), period=period)}


def test_a_managers_report_has_the_hand_computed_figures_of_their_portfolio_by_kind_and_region(programme):
    report = report_for(programme["dana"])
    quiz, form, article = (report[programme[name].translation_key] for name in ("quiz", "form", "article"))
    # views, attempts, pass rate, average score, completions, points
    assert figures(quiz) == (2, 5, 60.0, 70.0, 3, 110)
    assert by_segment(quiz) == {
        (RESELLER, "North"): (2, 4, 50.0, 62.5, 2, 60),
        (POS, "South"): (0, 1, 100.0, 100.0, 1, 50),
    }
    assert figures(form) == (1, 0, None, None, 1, 10)
    assert by_segment(form) == {(POS, "South"): (1, 0, None, None, 1, 10)}
    assert figures(article) == (1, 0, None, None, 0, 0)
    assert [item.kind for item in (quiz, form, article)] == ["quiz", "questionnaire", "article"]


def test_another_portfolios_figures_are_not_in_a_managers_report_and_an_administrator_sees_all(programme):
    yossis = report_for(programme["yossi"])
    assert by_segment(yossis[programme["quiz"].translation_key]) == {
        (DISTRIBUTOR, "North"): (1, 1, 100.0, 100.0, 1, 50)
    }
    assert figures(yossis[programme["article"].translation_key]) == (0, 0, None, None, 0, 0)
    everything = report_for(ProgrammeAdministratorFactory())
    assert figures(everything[programme["quiz"].translation_key]) == (3, 6, 66.7, 75.0, 4, 160)
    assert reports.report_totals(list(everything.values())).points == 160 + 20


def test_the_period_counts_only_its_days(programme):
    quiz = programme["quiz"]
    january = datetime(2026, 1, 15, 10, tzinfo=UTC)
    with mock.patch("django.utils.timezone.now", return_value=january):
        services.take_quiz(quiz, member=MembershipFactory(partner=programme["partners"]["shop"]), answers=pages.WRONG)
    dana = programme["dana"]
    only_january = reports.Period(start=date(2026, 1, 1), end=date(2026, 1, 31))
    assert figures(report_for(dana, only_january)[quiz.translation_key]) == (0, 1, 0.0, 0.0, 0, 0)
    since_february = reports.Period(start=date(2026, 2, 1))
    assert figures(report_for(dana, since_february)[quiz.translation_key]) == (2, 5, 60.0, 70.0, 3, 110)


def test_the_report_reads_a_constant_number_of_queries_whatever_the_number_of_items(programme):
    dana = programme["dana"]
    report_for(dana)  # content types cached
    with CaptureQueriesContext(connection) as few:
        report_for(dana)
    for n in range(5):
        quiz = pages.quiz(title=f"Another quiz {n}")
        services.take_quiz(quiz, member=MembershipFactory(partner=programme["partners"]["shop"]), answers=pages.RIGHT)
    with CaptureQueriesContext(connection) as many:
        assert len(report_for(dana)) == 8
    assert len(many) == len(few) <= 5


# --- The CMS pages ---------------------------------------------------------------------------------------


def report_page(client, **params):
    return client.get(reverse("content_learning_report"), params)


def test_the_report_page_shows_the_figures_with_links_to_the_answers(client, programme):
    client.force_login(programme["dana"])
    response = report_page(client)
    assert response.status_code == 200
    html = response.content.decode()
    quiz_rows = html.split(f'data-item="{programme["quiz"].translation_key}"')[1].split("</tbody>")[0]
    assert "Reseller, North" in quiz_rows and "Point of sale, South" in quiz_rows
    assert "60%" in quiz_rows and "70%" in quiz_rows and "62.5%" in quiz_rows and ">110<" in quiz_rows
    assert reverse("content_attempts_csv", args=[programme["quiz"].translation_key]) in html
    assert reverse("content_answers_csv", args=[programme["form"].translation_key]) in html
    assert "Distributor" not in html


def test_a_wrong_period_is_told_on_the_form(client, programme):
    client.force_login(programme["dana"])
    response = report_page(client, start="2026-03-10", end="2026-03-01")
    assert response.status_code == 200
    assert "The last day must not come before the first." in response.content.decode()
    assert report_page(client, start="not a day").status_code == 200
    url = reverse("content_attempts_csv", args=[programme["quiz"].translation_key])
    assert client.get(url, {"start": "2026-13-45"}).status_code == 302


def test_the_report_is_in_the_programme_menu_for_both_groups_only(client, programme):
    for user, shown in [(programme["dana"], True), (ProgrammeAdministratorFactory(), True), (StaffFactory(), False)]:
        client.force_login(user)
        html = client.get(reverse("wagtailadmin_home")).content.decode()
        assert (reverse("content_learning_report") in html) is shown


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.status_code
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_the_quiz_attempts_export_names_partner_person_time_and_the_chosen_answers(client, programme):
    client.force_login(programme["dana"])
    rows = read_csv(client.get(reverse("content_attempts_csv", args=[programme["quiz"].translation_key])))
    header, *body = rows
    assert header[-2:] == ["Which burrs does the G20 grinder use?", "What sets the grind size?"]
    assert len(body) == 5
    first = body[0]
    assert first[1] == "North Reseller 1" and first[3] == "Reseller" and first[4] == "North"
    assert first[5] == "Ann Tester" and first[8:10] == ["50", "no"]
    assert first[-2:] == ["Conical burrs", "The hopper"]
    assert body[1][-1] == "The dial; The collar" and body[1][9] == "yes"
    assert datetime.strptime(first[0], "%Y-%m-%d %H:%M")


def test_the_form_answers_export_has_a_column_per_question(client, programme):
    client.force_login(programme["dana"])
    rows = read_csv(client.get(reverse("content_answers_csv", args=[programme["form"].translation_key])))
    header, *body = rows
    assert header[-2:] == ["What do your customers ask for?", "How useful is the range?"]
    assert [row[1] for row in body] == ["South Shop"]
    assert body[0][5] == "Dee Tester" and body[0][-2:] == ["Oat milk", "4"]


def test_a_hebrew_copys_answers_go_under_the_same_questions(client, programme):
    hebrew = pages.in_hebrew(programme["quiz"], "יסודות המטחנה")
    shop = programme["partners"]["shop"]
    services.take_quiz(hebrew, member=MembershipFactory(partner=shop), answers=pages.RIGHT)
    client.force_login(programme["dana"])
    *_, last = read_csv(client.get(reverse("content_attempts_csv", args=[programme["quiz"].translation_key])))
    assert last[7] == "he" and last[-2:] == ["Conical burrs", "The dial; The collar"]


def test_every_cell_a_spreadsheet_would_run_is_escaped(client, programme):
    shop = programme["partners"]["shop"]
    shop.name = '=HYPERLINK("http://evil.example","x")'
    shop.save(update_fields=["name"])
    dangerous = {"what_do_your_customers_ask_for": "+1+1", "how_useful_is_the_range": "3"}
    person = MembershipFactory(partner=shop, user=UserFactory(first_name="@SUM(A1)", last_name="-2"))
    services.answer_form(programme["form"], member=person, data=dangerous)
    client.force_login(programme["dana"])
    rows = read_csv(client.get(reverse("content_answers_csv", args=[programme["form"].translation_key])))
    mine = next(row for row in rows if row[-2] == "'+1+1")
    assert mine[1] == "'" + shop.name and mine[5] == "'@SUM(A1) -2"
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row)
    wagtails = read_csv(client.get(submissions_url(programme["form"]), {"export": "csv"}))
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in wagtails for cell in row)
    assert any(cell == "'+1+1" for row in wagtails for cell in row)


# --- The sweep: who sees whose answers -------------------------------------------------------------------


def submissions_url(form, suffix=""):
    return reverse("wagtailforms:list_submissions", args=[form.pk]) + suffix


def content_of(response) -> str:
    if response.status_code != 200:
        return ""
    if response.streaming:
        data = b"".join(response.streaming_content)
    else:
        data = response.content
    if data.startswith(b"PK"):  # an XLSX workbook
        sheet = openpyxl.load_workbook(io.BytesIO(data)).active
        return "\n".join(str(cell.value) for row in sheet.iter_rows() for cell in row)
    return data.decode("utf-8-sig")


def every_url(programme):
    quiz_key, form_key = programme["quiz"].translation_key, programme["form"].translation_key
    form = programme["form"]
    return [
        reverse("content_learning_report"),
        reverse("content_attempts_csv", args=[quiz_key]),
        reverse("content_answers_csv", args=[form_key]),
        submissions_url(form),
        submissions_url(form, "results/"),
        submissions_url(form) + "?export=csv",
        submissions_url(form) + "?export=xlsx",
        reverse("wagtailforms:delete_submissions", args=[form.pk])
        + "?"
        + "&".join(f"selected-submissions={pk}" for pk in FormAnswers.objects.values_list("pk", flat=True)),
    ]


def test_the_sweep_no_one_sees_another_portfolios_answers_anywhere(client, programme):
    administrator, nobody = ProgrammeAdministratorFactory(), StaffFactory()
    dana_sees, yossi_sees = "South Shop", "Yossi Distribution"
    seen = {}
    for name, user in [("dana", programme["dana"]), ("yossi", programme["yossi"]), ("admin", administrator)]:
        client.force_login(user)
        for url in every_url(programme):
            text = content_of(client.get(url))
            seen.setdefault(name, []).append(text)
            if name == "dana":
                assert yossi_sees not in text and "Eve Tester" not in text, url
            if name == "yossi":
                assert dana_sees not in text and "Dee Tester" not in text and "Ann Tester" not in text, url
    # What each is shown: the answers of their own partners, every partner's for the administrator.
    assert all(dana_sees in seen["dana"][i] for i in (2, 4, 5, 6))
    assert all(yossi_sees in seen["yossi"][i] for i in (2, 4, 5, 6))
    assert all(dana_sees in seen["admin"][i] and yossi_sees in seen["admin"][i] for i in (2, 4, 5, 6))
    client.force_login(nobody)
    for url in every_url(programme):
        response = client.get(url)
        assert response.status_code in (302, 403), url
        assert dana_sees not in content_of(response) and yossi_sees not in content_of(response)


def test_no_one_deletes_answers_through_wagtails_forms_pages(client, programme):
    client.force_login(ProgrammeAdministratorFactory())
    form, count = programme["form"], FormAnswers.objects.count()
    ids = list(FormAnswers.objects.values_list("pk", flat=True))
    url = reverse("wagtailforms:delete_submissions", args=[form.pk])
    assert client.post(url + "?" + "&".join(f"selected-submissions={pk}" for pk in ids)).status_code == 403
    assert FormAnswers.objects.count() == count
    assert "Delete selected submissions" not in client.get(submissions_url(form)).content.decode()


def test_an_export_of_no_such_item_is_a_404(client, programme):
    client.force_login(programme["dana"])
    quiz_key, form_key = programme["quiz"].translation_key, programme["form"].translation_key
    assert client.get(reverse("content_attempts_csv", args=[form_key])).status_code == 404
    assert client.get(reverse("content_answers_csv", args=[quiz_key])).status_code == 404
    missing = "00000000-0000-0000-0000-000000000000"
    assert client.get(reverse("content_answers_csv", args=[missing])).status_code == 404


def test_the_exports_read_moments_in_the_programmes_calendar():
    assert reports.local_moment(datetime(2026, 1, 1, 22, 30, tzinfo=UTC)) == "2026-01-02 00:30"  # Asia/Jerusalem


def test_the_report_reads_in_hebrew_right_to_left(client, programme):
    from wagtail.users.models import UserProfile

    profile = UserProfile.get_for_user(programme["dana"])
    profile.preferred_language = "he"
    profile.save(update_fields=["preferred_language"])
    client.force_login(programme["dana"])
    html = report_page(client).content.decode()
    assert 'dir="rtl"' in html and "דוח למידה" in html and "שיעור מעבר" in html
