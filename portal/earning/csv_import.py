"""CSV files of orders, invoices and payments, uploaded in the CMS: a dry run, then the import.

A file goes through ``services.record`` exactly like a batch from the ERP API, 1,000 items at a
time. The dry run (`check_import`) runs that same path and rolls each batch back, so it can never
disagree with the import about a row; each batch is its own short transaction, because one
transaction over a whole file would hold the programme's ledger accounts locked for minutes and
stall every other earning meanwhile. The import (`run_import`) commits each batch together with
the job's progress, so a second run of the task resumes after the last committed batch, and
replays nothing.

The file is read twice per run, streaming, through the storage API (so any worker can read it):
once to check it is CSV at all and to count its rows, once to group and record them. Only the
current batch, and for orders the orders whose last row is still ahead, are held in memory.

Rows are numbered as the file's lines are, the header being row 1 (a quoted value that spans
lines makes its row as long). The formats are described in CSV.md and on the upload page.
"""

import codecs
import csv
import hashlib
import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from io import TextIOWrapper
from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.earning import services
from portal.earning.models import ImportJob
from portal.earning.schemas import InvoiceIn, OrderIn, PaymentIn

logger = logging.getLogger(__name__)

BATCH_SIZE = services.MAX_BATCH
MAX_ERRORS = 1_000
PERMISSION = "earning.add_importjob"
_COUNTERS = ["rows_done", "rows_created", "rows_held", "rows_duplicate", "rows_rejected"]

# Each kind's columns, as the CSV names them, and the schema field each one fills.
COLUMNS = {
    ImportJob.Kind.ORDERS: {
        "order_id": "external_id",
        "partner_id": "partner",
        "placed_at": "placed_at",
        "currency": "currency",
        "line_no": "line_no",
        "sku": "sku",
        "category": "category",
        "quantity": "quantity",
        "net_amount": "net_amount",
    },
    ImportJob.Kind.INVOICES: {
        "invoice_id": "external_id",
        "partner_id": "partner",
        "amount": "amount",
        "currency": "currency",
        "issued_on": "issued_on",
        "due_on": "due_on",
    },
    ImportJob.Kind.PAYMENTS: {
        "payment_id": "external_id",
        "invoice_id": "invoice",
        "amount": "amount",
        "paid_on": "paid_on",
    },
}
SCHEMAS = {ImportJob.Kind.ORDERS: OrderIn, ImportJob.Kind.INVOICES: InvoiceIn, ImportJob.Kind.PAYMENTS: PaymentIn}
ID_COLUMN = {
    ImportJob.Kind.ORDERS: "order_id",
    ImportJob.Kind.INVOICES: "invoice_id",
    ImportJob.Kind.PAYMENTS: "payment_id",
}
# The order's own columns, repeated on each of its line rows; the rest describe the line.
ORDER_COLUMNS = ("order_id", "partner_id", "placed_at", "currency")
# Where an error about the item as a whole (a model validator) points.
ITEM_COLUMN = {ImportJob.Kind.ORDERS: "", ImportJob.Kind.INVOICES: "due_on", ImportJob.Kind.PAYMENTS: ""}
_LINE_FIELD = re.compile(r"^lines\[(\d+)\](?:\.(\w+))?")


class FileProblem(Exception):
    """The file as a whole cannot be read as this kind of CSV: nothing in it is imported."""


class ImportNotAllowed(Exception):
    """The job is not in a state that allows what was asked (say, importing a file that is not CSV)."""


@dataclass
class Entry:
    """One item for `services.record`, and the rows it came from."""

    raw: dict
    rows: list[int]
    line_rows: list[int] = field(default_factory=list)  # orders: the row of each line, in order
    errors: list[dict] = field(default_factory=list)  # problems of the file itself: the item is not sent


