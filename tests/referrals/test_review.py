"""Review in the CMS: applications wait in the queue of the referring partner's account manager (unreferred
ones: administrators'); each shows its fraud signals with their reasons; approving makes a new active partner
in the portfolio and invites its owner through the invitation flow; rejecting tells the applicant why. A
manager sees, and may decide, only the applications of their portfolio: another's answers 404 on every URL."""

import html
import re

import pytest
from django.urls import reverse
from django.utils.html import strip_tags

from accounts.models import Invitation, Membership, Partner
from referrals import services
from referrals.admin_views import application_viewset
from referrals.errors import NotAllowedToReview
from referrals.models import Application
from tests.factories import AccountManagerFactory, ProgrammeAdministratorFactory

from .helpers import apply, referring_company

pytestmark = pytest.mark.django_db


def visible(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", strip_tags(re.sub(r"<[^>]+>", " ", response.content.decode()))))


@pytest.fixture
def alpha():
    return referring_company(name="Alpha Trading Ltd", domain="alpha.example")


@pytest.fixture
def bravo():
    return referring_company(name="Bravo Trading Ltd", domain="bravo.example")


def every_url(ids):
    urls = []
    for pattern in application_viewset.get_urlpatterns():
        name = application_viewset.get_url_name(pattern.name)
        urls += [reverse(name, args=[pk]) for pk in ids] if "<" in str(pattern.pattern) else [reverse(name)]
    return urls


def test_a_manager_sees_only_the_applications_of_their_portfolio_and_an_administrator_all(client, alpha, bravo):
    apply(alpha, company_name="Alpha Friend Cafe")
    apply(bravo, company_name="Bravo Friend Cafe")
    apply(None, company_name="Walked in alone")

    client.force_login(alpha.account_manager)
    queue = visible(client.get(reverse("referral_application:queue")))
    assert "Alpha Friend Cafe" in queue and "Bravo Friend Cafe" not in queue and "Walked in alone" not in queue

    client.force_login(ProgrammeAdministratorFactory())
    queue = visible(client.get(reverse("referral_application:queue")))
    assert all(name in queue for name in ("Alpha Friend Cafe", "Bravo Friend Cafe", "Walked in alone"))


def test_every_url_answers_404_for_another_portfolios_application(client, alpha, bravo):
    theirs = apply(bravo, company_name="Bravo Friend Cafe")
    unreferred = apply(None, company_name="Walked in alone")
    client.force_login(alpha.account_manager)
    urls = every_url([theirs.pk, unreferred.pk])
    assert len(urls) >= 4 + 3 * 2  # index, results, queue, queue results; inspect, approve, reject for each

    for url in urls:
        for method in ("get", "post"):
            response = getattr(client, method)(url, {"note": "Sneaky", "external_id": "X-1"})
            page = visible(response)
            assert "Bravo Friend Cafe" not in page and "Walked in alone" not in page, (method, url)
            if f"/{theirs.pk}/" in url or f"/{unreferred.pk}/" in url:
                assert response.status_code == 404, (method, url, response.status_code)
    assert set(Application.objects.values_list("status", flat=True)) == {"applied"}


def test_the_service_refuses_a_manager_outside_the_portfolio(alpha, bravo):
    theirs = apply(bravo)
    with pytest.raises(NotAllowedToReview):
        services.approve_application(theirs, acting_user=alpha.account_manager)
    with pytest.raises(NotAllowedToReview):
        services.approve_application(apply(None), acting_user=alpha.account_manager)


def test_the_inspect_page_shows_each_signal_with_its_reason(client, alpha):
    application = apply(alpha, email="someone@alpha.example", registration_number=alpha.registration_number)
    client.force_login(alpha.account_manager)

    page = visible(client.get(reverse("referral_application:inspect", args=[application.pk])))

    assert "Self-referral: the e-mail domain alpha.example is the referrer's own" in page
    assert f"Self-referral: {alpha.registration_number} is the registration number of the referrer" in page


def test_approving_makes_an_active_partner_in_the_portfolio_and_invites_its_owner(
    client, alpha, mailoutbox, django_capture_on_commit_callbacks
):
    application = apply(alpha, company_name="Café Aroma Raanana", email="noa@cafe-aroma.example", language="he")
    client.force_login(alpha.account_manager)
    queue = reverse("referral_application:queue")
    step = reverse("referral_application:approve", args=[application.pk])
    assert "REF-" in client.get(step).text  # the suggested ERP id

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(step, {"external_id": "ERP-CAFE-1", "note": "", "next": queue})

    assert response.status_code == 302 and response.url == queue
    application.refresh_from_db()
    partner = application.partner
    assert (application.status, application.decided_by) == ("approved", alpha.account_manager)
    assert (partner.name, partner.external_id, partner.status) == ("Café Aroma Raanana", "ERP-CAFE-1", "active")
    assert (partner.account_manager, partner.registration_number) == (
        alpha.account_manager,
        application.registration_number,
    )
    invitation = Invitation.objects.get(partner=partner)
    assert (invitation.email, invitation.role) == ("noa@cafe-aroma.example", Membership.Role.OWNER)
    assert {message.to[0] for message in mailoutbox} == {"noa@cafe-aroma.example"}
    # The application's receipt, the decision (in Hebrew, as chosen) and the owner's invitation.
    assert len(mailoutbox) == 3
    assert any("היא עכשיו שותפה" in message.subject for message in mailoutbox)
    assert any(invitation.partner.name in message.body and "/invitations/" in message.body for message in mailoutbox)


def test_an_administrator_approving_an_unreferred_business_takes_it_into_their_portfolio():
    administrator = ProgrammeAdministratorFactory()
    application = services.approve_application(apply(None), acting_user=administrator)
    assert application.partner.account_manager == administrator


def test_an_administrator_approving_a_referral_keeps_the_referrers_manager(alpha):
    application = services.approve_application(apply(alpha), acting_user=ProgrammeAdministratorFactory())
    assert application.partner.account_manager == alpha.account_manager


def test_approving_over_a_signal_in_the_cms_asks_for_the_note(client, alpha):
    application = apply(alpha, email="branch@alpha.example")
    client.force_login(alpha.account_manager)
    step = reverse("referral_application:approve", args=[application.pk])

    response = client.post(step, {"external_id": "ERP-BRANCH", "note": ""})

    assert response.status_code == 200
    assert "say in a note why you approve it" in visible(response)
    assert not Partner.objects.filter(external_id="ERP-BRANCH").exists()


def test_an_erp_id_in_use_is_refused_on_its_field(client, alpha):
    application = apply(alpha)
    client.force_login(alpha.account_manager)
    response = client.post(
        reverse("referral_application:approve", args=[application.pk]), {"external_id": alpha.external_id}
    )
    assert f"Another partner has the ERP id {alpha.external_id}" in visible(response)
    assert Application.objects.get(pk=application.pk).status == "applied"


def test_rejecting_needs_a_reason_and_tells_the_applicant(
    client, alpha, mailoutbox, django_capture_on_commit_callbacks
):
    application = apply(alpha, email="noa@cafe-aroma.example")
    client.force_login(alpha.account_manager)
    step = reverse("referral_application:reject", args=[application.pk])
    assert client.post(step, {"note": ""}).status_code == 200
    assert Application.objects.get(pk=application.pk).status == "applied"

    with django_capture_on_commit_callbacks(execute=True):
        client.post(step, {"note": "We already have a partner two streets away."})

    application.refresh_from_db()
    assert application.status == "rejected" and application.partner is None
    receipt, decision = mailoutbox
    assert decision.to == ["noa@cafe-aroma.example"] and "two streets away" in decision.body


def test_deciding_twice_changes_nothing_the_second_time(alpha):
    application = services.approve_application(apply(alpha), acting_user=alpha.account_manager)
    again = services.approve_application(application, acting_user=alpha.account_manager)
    assert again.partner_id == application.partner_id and Partner.objects.count() == 2
    with pytest.raises(services.REFERRAL_FLOW.refusal):
        services.reject_application(application, acting_user=alpha.account_manager, note="Too late")


def test_a_manager_without_the_permission_cannot_decide(alpha):
    reader = AccountManagerFactory()
    reader.groups.clear()
    alpha.account_manager = reader
    alpha.save()
    with pytest.raises(NotAllowedToReview):
        services.approve_application(apply(alpha), acting_user=reader)
