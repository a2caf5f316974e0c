"""The portal's Statements page: each company's people see and download their own statements, and nobody
else's (404), in their language."""

import pytest
from django.urls import reverse

from portal.statements import services
from portal.statements.models import Statement
from tests.factories import MembershipFactory, PartnerFactory
from tests.statements.test_run import APRIL, partners

pytestmark = pytest.mark.django_db
MARCH = APRIL.replace(month=3)


@pytest.fixture
def companies():
    """Three companies, two people each; A has statements of March and April, B of April, C none."""
    a, b = partners(2)
    c = PartnerFactory()
    services.make_statements([a.pk], MARCH)
    services.make_statements([a.pk, b.pk], APRIL)
    return {company: [MembershipFactory(partner=company).user for _ in range(2)] for company in (a, b, c)}


def download(client, month):
    return client.get(reverse("statements:download", args=[f"{month:%Y-%m}"]))


def test_every_person_downloads_only_their_own_companys_statements(client, companies):
    all_months = (MARCH, APRIL, APRIL.replace(month=5))
    for company, people in companies.items():
        own = {s.month: s for s in Statement.objects.filter(partner=company)}
        for person in people:
            client.force_login(person)
            page = client.get(reverse("statements:list"))
            assert page.status_code == 200
            listed = [s.partner_id for s in page.context["page"].object_list]
            assert listed == [company.pk] * len(own)
            for month in all_months:
                response = download(client, month)
                if month in own:
                    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
                    assert b"".join(response.streaming_content) == own[month].file.open("rb").read()
                    assert "private" in response["Cache-Control"] and "no-store" in response["Cache-Control"]
                else:
                    assert response.status_code == 404  # another company's month, or none
            client.logout()


def test_a_stranger_signs_in_first_and_a_bad_month_is_404(client, companies):
    response = download(client, APRIL)
    assert response.status_code == 302 and reverse("account_login") in response["Location"]
    client.force_login(next(iter(companies.values()))[0])
    for bad in ("2026-13", "april", "2026-04-01", "0-0"):
        assert client.get(f"/statements/{bad}.pdf").status_code == 404


def test_the_list_names_each_month_with_its_balances_and_the_newest_version(client, companies):
    a = next(iter(companies))
    client.force_login(companies[a][0])
    html = client.get(reverse("statements:list")).content.decode()
    assert "April 2026" in html and "March 2026" in html
    assert html.index("April 2026") < html.index("March 2026")  # newest first
    assert 'href="/statements/2026-04.pdf"' in html
    assert 'aria-current="page"' in html and ">Statements<" in html  # the header's link, marked current


def test_a_hebrew_company_reads_its_statements_page_right_to_left(client, companies):
    b = list(companies)[1]
    person = companies[b][0]
    person.language = "he"
    person.save()
    client.force_login(person)
    html = client.get(reverse("statements:list"), HTTP_ACCEPT_LANGUAGE="he").content.decode()
    assert 'dir="rtl"' in html and "דוחות" in html and "אפריל 2026" in html


def test_a_company_without_statements_is_told_when_the_first_arrives(client, companies):
    c = list(companies)[2]
    client.force_login(companies[c][0])
    assert "first statement arrives" in client.get(reverse("statements:list")).content.decode()
