"""The Israeli company number's check digit (the Luhn-like algorithm of the ID number)."""

import pytest

from referrals.rules import is_valid_company_number, normalise_company_number


@pytest.mark.parametrize("number", ["516179157", "520000472", "000000018", "123456782"])
def test_numbers_with_their_check_digit_are_valid(number):
    assert is_valid_company_number(number)


@pytest.mark.parametrize(
    "number",
    ["516179158", "123456789", "12345678", "1234567890", "12345678a", "５１６１７９１５７", "", "51617915 "],
)
def test_a_wrong_check_digit_a_wrong_length_or_other_characters_are_not(number):
    assert not is_valid_company_number(number)


def test_spaces_and_dashes_people_type_are_dropped():
    assert normalise_company_number(" 51-617915-7 ") == "516179157"
