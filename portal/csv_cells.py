"""CSV files for spreadsheets, the one way the project writes them: every text cell a spreadsheet would run
as a formula is neutralised, the file starts with a byte-order mark (so Hebrew opens as UTF-8) and streams
row by row. The partner's activity export and the CMS's learning exports use it; it imports no app."""

import csv
from collections.abc import Iterable, Sequence

from django.http import StreamingHttpResponse

# A spreadsheet runs a cell that starts with one of these as a formula (OWASP's CSV injection list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """A text cell a spreadsheet would run is prefixed with a quote; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _Echo:
    """csv.writer writes into this and gets the line back, so rows stream without a buffer."""

    def write(self, value):
        return value


def csv_lines(header: Sequence, rows: Iterable[Sequence]):
    """The file's text, a line at a time: the byte-order mark, the header, then each row, every cell made safe."""
    writer = csv.writer(_Echo())
    yield "\ufeff"
    yield writer.writerow([spreadsheet_safe(str(cell)) for cell in header])
    for row in rows:
        yield writer.writerow([spreadsheet_safe(cell) for cell in row])


def csv_response(*, filename: str, header: Sequence, rows: Iterable[Sequence]) -> StreamingHttpResponse:
    """A download of the rows as `filename`, streamed (the rows may be a lazy generator over a large query)."""
    response = StreamingHttpResponse(csv_lines(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
