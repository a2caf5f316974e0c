"""Cells for the spreadsheets people download (CSV exports): text a spreadsheet would run is defused.

Shared by every export (the portal's activity, the CMS's answers to questionnaires); it imports no app.
"""

# A spreadsheet runs a cell that starts with one of these as a formula (OWASP's CSV injection list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """A text cell a spreadsheet would run is prefixed with a quote; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