@dataclass
class Tally:
    created: int = 0
    held: int = 0  # of the created, those whose points wait for a person's review
    duplicate: int = 0
    rejected: int = 0
    errors: list[dict] = field(default_factory=list)

    def add_error(self, row: int, column: str, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append({"row": row, "column": column, "message": message})


def may_import(user) -> bool:
    return user.is_active and user.has_perm(PERMISSION)


def _require_permission(user) -> None:
    if not may_import(user):
        raise PermissionDenied(_("You may not import CSV files."))


# --- The use cases ----------------------------------------------------------------------------


def start_import(*, kind: str, uploaded_file, acting_user) -> ImportJob:
    """Store the uploaded file as a new job and queue its dry run."""
    from portal.earning.tasks import check_import_task

    _require_permission(acting_user)
    if kind not in COLUMNS:
        raise ValueError(f"unknown kind of import: {kind!r}")
    digest = hashlib.sha256()
    for chunk in uploaded_file.chunks():
        digest.update(chunk)
    uploaded_file.seek(0)
    name = Path(uploaded_file.name or "upload.csv").name[:255]
    with transaction.atomic():
        job = ImportJob(kind=kind, file_name=name, file_sha256=digest.hexdigest(), uploaded_by=acting_user)
        job.file.save(name, uploaded_file, save=False)
        job.save()
        check_import_task.delay_on_commit(job.pk)
    return job


def check_import(job: ImportJob) -> ImportJob:
    """The dry run: record every batch as the import would, then roll it back. Safe to run twice."""
    job.refresh_from_db()
    if job.status != ImportJob.Status.CHECKING:
        return job
    tally, rows_done = Tally(), 0
    try:
        rows_total, batches = _read(job)
        _save_check(job, tally, rows_total=rows_total, rows_done=0)
        for batch in batches:
            with transaction.atomic():
                _record(job, batch, tally)
                transaction.set_rollback(True)
            rows_done += sum(len(entry.rows) for entry in batch)
            if not _save_check(job, tally, rows_done=rows_done):
                return job  # cancelled meanwhile
    except FileProblem as problem:
        _save_check(job, tally, rows_done=rows_done, status=ImportJob.Status.INVALID, message=str(problem))
    except Exception as error:
        logger.exception("The dry run of import %s failed", job.pk)
        message = _("The check stopped unexpectedly: %(error)s") % {"error": error}
        _save_check(job, tally, rows_done=rows_done, status=ImportJob.Status.INVALID, message=message)
    else:
        status = ImportJob.Status.INVALID if tally.rejected else ImportJob.Status.CHECKED
        _save_check(job, tally, rows_done=rows_done, status=status)
    job.refresh_from_db()
    return job


def _save_check(job: ImportJob, tally: Tally, **fields) -> bool:
    """Show the dry run's progress, or its outcome; False if the job is no longer being checked."""
    fields.update(
        rows_created=tally.created,
        rows_held=tally.held,
        rows_duplicate=tally.duplicate,
        rows_rejected=tally.rejected,
    )
    if "status" in fields:
        fields.update(errors=tally.errors, finished_at=timezone.now())
    return bool(ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.CHECKING).update(**fields))


def confirm_import(job: ImportJob, *, acting_user) -> ImportJob:
    """Queue the import of a checked file (its valid rows), or resume one that failed."""
    from portal.earning.tasks import run_import_task

    _require_permission(acting_user)
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.status == ImportJob.Status.FAILED:
            job.message = ""  # resumes after the last batch it committed
        elif can_import(job):
            job.rows_done = job.rows_created = job.rows_held = job.rows_duplicate = job.rows_rejected = 0
            job.errors = []
        else:
            raise ImportNotAllowed(
                _("This file cannot be imported now (%(status)s).") % {"status": job.get_status_display()}
            )
        job.status = ImportJob.Status.IMPORTING
        job.finished_at = None
        job.save(update_fields=_COUNTERS + ["errors", "status", "message", "finished_at"])
        run_import_task.delay_on_commit(job.pk)
    return job


