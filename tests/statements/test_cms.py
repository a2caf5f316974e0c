"""The statements' CMS: runs started and resumed, statements downloaded and regenerated, each account manager
only within their portfolio, on every URL (another portfolio's statement, version or run answers 404)."""

import hashlib
import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import get_resolver, reverse
from django.utils import timezone

from accounts.models import Partner, User
from portal.notices.services import deliver_pending
from portal.statements import services
from portal.statements.models import Statement, StatementRun, StatementVersion
from portal.tiers.queries import programme_today
from tests.factories import AccountManagerFactory, MembershipFactory, ProgrammeAdministratorFactory, StaffFactory
from tests.statements.conftest import earn
from tests.statements.test_run import APRIL, partners

pytestmark = pytest.mark.django_db
MARCH = APRIL.replace(month=3)


@dataclass
class Portfolio:
    manager: User
    partners: list[Partner]
    statements: list[Statement]
    regenerated: Statement  # version 2, its version 1 kept
    run: StatementRun  # started by the manager

    @property
    def names(self) -> list[str]:
        return [partner.name for partner in self.partners]


def start_run(django_capture_on_commit_callbacks, month, **kwargs):
    """A run queues its batches when it commits: here, as the test's transaction never commits, at once."""
    with django_capture_on_commit_callbacks(execute=True):
        return services.start_run(month, **kwargs)


def make_portfolio(word, capture) -> Portfolio:
    manager = AccountManagerFactory(email=f"manager-{word.lower()}@vendor.example")
    own = partners(2, account_manager=manager)
    for n, partner in enumerate(own):
        partner.name = f"{word} Statements {n} Ltd"
        partner.save(update_fields=["name"])
    services.make_statements([p.pk for p in own], APRIL)
    statements = list(Statement.objects.filter(partner__in=own).order_by("partner_id"))
    earn(own[0], f"late-{own[0].pk}", 333, "2026-04-25")  # booked after the statement: the new one differs
    regenerated = services.regenerate(statements[0], by=manager)
    run = start_run(capture, APRIL, by=manager)  # finds both statements there
    return Portfolio(manager, own, statements, regenerated, run)


@pytest.fixture
def alpha(django_capture_on_commit_callbacks):
    return make_portfolio("Alpha", django_capture_on_commit_callbacks)


@pytest.fixture
def bravo(django_capture_on_commit_callbacks):
    return make_portfolio("Bravo", django_capture_on_commit_callbacks)


@pytest.fixture
def schedule_run(alpha, bravo):
    """The monthly schedule's run of March, whose workers were lost an hour ago before they began."""
    run = services.start_run(MARCH, queue=False, batch_size=3)
    StatementRun.objects.filter(pk=run.pk).update(started_at=timezone.now() - timedelta(hours=1))
    return run


@pytest.fixture
def administrator(db):
    return ProgrammeAdministratorFactory()


def url(name, *args):
    return reverse(name, args=args)


def body(response) -> str:
    return b"".join(response.streaming_content).decode("latin-1") if response.streaming else response.text


def pdf(response) -> bytes:
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "private" in response["Cache-Control"] and "no-store" in response["Cache-Control"]
    return b"".join(response.streaming_content)


# --- Every URL, for every portfolio ---------------------------------------------------------------------


def object_urls(portfolio: Portfolio) -> list[str]:
    """Every URL of the statements' CMS that names one of the portfolio's statements, versions or runs."""
    urls = [url("statement_run:inspect", portfolio.run.pk), url("statement_run:resume", portfolio.run.pk)]
    for statement in portfolio.statements:
        urls += [
            url("statement:inspect", statement.pk),
            url("statement:download", statement.pk),
            url("statement:regenerate", statement.pk),
        ]
    urls.append(url("statement:download_version", portfolio.regenerated.pk, 1))
    return urls


LISTING_URLS = ["statement:index", "statement:index_results", "statement_run:index", "statement_run:index_results"]


def test_the_sweep_covers_every_url_of_the_statements_cms():
    """A view added by a Wagtail upgrade, or a feature switched on (edit, delete, history), fails here until it
    is tested."""
    names = set()
    for namespace in ("statement", "statement_run"):
        _, resolver = get_resolver().namespace_dict[namespace]
        names |= {f"{namespace}:{pattern.name}" for pattern in resolver.url_patterns}
    assert names == {
        *LISTING_URLS,
        "statement_run:add",
        "statement_run:inspect",
        "statement_run:resume",
        "statement:inspect",
        "statement:download",
        "statement:download_version",
        "statement:regenerate",
    }


