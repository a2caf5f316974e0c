"""Text kept in both of the programme's languages: the Hebrew when the reader reads Hebrew and there is one."""

from django.utils import translation


def in_language(english: str, hebrew: str) -> str:
    """The Hebrew text when the active language is Hebrew and there is one; the English otherwise."""
    if hebrew and (translation.get_language() or "").startswith("he"):
        return hebrew
    return english