def cancel_import(job: ImportJob, *, acting_user) -> None:
    """Forget a file that was not imported: the job and the stored file go."""
    _require_permission(acting_user)
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.status not in (ImportJob.Status.CHECKING, ImportJob.Status.CHECKED, ImportJob.Status.INVALID):
            raise ImportNotAllowed(_("Only a file that has not been imported can be cancelled."))
        storage, name = job.file.storage, job.file.name
        job.delete()
        transaction.on_commit(lambda: storage.delete(name))


def run_import(job: ImportJob) -> ImportJob:
    """Import the file batch by batch, each committed with the job's progress. Safe to run twice."""
    job.refresh_from_db()
    if job.status != ImportJob.Status.IMPORTING:
        return job
    try:
        rows_total, batches = _read(job)
        ImportJob.objects.filter(pk=job.pk).update(rows_total=rows_total)
        end = 0
        for batch in batches:
            start, end = end, end + sum(len(entry.rows) for entry in batch)
            if not _import_batch(job.pk, batch, start=start, end=end):
                break
        with transaction.atomic():
            job = ImportJob.objects.select_for_update().get(pk=job.pk)
            if job.status == ImportJob.Status.IMPORTING and job.rows_done == job.rows_total:
                job.status = ImportJob.Status.DONE
                job.finished_at = timezone.now()
                job.save(update_fields=["status", "finished_at"])
    except Exception as error:
        # A file problem here means the stored file changed since its dry run; anything else is ours.
        logger.exception("The import %s failed", job.pk)
        ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.IMPORTING).update(
            status=ImportJob.Status.FAILED,
            message=_("The import stopped: %(error)s") % {"error": error},
            finished_at=timezone.now(),
        )
    job.refresh_from_db()
    return job


def _import_batch(job_id: int, batch: list[Entry], *, start: int, end: int) -> bool:
    """Record one batch and count it on the job, in one transaction; False if the job stopped importing."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job_id)
        if job.status != ImportJob.Status.IMPORTING:
            return False
        if job.rows_done >= end:
            return True  # an earlier run of the task committed this batch
        if job.rows_done != start:
            raise RuntimeError(f"the job stands at row {job.rows_done}, between batches {start} and {end}")
        tally = Tally(errors=list(job.errors))
        _record(job, batch, tally)
        job.rows_done = end
        job.rows_created += tally.created
        job.rows_held += tally.held
        job.rows_duplicate += tally.duplicate
        job.rows_rejected += tally.rejected
        job.errors = tally.errors
        job.save(update_fields=_COUNTERS + ["errors"])
    return True


# --- What the pages ask -------------------------------------------------------------------------


def can_import(job: ImportJob) -> bool:
    """A checked file can be imported, its bad rows left out, unless the file itself is unreadable."""
    return job.status == ImportJob.Status.CHECKED or (job.status == ImportJob.Status.INVALID and not job.message)


def can_cancel(job: ImportJob) -> bool:
    return job.status in (ImportJob.Status.CHECKING, ImportJob.Status.CHECKED, ImportJob.Status.INVALID)


def is_running(job: ImportJob) -> bool:
    return job.status in (ImportJob.Status.CHECKING, ImportJob.Status.IMPORTING)


def earlier_imports(job: ImportJob):
    """Imports of a file with the same content: importing it again records nothing new."""
    return (
        ImportJob.objects.filter(file_sha256=job.file_sha256)
        .exclude(pk=job.pk)
        .filter(status__in=[ImportJob.Status.IMPORTING, ImportJob.Status.DONE, ImportJob.Status.FAILED])
        .select_related("uploaded_by")
    )


def progress(job: ImportJob) -> dict:
    return {
        "status": job.status,
        "status_label": str(job.get_status_display()),
        "running": is_running(job),
        "rows_total": job.rows_total,
        "rows_done": job.rows_done,
        "percent": percent_done(job),
        "rows_created": job.rows_created,
        "rows_held": job.rows_held,
        "rows_duplicate": job.rows_duplicate,
        "rows_rejected": job.rows_rejected,
    }


def percent_done(job: ImportJob) -> int:
    if not job.rows_total:
        return 100 if job.finished_at else 0
    return min(100, job.rows_done * 100 // job.rows_total)


# --- Recording a batch ------------------------------------------------------------------------


def _record(job: ImportJob, batch: list[Entry], tally: Tally) -> None:
    """Record a batch through the ERP's own path and count its rows; errors name row and column."""
    sendable = [entry for entry in batch if not entry.errors]
    results = iter(services.record(job.kind, [entry.raw for entry in sendable], source=_source(job)))
    for entry in batch:
        result = _schema_check(job.kind, entry) if entry.errors else next(results)
        if result.status == "created":
            tally.created += len(entry.rows)
            if result.held_for_review:
                tally.held += len(entry.rows)
        elif result.status == "duplicate":
            tally.duplicate += len(entry.rows)
        else:
            tally.rejected += len(entry.rows)
            located = [{"row": row, "column": column, "message": error.message}
                       for error in result.errors
                       for row, column in [_locate(job.kind, entry, error.field)]]  # fmt: skip
            for error in sorted(entry.errors + located, key=lambda error: error["row"]):
                tally.add_error(**error)