def test_each_manager_opens_their_own_portfolios_urls_and_gets_404_for_the_others(client, alpha, bravo):
    for me, other in ((alpha, bravo), (bravo, alpha)):
        client.force_login(me.manager)
        for own in object_urls(me):
            assert client.get(own).status_code == 200, own
        for theirs in object_urls(other):
            response = client.get(theirs)
            assert response.status_code == 404, theirs
            for name in other.names:
                assert name not in body(response)
        # Writes to the other portfolio's objects change nothing.
        assert client.post(url("statement:regenerate", other.regenerated.pk), {"resend": "on"}).status_code == 404
        assert client.post(url("statement_run:resume", other.run.pk)).status_code == 404
    for portfolio in (alpha, bravo):
        statement = Statement.objects.get(pk=portfolio.regenerated.pk)
        assert statement.version == 2 and statement.versions.count() == 1


def test_an_administrator_opens_every_portfolios_urls(client, alpha, bravo, administrator):
    client.force_login(administrator)
    for portfolio in (alpha, bravo):
        for own in object_urls(portfolio):
            assert client.get(own).status_code == 200, own


def test_ids_that_are_nobodys_and_versions_that_do_not_exist_are_404(client, alpha):
    client.force_login(alpha.manager)
    missing = max(Statement.objects.values_list("pk", flat=True)) + 1
    for name in ("statement:inspect", "statement:download", "statement:regenerate"):
        assert client.get(url(name, missing)).status_code == 404
    assert client.get(url("statement:download_version", missing, 1)).status_code == 404
    assert client.get(url("statement:download_version", alpha.regenerated.pk, 7)).status_code == 404
    assert client.get(url("statement:download_version", alpha.statements[1].pk, 1)).status_code == 200  # the newest
    assert (
        client.get(url("statement_run:inspect", StatementRun.objects.order_by("pk").last().pk + 1)).status_code == 404
    )


def test_staff_without_a_cms_group_are_refused_everything(client, alpha, schedule_run):
    client.force_login(StaffFactory())
    urls = [*object_urls(alpha), url("statement_run:inspect", schedule_run.pk), url("statement_run:add")]
    urls += [url(name) for name in LISTING_URLS]
    for refused in urls:
        response = client.get(refused)
        assert response.status_code in (302, 403), refused
        assert response.status_code == 403 or response.url == reverse("wagtailadmin_home") or "login" in response.url
    assert client.post(url("statement:regenerate", alpha.regenerated.pk)).status_code in (302, 403)
    assert Statement.objects.get(pk=alpha.regenerated.pk).version == 2


# --- Listings ---------------------------------------------------------------------------------------------


def rows(response) -> str:
    """The listing's table (the filters above it may name what the user can choose)."""
    page = response.content.decode()
    start = page.index('class="listing')
    return page[start : page.index("</table>", start)]


@pytest.mark.parametrize("query", ["", "?month=2026-04-01", "?q=statements", "?q=bravo", "?ordering=-made_at"])
def test_a_manager_lists_only_their_portfolios_statements(client, alpha, bravo, query):
    client.force_login(alpha.manager)
    response = client.get(url("statement:index") + query)
    assert response.status_code == 200
    page = response.content.decode()
    for statement in bravo.statements:
        assert url("statement:inspect", statement.pk) not in page
    for name in bravo.names:
        assert name not in page
    if "bravo" not in query:
        listing = rows(response)
        for statement in Statement.objects.filter(partner__in=alpha.partners):
            assert url("statement:inspect", statement.pk) in listing
            assert url("statement:download", statement.pk) in listing
            assert statement.checksum[:12] in listing
        for name in alpha.names:
            assert name in listing


def test_the_statements_filter_by_month_and_partner(client, alpha, bravo):
    services.make_statements([alpha.partners[1].pk], MARCH)
    march = Statement.objects.get(month=MARCH)
    client.force_login(alpha.manager)

    by_month = rows(client.get(url("statement:index"), {"month": MARCH.isoformat()}))
    assert url("statement:inspect", march.pk) in by_month
    assert all(url("statement:inspect", s.pk) not in by_month for s in alpha.statements)

    by_partner = rows(client.get(url("statement:index"), {"partner": alpha.partners[1].pk}))
    assert url("statement:inspect", march.pk) in by_partner
    assert url("statement:inspect", alpha.statements[1].pk) in by_partner
    assert url("statement:inspect", alpha.statements[0].pk) not in by_partner

    # Another portfolio's partner is not a choice: the filter is refused and names nobody of theirs.
    response = client.get(url("statement:index"), {"partner": bravo.partners[0].pk})
    assert response.status_code == 200
    assert all(name not in response.content.decode() for name in bravo.names)
    assert all(url("statement:inspect", s.pk) not in response.content.decode() for s in bravo.statements)


