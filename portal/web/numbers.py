"""Whole numbers in the current language, for pages that write a hundred of them (the dashboard)."""

from collections.abc import Callable

from django.utils import formats


def whole_number_format() -> Callable[[int], str]:
    """A formatter for the current language, its separator looked up once rather than per number."""
    separator = formats.get_format("THOUSAND_SEPARATOR")
    if formats.get_format("NUMBER_GROUPING") == 3:
        return lambda value: f"{value:,}".replace(",", separator)
    return lambda value: formats.number_format(value, use_l10n=True, force_grouping=True)