def _schema_check(kind: str, entry: Entry) -> services.ItemResult:
    """An item the file itself spoils is not sent; still name its other mistakes, in the same go."""
    (parsed,) = services.parse_items([entry.raw], SCHEMAS[kind])
    errors = parsed.errors if isinstance(parsed, services.ItemResult) else ()
    # The item as a whole ("line_no must be unique") is what the file's own check has said already.
    return services.ItemResult("", "rejected", errors=tuple(error for error in errors if error.field != "item"))


def _source(job: ImportJob) -> str:
    return f"csv: {job.file_name[:120]} by {job.uploaded_by.email}"[:200]


def _locate(kind: str, entry: Entry, field_path: str) -> tuple[int, str]:
    """The row and column of a schema field path such as 'lines[2].quantity'."""
    line = _LINE_FIELD.match(field_path)
    if line:
        index, name = int(line[1]), line[2] or ""
        row = entry.line_rows[index] if index < len(entry.line_rows) else entry.rows[0]
        return row, name if name in COLUMNS[kind] else ""
    if field_path == "item":
        return entry.rows[0], ITEM_COLUMN[kind]
    columns = {schema_field: column for column, schema_field in COLUMNS[kind].items()}
    return entry.rows[0], columns.get(field_path.split(".")[0].split("[")[0], "")


# --- Reading the file -------------------------------------------------------------------------


def _read(job: ImportJob) -> tuple[int, Iterator[list[Entry]]]:
    """The number of data rows, and the file's items in batches; FileProblem if it is not such a CSV."""
    kind = job.kind
    rows_total, last_row_of = 0, {}
    with _open(job) as rows:
        for number, values, _problem in rows:
            rows_total += 1
            if kind == ImportJob.Kind.ORDERS and values.get("order_id"):
                last_row_of[values["order_id"]] = number
    if not rows_total:
        raise FileProblem(_("The file has a header but no rows."))
    return rows_total, _batches(job, last_row_of)


def _batches(job: ImportJob, last_row_of: dict[str, int]) -> Iterator[list[Entry]]:
    batch = []
    with _open(job) as rows:
        entries = _orders(rows, last_row_of) if job.kind == ImportJob.Kind.ORDERS else _singles(job.kind, rows)
        for entry in entries:
            batch.append(entry)
            if len(batch) == BATCH_SIZE:
                yield batch
                batch = []
    if batch:
        yield batch


def _item(kind: str, values: dict[str, str], columns: Iterable[str]) -> dict:
    """Schema fields from CSV columns; an empty cell is a missing field ("Field required")."""
    return {COLUMNS[kind][column]: values[column] for column in columns if values.get(column, "") != ""}