def test_an_administrator_lists_every_portfolio(client, alpha, bravo, administrator):
    client.force_login(administrator)
    listing = rows(client.get(url("statement:index")))
    for statement in [*alpha.statements, *bravo.statements]:
        assert url("statement:inspect", statement.pk) in listing
    runs = rows(client.get(url("statement_run:index")))
    assert url("statement_run:inspect", alpha.run.pk) in runs and url("statement_run:inspect", bravo.run.pk) in runs


def test_a_manager_lists_the_schedules_runs_and_their_own(client, alpha, bravo, schedule_run):
    client.force_login(alpha.manager)
    response = client.get(url("statement_run:index"))
    assert response.status_code == 200
    listing = rows(response)
    assert url("statement_run:inspect", alpha.run.pk) in listing
    assert url("statement_run:inspect", schedule_run.pk) in listing
    assert url("statement_run:inspect", bravo.run.pk) not in response.content.decode()
    assert "Monthly schedule" in listing
    newest_first = [url("statement_run:inspect", alpha.run.pk), url("statement_run:inspect", schedule_run.pk)]
    assert listing.index(newest_first[0]) < listing.index(newest_first[1])
    # The manager's run found both statements there; the schedule's has done none of its two batches.
    assert "2 of 2 partners (0 made, 2 already there)" in listing
    assert "1 of 1 batches done" in listing
    assert "0 of 4 partners" in listing and "0 of 2 batches done" in listing


@pytest.mark.parametrize("url_name", ["statement:index", "statement_run:index"])
def test_a_listing_costs_the_same_queries_for_one_row_or_many(
    client, alpha, django_capture_on_commit_callbacks, url_name
):
    client.force_login(alpha.manager)
    client.get(url(url_name))  # warm Wagtail's per-process caches

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url(url_name)).status_code == 200
        return len(captured)

    before = queries()
    services.make_statements([p.pk for p in alpha.partners], MARCH)
    for _ in range(3):
        start_run(django_capture_on_commit_callbacks, MARCH, by=alpha.manager)
    assert queries() == before


def test_the_programme_menu_offers_statements_and_runs(client, alpha):
    client.force_login(alpha.manager)
    dashboard = client.get(reverse("wagtailadmin_home")).content.decode()
    assert url("statement:index") in dashboard and url("statement_run:index") in dashboard
    client.force_login(StaffFactory())
    response = client.get(reverse("wagtailadmin_home"))
    assert response.status_code != 200 or url("statement:index") not in response.content.decode()


# --- Starting and resuming runs ---------------------------------------------------------------------------


def month_form(month) -> dict:
    return {"month_0": str(month.year), "month_1": str(month.month)}


def test_a_manager_starts_a_run_for_a_past_month_of_their_portfolio(
    client, alpha, bravo, django_capture_on_commit_callbacks
):
    client.force_login(alpha.manager)
    form = client.get(url("statement_run:add"))
    assert form.status_code == 200 and "Start a run for a past month" in form.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("statement_run:add"), month_form(MARCH))
    run = StatementRun.objects.get(month=MARCH)
    assert response.status_code == 302 and response.url == url("statement_run:inspect", run.pk)
    assert (run.started_by, run.partners) == (alpha.manager, 2)
    assert set(Statement.objects.filter(month=MARCH).values_list("partner_id", flat=True)) == {
        p.pk for p in alpha.partners
    }
    page = client.get(response.url).content.decode()
    assert "The statements of March 2026 are being made for 2 partners." in page
    assert "2 of 2 partners (2 made, 0 already there)" in page
    batches = rows(client.get(response.url))
    assert [cell.strip() for cell in re.findall(r"<td>(.*?)</td>", batches, re.S)][:4] == ["1", "2", "2", "0"]


@pytest.mark.parametrize("when", ["this month", "next year"])
def test_a_run_for_a_month_that_has_not_ended_is_refused_on_the_form(client, alpha, when):
    today = programme_today()
    month = today.replace(day=1) if when == "this month" else today.replace(year=today.year + 1, day=1)
    client.force_login(alpha.manager)
    before = StatementRun.objects.count()
    response = client.post(url("statement_run:add"), month_form(month))
    assert response.status_code == 200
    assert response.context["form"].errors["month"]
    if when == "this month":
        assert "Statements are made for a month that has ended." in response.content.decode()
    assert StatementRun.objects.count() == before


