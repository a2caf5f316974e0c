"""The public application form: no sign-in, a message beside each bad field, a honeypot, a rate limit per
client address (429 with when to try again), and an e-mail to the applicant in the language they chose."""

import pytest
from django.urls import reverse

from referrals import services
from referrals.models import Application

from .helpers import company_number, referring_company

pytestmark = pytest.mark.django_db


def good(**fields):
    data = {
        "company_name": "Galil Coffee Carts",
        "registration_number": company_number(),
        "contact_name": "Yael Cohen",
        "email": "yael@galil-carts.example",
        "phone": "+972 4 555 1234",
        "kind": "point_of_sale",
        "region": "North",
        "language": "en",
        "code": "",
        "website": "",
    }
    data.update(fields)
    return data


def errors_of(response) -> dict[str, list[str]]:
    return {name: list(errors) for name, errors in response.context["form"].errors.items()}


def test_the_referral_link_opens_the_form_naming_the_referrer_without_signing_in(client):
    referrer = referring_company(name="Northwind Traders")
    code = services.referral_code_for(referrer).code

    response = client.get(reverse("referrals:apply_with_code", args=[code]))

    assert response.status_code == 200
    assert "Northwind Traders invites your business" in response.text
    assert f'value="{code}"' in response.text
    assert "<script" not in response.text.split("<main", 1)[1]  # nothing inline for the CSP to refuse


def test_an_application_through_the_link_is_kept_with_its_referrer_and_the_applicant_is_told(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    referrer = referring_company()
    code = services.referral_code_for(referrer).code
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("referrals:apply_with_code", args=[code]),
            good(code=code, registration_number="51-617915-7", language="he"),
        )

    assert response.status_code == 302 and response.url == reverse("referrals:thanks")
    application = Application.objects.get()
    assert (application.referrer, application.registration_number, application.status) == (
        referrer,
        "516179157",
        "applied",
    )
    (message,) = mailoutbox
    assert message.to == ["yael@galil-carts.example"]
    assert "Galil Coffee Carts" in message.subject and "קיבלנו" in message.subject  # in Hebrew, as chosen


def test_every_bad_field_gets_its_own_message(client):
    response = client.post(
        reverse("referrals:apply"),
        good(
            company_name="  ",
            registration_number="123456789",
            contact_name="",
            email="not-an-address",
            phone="call me",
            kind="spaceship",
            region="",
            language="fr",
            code="NOSUCHCODE",
        ),
    )

    assert response.status_code == 400
    errors = errors_of(response)
    assert set(errors) == {
        "company_name",
        "registration_number",
        "contact_name",
        "email",
        "phone",
        "kind",
        "region",
        "language",
        "code",
    }
    assert "check digit" in errors["registration_number"][0]
    assert "NOSUCHCODE" in errors["code"][0]
    assert not Application.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("registration_number", "51617915", "9 digits"),
        ("registration_number", "", "Enter the company's registration number"),
        ("phone", "12", "7 to 15 digits"),
        ("company_name", "x" * 201, "At most 200"),
        ("email", "a@b", "e-mail address"),
    ],
)
def test_a_single_bad_field_is_named_and_the_rest_kept(client, field, value, words):
    response = client.post(reverse("referrals:apply"), good(**{field: value}))

    assert response.status_code == 400
    errors = errors_of(response)
    assert list(errors) == [field] and words in errors[field][0]
    assert 'value="Yael Cohen"' in response.text  # what was right is kept


def test_strange_input_never_makes_a_server_error(client):
    for data in ({}, {"kind": ["a", "b"]}, good(registration_number="٥١٦١٧٩١٥٧"), good(email="\x00@x.example")):
        assert client.post(reverse("referrals:apply"), data).status_code in (302, 400)


def test_the_honeypot_thanks_the_bot_and_keeps_nothing(client, mailoutbox):
    response = client.post(reverse("referrals:apply"), good(website="http://spam.example"))

    assert response.status_code == 302 and response.url == reverse("referrals:thanks")
    assert not Application.objects.exists()
    assert not mailoutbox


def test_the_honeypot_is_hidden_from_people(client):
    page = client.get(reverse("referrals:apply")).text
    assert 'aria-hidden="true"' in page.split('name="website"')[0].rsplit("<div", 1)[1]


def test_after_the_limit_an_address_gets_429_saying_when_to_try_again(client, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "referral_apply": "3/h/ip"}
    for _ in range(3):
        assert client.post(reverse("referrals:apply"), good(phone="x")).status_code == 400

    response = client.post(reverse("referrals:apply"), good())

    assert response.status_code == 429
    assert 55 * 60 < int(response["Retry-After"]) <= 60 * 60
    assert "try again in 60 minutes" in response.text
    assert not Application.objects.exists()
    other = client.post(reverse("referrals:apply"), good(), REMOTE_ADDR="198.51.100.7")
    assert other.status_code == 302  # another address is not held back