def _singles(kind: str, rows) -> Iterator[Entry]:
    """Invoices and payments: one row, one item. An id may appear once per file."""
    id_column, first_row_of = ID_COLUMN[kind], {}
    for number, values, problem in rows:
        entry = Entry(_item(kind, values, COLUMNS[kind]), rows=[number])
        external_id = values.get(id_column, "")
        if problem:
            entry.errors.append({"row": number, "column": "", "message": problem})
        elif external_id in first_row_of:
            message = _("%(id)s is also on row %(row)s: each may appear once in a file.")
            entry.errors.append(
                {
                    "row": number,
                    "column": id_column,
                    "message": message % {"id": external_id, "row": first_row_of[external_id]},
                }
            )
        elif external_id:
            first_row_of[external_id] = number
        yield entry


@dataclass
class _OpenOrder:
    entry: Entry
    values: dict[str, str]
    row_of_line: dict[str, int] = field(default_factory=dict)


def _orders(rows, last_row_of: dict[str, int]) -> Iterator[Entry]:
    """Orders: a row per line, grouped by order_id wherever the rows are; an order is complete at its last row."""
    kind = ImportJob.Kind.ORDERS
    line_columns = [column for column in COLUMNS[kind] if column not in ORDER_COLUMNS]
    open_orders: dict[str, _OpenOrder] = {}
    for number, values, problem in rows:
        order_id = values.get("order_id", "")
        if not order_id:
            entry = Entry(_item(kind, values, ORDER_COLUMNS), rows=[number], line_rows=[number])
            entry.raw["lines"] = [_item(kind, values, line_columns)]
            if problem:
                entry.errors.append({"row": number, "column": "", "message": problem})
            yield entry
            continue
        order = open_orders.get(order_id)
        if order is None:
            entry = Entry(_item(kind, values, ORDER_COLUMNS), rows=[], line_rows=[])
            entry.raw["lines"] = []
            order = open_orders[order_id] = _OpenOrder(entry, values)
        entry = order.entry
        entry.rows.append(number)
        entry.line_rows.append(number)
        entry.raw["lines"].append(_item(kind, values, line_columns))
        if problem:
            entry.errors.append({"row": number, "column": "", "message": problem})
        else:
            entry.errors.extend(_disagreements(order, number, values))
        if number == last_row_of.get(order_id):
            del open_orders[order_id]
            yield entry


def _disagreements(order: _OpenOrder, number: int, values: dict[str, str]) -> Iterator[dict]:
    first_row = order.entry.rows[0]
    for column in ORDER_COLUMNS[1:]:
        if values.get(column, "") != order.values.get(column, ""):
            message = _("The order's %(column)s is “%(first)s” on row %(row)s but “%(this)s” here.") % {
                "column": column,
                "first": order.values.get(column, ""),
                "row": first_row,
                "this": values.get(column, ""),
            }
            yield {"row": number, "column": column, "message": message}
    line_no = values.get("line_no", "")
    if line_no in order.row_of_line:
        message = _("Line %(line)s of order %(order)s is also on row %(row)s.") % {
            "line": line_no,
            "order": values["order_id"],
            "row": order.row_of_line[line_no],
        }
        yield {"row": number, "column": "line_no", "message": message}
    elif line_no:
        order.row_of_line[line_no] = number


# --- The CSV layer: encoding, header, rows --------------------------------------------------------

_SNIFF_BYTES = 4096
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


@contextmanager
def _open(job: ImportJob):
    """The file's data rows as (row number, {column: stripped value}, problem), via the storage API."""
    with job.file.storage.open(job.file.name, "rb") as binary:
        _sniff(binary.read(_SNIFF_BYTES))
        binary.seek(0)
        text = TextIOWrapper(binary, encoding="utf-8-sig", newline="")
        try:
            yield _rows(job.kind, _lines(text))
        except UnicodeDecodeError:
            raise FileProblem(_not_utf8(job)) from None
        except csv.Error as error:
            raise FileProblem(_("The file is not valid CSV: %(error)s.") % {"error": error}) from None