def test_a_stalled_run_is_resumed_and_a_moving_one_is_not(
    client, alpha, bravo, schedule_run, django_capture_on_commit_callbacks
):
    client.force_login(alpha.manager)
    resume = url("statement_run:resume", schedule_run.pk)
    assert resume in client.get(url("statement_run:inspect", schedule_run.pk)).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(resume)
    assert response.status_code == 302 and response.url == url("statement_run:inspect", schedule_run.pk)
    schedule_run.refresh_from_db()
    assert schedule_run.finished_at is not None
    assert Statement.objects.filter(month=MARCH).count() == 4  # the schedule's run is every partner's
    page = client.get(response.url).content.decode()
    assert "2 open batches of the run are queued again." in page and resume not in page

    moving = services.start_run(MARCH.replace(month=2), by=alpha.manager, queue=False)
    assert (
        url("statement_run:resume", moving.pk)
        not in client.get(url("statement_run:inspect", moving.pk)).content.decode()
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("statement_run:resume", moving.pk), follow=True)
    assert "nothing to resume" in response.content.decode()
    assert not moving.batches.filter(done_at__isnull=False).exists()


def test_staff_who_may_only_read_runs_may_not_start_or_resume_one(client, alpha, schedule_run):
    staff = StaffFactory()
    staff.user_permissions.add(
        Permission.objects.get(content_type__app_label="statements", codename="view_statementrun"),
        Permission.objects.get(codename="access_admin"),
    )
    client.force_login(staff)
    listing = client.get(url("statement_run:index"))
    assert listing.status_code == 200 and url("statement_run:add") not in listing.content.decode()
    assert client.get(url("statement_run:add")).status_code in (302, 403)
    assert client.post(url("statement_run:add"), month_form(MARCH)).status_code in (302, 403)
    assert client.post(url("statement_run:resume", schedule_run.pk)).status_code in (302, 403)
    assert not StatementRun.objects.filter(month=MARCH, started_by=staff).exists()
    assert not schedule_run.batches.filter(done_at__isnull=False).exists()


# --- Downloads and regeneration ---------------------------------------------------------------------------


def test_the_download_is_the_newest_pdf_and_the_version_download_the_old_one(client, alpha):
    client.force_login(alpha.manager)
    statement = alpha.regenerated
    old = StatementVersion.objects.get(statement=statement, version=1)
    newest = pdf(client.get(url("statement:download", statement.pk)))
    assert hashlib.sha256(newest).hexdigest() == statement.checksum
    earlier = pdf(client.get(url("statement:download_version", statement.pk, 1)))
    assert hashlib.sha256(earlier).hexdigest() == old.checksum != statement.checksum
    page = client.get(url("statement:inspect", statement.pk)).content.decode()
    assert url("statement:download_version", statement.pk, 1) in page and "Regenerate" in page


def test_regenerating_from_the_cms_keeps_the_old_version_and_the_download_gives_the_new_file(client, alpha):
    statement = alpha.statements[1]
    person = MembershipFactory(partner=statement.partner).user  # joined after the statement was e-mailed
    old_checksum, old_name = statement.checksum, statement.file.name
    earn(statement.partner, "late-order", 250, "2026-04-28")
    client.force_login(alpha.manager)
    form = client.get(url("statement:regenerate", statement.pk))
    assert (
        form.status_code == 200 and "E-mail the new statement to the company&#x27;s contacts" in form.content.decode()
    )

    response = client.post(url("statement:regenerate", statement.pk), {})
    assert response.status_code == 302 and response.url == url("statement:inspect", statement.pk)
    statement.refresh_from_db()
    assert (statement.version, statement.made_by) == (2, alpha.manager) and statement.checksum != old_checksum
    [kept] = statement.versions.all()
    assert (kept.version, kept.checksum, kept.file.name, kept.replaced_by) == (1, old_checksum, old_name, alpha.manager)
    assert hashlib.sha256(pdf(client.get(url("statement:download", statement.pk)))).hexdigest() == statement.checksum
    old = pdf(client.get(url("statement:download_version", statement.pk, 1)))
    assert hashlib.sha256(old).hexdigest() == old_checksum
    deliver_pending()
    assert mail.outbox == []  # not asked to e-mail it

    response = client.post(url("statement:regenerate", statement.pk), {"resend": "on"}, follow=True)
    assert "Version 3 of the statement is made and is being e-mailed to the company." in response.content.decode()
    deliver_pending()
    assert [message.to for message in mail.outbox] == [[person.email]]
    assert list(Statement.objects.get(pk=statement.pk).versions.values_list("version", flat=True)) == [2, 1]


def test_a_manager_without_partners_is_told_there_is_nothing_to_make(client, django_capture_on_commit_callbacks):
    client.force_login(AccountManagerFactory())
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("statement_run:add"), month_form(MARCH), follow=True)
    run = StatementRun.objects.get()
    assert (run.partners, run.finished_at is not None) == (0, True)
    page = response.content.decode()
    assert "No partner to make statements of March 2026 for: none was active by the month&#x27;s end." in page
    assert "This run had no partner to make statements for." in page