def _sniff(start: bytes) -> None:
    """Refuse what is plainly not UTF-8 CSV from its first bytes, with a message saying what it is."""
    if not start.removeprefix(codecs.BOM_UTF8).strip():
        raise FileProblem(_("The file is empty."))
    if start.startswith(_UTF16_BOMS):
        raise FileProblem(
            _("The file is not UTF-8 text (byte 0x%(byte)02x at position 0): it is UTF-16. Save it as “CSV UTF-8”.")
            % {"byte": start[0]}
        )
    if b"\x00" in start:
        raise FileProblem(_binary(start.index(b"\x00")))


def _binary(position: int) -> str:
    return _(
        "The file is not CSV text: it has a NUL byte at position %(position)s, as a spreadsheet, an archive "
        "or UTF-16 text would. Save it as “CSV UTF-8”."
    ) % {"position": position}


def _lines(text: TextIOWrapper) -> Iterator[str]:
    for line in text:
        if "\x00" in line:
            raise FileProblem(_("The file is not CSV text: it has a NUL character. Save it as “CSV UTF-8”."))
        yield line


def _not_utf8(job: ImportJob) -> str:
    """Where the first byte that is not UTF-8 is: read the file again, now that we know there is one."""
    decoder = codecs.getincrementaldecoder("utf-8")()  # not -sig: a BOM is valid UTF-8, and counts
    position, line = 0, 1
    with job.file.storage.open(job.file.name, "rb") as binary:
        for chunk in iter(lambda: binary.read(64 * 1024), b""):
            held = len(decoder.getstate()[0])  # the start of a character the previous chunk ended in
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                where = _("byte 0x%(byte)02x at position %(position)s, line %(line)s") % {
                    "byte": error.object[error.start],
                    "position": position - held + error.start,
                    "line": line + error.object[: error.start].count(b"\n"),
                }
                return _("The file is not UTF-8 text (%(where)s). Save it as “CSV UTF-8”.") % {"where": where}
            position += len(chunk)
            line += chunk.count(b"\n")
    return _("The file is not UTF-8 text. Save it as “CSV UTF-8”.")


def _rows(kind: str, lines: Iterator[str]) -> Iterator[tuple[int, dict[str, str], str]]:
    reader = csv.reader(lines)
    header = _header(kind, reader)
    width = len(header)
    previous_line = reader.line_num
    for record in reader:
        number, previous_line = previous_line + 1, reader.line_num
        if not any(value.strip() for value in record):
            continue
        problem = ""
        if len(record) > width and not any(value.strip() for value in record[width:]):
            record = record[:width]  # trailing empty cells, as spreadsheets write them
        if len(record) != width:
            problem = _("The row has %(found)s values; the header has %(expected)s.") % {
                "found": len(record),
                "expected": width,
            }
        values = {column: value.strip() for column, value in zip(header, record, strict=False) if column}
        yield number, values, problem


def _header(kind: str, reader) -> list[str]:
    """The header row's column names; blank names (empty trailing columns) are kept blank and ignored."""
    for record in reader:
        if any(value.strip() for value in record):
            break
    else:
        raise FileProblem(_("The file is empty."))
    header = [name.strip().lower() for name in record]
    expected = list(COLUMNS[kind])
    named = [name for name in header if name]
    missing = [name for name in expected if name not in named]
    unknown = [name for name in named if name not in expected]
    twice = sorted({name for name in named if named.count(name) > 1})
    problems = []
    if missing:
        problems.append(_("Missing columns: %(columns)s.") % {"columns": ", ".join(missing)})
    if unknown:
        problems.append(_("Unknown columns: %(columns)s.") % {"columns": ", ".join(unknown)})
    if twice:
        problems.append(_("Columns named twice: %(columns)s.") % {"columns": ", ".join(twice)})
    if problems:
        expected_text = _("The first row must name the columns of %(kind)s: %(columns)s.") % {
            "kind": ImportJob.Kind(kind).label.lower(),
            "columns": ", ".join(expected),
        }
        raise FileProblem(" ".join([*problems, expected_text]))
    return header
