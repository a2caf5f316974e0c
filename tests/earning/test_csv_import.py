"""The CSV import in the CMS, as an administrator sees it: upload, dry run, import, progress, errors."""

import codecs
from datetime import date, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from portal.earning import csv_import, services
from portal.earning.models import ImportJob, Invoice, Order, Payment
from portal.ledger.models import Transfer
from portal.ledger.queries import balance_of, discrepancies
from tests.factories import PartnerFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

ORDER_HEADER = "order_id,partner_id,placed_at,currency,line_no,sku,category,quantity,net_amount\n"
PLACED = "2026-03-02T09:30:00+02:00"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def cms_user(*codenames):
    user = StaffFactory()
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(content_type__app_label="earning", codename=codename))
    return user


@pytest.fixture
def importer(client):
    user = cms_user("add_importjob")
    client.force_login(user)
    return user


def upload(client, kind, content, name="erp.csv", callbacks=None):
    """Upload a file (str is written as UTF-8) and let its dry run finish; the job and the response."""
    data = content.encode() if isinstance(content, str) else content
    with callbacks(execute=True):
        response = client.post(reverse("earning_imports"), {"kind": kind, "file": SimpleUploadedFile(name, data)})
    assert response.status_code == 302, response.content
    job = ImportJob.objects.latest("pk")
    assert response.url == reverse("earning_import_job", args=[job.pk])
    return job, response


def confirm(client, job, callbacks):
    with callbacks(execute=True):
        response = client.post(reverse("earning_import_confirm", args=[job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    return job


def errors_of(job):
    return [(e["row"], e["column"]) for e in job.errors]


def orders_csv(partner, *rows):
    """Rows as (order_id, line_no, quantity, net_amount), the rest filled in."""
    return ORDER_HEADER + "".join(
        f"{order_id},{partner.external_id},{PLACED},USD,{line_no},SKU-{line_no},Switches,{quantity},{amount}\n"
        for order_id, line_no, quantity, amount in rows
    )


def test_a_good_orders_file_is_checked_without_writing_then_imported_with_the_right_balance(
    client, importer, partner, django_capture_on_commit_callbacks
):
    content = orders_csv(partner, ("SO-1", 1, 2, "120.00"), ("SO-1", 2, 1, "80.50"), ("SO-2", 1, 1, "40"))
    job, _ = upload(client, "orders", content, callbacks=django_capture_on_commit_callbacks)

    assert job.status == ImportJob.Status.CHECKED
    assert (job.rows_total, job.rows_done, job.rows_created, job.rows_rejected) == (3, 3, 3, 0)
    assert not Order.objects.exists() and not Transfer.objects.exists()
    assert balance_of(partner).pending == 0
    assert csv_import.check_import(job).rows_created == 3  # a second run of the task changes nothing

    job = confirm(client, job, django_capture_on_commit_callbacks)
    assert job.status == ImportJob.Status.DONE
    assert (job.rows_total, job.rows_done, job.rows_created, job.rows_duplicate, job.rows_rejected) == (3, 3, 3, 0, 0)
    assert job.errors == []
    assert list(Order.objects.get(external_id="SO-1").lines.values_list("line_no", "net_amount")) == [
        (1, 120), (2, 80.5)
    ]  # fmt: skip
    assert balance_of(partner).pending == 120 + 80 + 40
    transfer = Transfer.objects.get(ref_id="SO-1")
    assert transfer.actor_label == f"csv: erp.csv by {importer.email}"
    assert discrepancies() == []
    page = client.get(reverse("earning_import_job", args=[job.pk]))
    assert page.status_code == 200
    assert "Imported" in page.content.decode()


def test_uploading_the_same_file_again_imports_nothing_twice(
    client, importer, partner, django_capture_on_commit_callbacks
):
    content = orders_csv(partner, ("SO-1", 1, 1, "100"), ("SO-2", 1, 1, "50"))
    first, _ = upload(client, "orders", content, callbacks=django_capture_on_commit_callbacks)
    confirm(client, first, django_capture_on_commit_callbacks)
    transfers = Transfer.objects.count()

    again, response = upload(
        client, "orders", content, name="erp-again.csv", callbacks=django_capture_on_commit_callbacks
    )
    assert any("same content was imported" in str(m) for m in get_messages(response.wsgi_request))
    assert (again.status, again.rows_duplicate, again.rows_created) == (ImportJob.Status.CHECKED, 2, 0)
    page = client.get(reverse("earning_import_job", args=[again.pk])).content.decode()
    assert "A file with the same content was imported before" in page
    assert "Every row of this file was recorded before: importing it changes nothing." in page

    again = confirm(client, again, django_capture_on_commit_callbacks)
    assert (again.status, again.rows_done, again.rows_duplicate, again.rows_created) == (ImportJob.Status.DONE, 2, 2, 0)
    assert Transfer.objects.count() == transfers
    assert balance_of(partner).pending == 150
    page = client.get(reverse("earning_import_job", args=[again.pk])).content.decode()
    assert "nothing was imported twice" in page


def test_a_file_with_bad_rows_lists_each_row_column_and_reason_and_writes_nothing(
    client, importer, partner, django_capture_on_commit_callbacks
):
    content = (
        ORDER_HEADER
        + f"SO-1,{partner.external_id},{PLACED},USD,1,A,Switches,1,100\n"  # row 2: good
        + f"SO-2,{partner.external_id},{PLACED},USD,1,A,Switches,zero,100\n"  # row 3: quantity
        + f"SO-3,NOBODY,{PLACED},USD,1,A,Switches,1,100\n"  # row 4: unknown partner
        + f"SO-4,{partner.external_id},{PLACED},EUR,1,A,Switches,1,100\n"  # row 5: currency
        + f"SO-5,{partner.external_id},{PLACED},USD,1,A,Switches,1,100\n"  # row 6
        + f"SO-5,{partner.external_id},2026-03-03T09:30:00Z,USD,2,B,Switches,1,100\n"  # row 7: disagrees
        + f"SO-6,{partner.external_id},2026-03-02,USD,1,A,Switches,1,\n"  # row 8: no time zone, no amount
        + f"SO-7,{partner.external_id},{PLACED},USD,1,A,Switches,1\n"  # row 9: a value short
        + f"SO-8,{partner.external_id},{PLACED},USD,1,A,Switches,1,100\n"  # row 10
        + f"SO-8,{partner.external_id},{PLACED},USD,1,B,Switches,1,100\n"  # row 11: line 1 again
    )
    job, _ = upload(client, "orders", content, callbacks=django_capture_on_commit_callbacks)

    assert job.status == ImportJob.Status.INVALID
    assert job.message == ""
    assert (job.rows_total, job.rows_created, job.rows_rejected) == (10, 1, 9)
    assert errors_of(job) == [
        (3, "quantity"),
        (4, "partner_id"),
        (5, "currency"),
        (7, "placed_at"),
        (8, "placed_at"),
        (8, "net_amount"),
        (9, ""),
        (9, "net_amount"),
        (11, "line_no"),
    ]
    messages = {(e["row"], e["column"]): e["message"] for e in job.errors}
    assert "valid integer" in messages[3, "quantity"]
    assert "no partner has the ERP id 'NOBODY'" in messages[4, "partner_id"]
    assert "not EUR" in messages[5, "currency"]
    assert "on row 6" in messages[7, "placed_at"]
    assert "Field required" in messages[8, "net_amount"]
    assert "8 values; the header has 9" in messages[9, ""]
    assert "also on row 10" in messages[11, "line_no"]
    assert not Order.objects.exists() and not Transfer.objects.exists()

    page = client.get(reverse("earning_import_job", args=[job.pk])).content.decode()
    assert "no partner has the ERP id" in page
    assert "Import the 1 valid row" in page

    job = confirm(client, job, django_capture_on_commit_callbacks)
    assert (job.status, job.rows_done, job.rows_created, job.rows_rejected) == (ImportJob.Status.DONE, 10, 1, 9)
    assert len(job.errors) == 9
    assert list(Order.objects.values_list("external_id", flat=True)) == ["SO-1"]
    assert balance_of(partner).pending == 100


def test_lines_of_an_order_are_grouped_wherever_they_are_in_the_file(
    client, importer, partner, django_capture_on_commit_callbacks
):
    content = orders_csv(
        partner,
        ("SO-1", 1, 1, "10"),
        ("SO-2", 1, 1, "20"),
        ("SO-1", 2, 2, "30"),
        ("SO-3", 1, 1, "5"),
        ("SO-2", 2, 0, "40"),  # row 6: quantity 0 spoils SO-2, all of it
        ("SO-1", 3, 1, "60"),
    )
    job, _ = upload(client, "orders", content, callbacks=django_capture_on_commit_callbacks)
    assert errors_of(job) == [(6, "quantity")]
    assert (job.rows_created, job.rows_rejected) == (4, 2)

    job = confirm(client, job, django_capture_on_commit_callbacks)
    assert dict(Order.objects.values_list("external_id", "net_total")) == {"SO-1": 100, "SO-3": 5}
    assert Order.objects.get(external_id="SO-1").lines.count() == 3
    assert balance_of(partner).pending == 105


def test_invoices_and_payments_import_and_payments_name_unknown_invoices(
    client, importer, partner, django_capture_on_commit_callbacks
):
    issued, due = date(2026, 3, 1), date(2026, 3, 31)
    invoices = (
        "\ufeffInvoice_ID ; Partner_ID,amount,currency,issued_on,due_on\n".replace(" ; ", ",")  # BOM, any case
        + f"INV-1,{partner.external_id},1000.00,USD,{issued},{due}\n"
        + f"INV-2,{partner.external_id},500,USD,{issued},{issued - timedelta(days=1)}\n"  # due before issue
        + f"INV-1,{partner.external_id},1000.00,USD,{issued},{due}\n"  # twice in the file
    )
    job, _ = upload(client, "invoices", invoices, callbacks=django_capture_on_commit_callbacks)
    assert errors_of(job) == [(3, "due_on"), (4, "invoice_id")]
    confirm(client, job, django_capture_on_commit_callbacks)
    assert list(Invoice.objects.values_list("external_id", flat=True)) == ["INV-1"]

    payments = (
        f"payment_id,invoice_id,amount,paid_on\nPAY-1,INV-1,1000,{due - timedelta(days=20)}\nPAY-2,INV-9,10,{due}\n"
    )
    job, _ = upload(client, "payments", payments, callbacks=django_capture_on_commit_callbacks)
    assert errors_of(job) == [(3, "invoice_id")]
    assert "no invoice has the ERP id 'INV-9'" in job.errors[0]["message"]
    job = confirm(client, job, django_capture_on_commit_callbacks)
    assert (job.status, job.rows_created, job.rows_rejected) == (ImportJob.Status.DONE, 1, 1)
    assert Payment.objects.get().points == 500
    assert balance_of(partner).available == 500
    assert discrepancies() == []


LATIN_1 = ORDER_HEADER.encode() + "SO-1,ERP-1,2026-03-02T09:30:00Z,USD,1,Café,Misc,1,10\n".encode("latin-1")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (LATIN_1, f"The file is not UTF-8 text (byte 0xe9 at position {LATIN_1.index(0xE9)}, line 2)."),
        (ORDER_HEADER.encode("utf-16"), "The file is not UTF-8 text (byte 0xff at position 0): it is UTF-16."),
        (ORDER_HEADER.encode("utf-16-le"), "The file is not CSV text: it has a NUL byte at position 1"),
        (
            b"order_id,partner_id,placed_at,currency,line_no,category,net_amount\n1,2,3,4,5,6,7\n",
            "Missing columns: sku, quantity.",
        ),
        (
            b"order_id,partner_id,placed_at,currency,line_no,sku,category,quantity,net_amount,colour\n",
            "Unknown columns: colour.",
        ),
        (b"", "The file is empty."),
        (codecs.BOM_UTF8 + b"\r\n\r\n", "The file is empty."),
        (ORDER_HEADER.encode(), "The file has a header but no rows."),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "The file is not CSV text: it has a NUL byte"),
        (b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 40, "The file is not CSV text: it has a NUL byte at position 5"),
        (bytes([0xC3, 0x28, 0xA0, 0xA1]) * 100, "The file is not UTF-8 text (byte 0xc3 at position 0, line 1)."),
    ],
    ids=["latin-1", "utf-16", "utf-16-no-bom", "missing", "unknown", "empty", "blank", "no-rows", "png", "zip", "junk"],
)
def test_a_file_that_is_not_such_a_csv_gets_a_clear_message_and_cannot_be_imported(
    client, importer, content, message, django_capture_on_commit_callbacks
):
    job, _ = upload(client, "orders", content, callbacks=django_capture_on_commit_callbacks)
    assert job.status == ImportJob.Status.INVALID
    assert message in job.message
    assert (
        "Save it as “CSV UTF-8”" in job.message
        or "columns" in job.message
        or "empty" in job.message
        or "rows" in job.message
    )
    assert not csv_import.can_import(job)
    page = client.get(reverse("earning_import_job", args=[job.pk])).content.decode()
    assert "Import</button>" not in page

    job = confirm(client, job, django_capture_on_commit_callbacks)
    assert job.status == ImportJob.Status.INVALID


def test_a_bad_byte_deep_in_a_large_file_is_found_by_position_and_line(
    client, importer, partner, django_capture_on_commit_callbacks
):
    good = orders_csv(partner, *[(f"SO-{n}", 1, 1, "10") for n in range(3000)])
    content = good.encode() + "SO-X,ERP,2026-03-02T09:30:00Z,USD,1,Niño,Misc,1,10\n".encode("cp1252")
    job, _ = upload(client, "orders", content, callbacks=django_capture_on_commit_callbacks)
    position = len(good.encode()) + content[len(good.encode()) :].index(b"\xf1")
    assert f"(byte 0xf1 at position {position}, line 3002)" in job.message
    assert not Order.objects.exists()


def test_stored_errors_stop_at_a_thousand_and_the_page_gives_the_total(
    client, importer, partner, django_capture_on_commit_callbacks
):
    rows = "".join(f"INV-{n},{partner.external_id},-1,USD,2026-03-01,2026-03-31\n" for n in range(1200))
    job, _ = upload(client, "invoices", "invoice_id,partner_id,amount,currency,issued_on,due_on\n" + rows,
                    callbacks=django_capture_on_commit_callbacks)  # fmt: skip
    assert (job.rows_rejected, len(job.errors)) == (1200, 1000)
    assert job.errors[-1]["row"] == 1001
    page = client.get(reverse("earning_import_job", args=[job.pk])).content.decode()
    assert "The first 1,000 errors are listed; 1,200 rows have errors in all." in page


def test_progress_is_counted_batch_by_batch_and_ends_at_every_row(
    client, importer, partner, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(csv_import, "BATCH_SIZE", 2)
    seen = []
    record = services.record

    def watching(kind, raw_items, *, source):
        seen.append(ImportJob.objects.values_list("rows_done", flat=True).get())
        return record(kind, raw_items, source=source)

    monkeypatch.setattr(services, "record", watching)
    content = orders_csv(partner, *[(f"SO-{n}", line, 1, "10") for n in range(5) for line in (1, 2)])
    job, _ = upload(client, "orders", content, callbacks=django_capture_on_commit_callbacks)
    assert seen == [0, 4, 8]  # the dry run: 2 orders of 2 rows a batch
    seen.clear()

    job = confirm(client, job, django_capture_on_commit_callbacks)
    assert seen == [0, 4, 8]
    assert (job.rows_done, job.rows_total, job.rows_created) == (10, 10, 10)
    figures = client.get(reverse("earning_import_progress", args=[job.pk])).json()
    assert figures | {"status_label": None} == {
        "status": "done",
        "status_label": None,
        "running": False,
        "rows_total": 10,
        "rows_done": 10,
        "percent": 100,
        "rows_created": 10,
        "rows_held": 0,
        "rows_duplicate": 0,
        "rows_rejected": 0,
    }


def test_a_running_job_page_refreshes_itself_and_polls_its_progress(client, importer, partner):
    job = ImportJob.objects.create(
        kind="orders", file_name="f.csv", file_sha256="0" * 64, uploaded_by=importer, rows_total=400, rows_done=100,
        status=ImportJob.Status.IMPORTING,
    )  # fmt: skip
    page = client.get(reverse("earning_import_job", args=[job.pk])).content.decode()
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page
    assert 'data-import-progress-url="' + reverse("earning_import_progress", args=[job.pk]) in page
    assert "earning/import_progress.js" in page
    assert 'value="100"' in page and 'max="400"' in page
    assert client.get(reverse("earning_import_progress", args=[job.pk])).json()["percent"] == 25


def test_an_import_that_stops_resumes_after_its_last_committed_batch_and_a_second_run_changes_nothing(
    client, importer, partner, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(csv_import, "BATCH_SIZE", 2)
    content = orders_csv(partner, *[(f"SO-{n}", 1, 1, "10") for n in range(5)])
    job, _ = upload(client, "orders", content, callbacks=django_capture_on_commit_callbacks)
    record, calls = services.record, []

    def failing_once(kind, raw_items, *, source):
        calls.append(len(raw_items))
        if len(calls) == 2:
            raise ConnectionError("the database went away")
        return record(kind, raw_items, source=source)

    monkeypatch.setattr(services, "record", failing_once)
    job = confirm(client, job, django_capture_on_commit_callbacks)
    assert job.status == ImportJob.Status.FAILED
    assert "the database went away" in job.message
    assert (job.rows_done, job.rows_created) == (2, 2)
    page = client.get(reverse("earning_import_job", args=[job.pk])).content.decode()
    assert "Resume the import" in page

    job = confirm(client, job, django_capture_on_commit_callbacks)
    assert (job.status, job.rows_done, job.rows_created, job.rows_duplicate) == (ImportJob.Status.DONE, 5, 5, 0)
    assert calls == [2, 2, 2, 1]  # the first batch was not sent again
    assert balance_of(partner).pending == 50

    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.IMPORTING)  # a redelivered task
    job = csv_import.run_import(job)
    assert (job.status, job.rows_done, job.rows_created, job.rows_duplicate) == (ImportJob.Status.DONE, 5, 5, 0)
    assert calls == [2, 2, 2, 1]
    assert balance_of(partner).pending == 50


def test_cancel_forgets_the_job_and_its_file(client, importer, partner, django_capture_on_commit_callbacks):
    job, _ = upload(
        client, "orders", orders_csv(partner, ("SO-1", 1, 1, "10")), callbacks=django_capture_on_commit_callbacks
    )
    storage, name = job.file.storage, job.file.name
    assert storage.exists(name)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("earning_import_cancel", args=[job.pk]))
    assert response.url == reverse("earning_imports")
    assert not ImportJob.objects.filter(pk=job.pk).exists()
    assert not storage.exists(name)
    assert not Order.objects.exists()


def test_a_done_import_cannot_be_cancelled_or_imported_again(
    client, importer, partner, django_capture_on_commit_callbacks
):
    job, _ = upload(
        client, "orders", orders_csv(partner, ("SO-1", 1, 1, "10")), callbacks=django_capture_on_commit_callbacks
    )
    job = confirm(client, job, django_capture_on_commit_callbacks)
    assert client.post(reverse("earning_import_cancel", args=[job.pk])).status_code == 302
    job = confirm(client, job, django_capture_on_commit_callbacks)
    assert job.status == ImportJob.Status.DONE
    assert ImportJob.objects.filter(pk=job.pk).exists()
    assert Transfer.objects.count() == 1


# --- Who may import -------------------------------------------------------------------------------


def pages(job):
    return [
        ("get", reverse("earning_imports")),
        ("post", reverse("earning_imports")),
        ("get", reverse("earning_import_job", args=[job.pk])),
        ("get", reverse("earning_import_progress", args=[job.pk])),
        ("post", reverse("earning_import_confirm", args=[job.pk])),
        ("post", reverse("earning_import_cancel", args=[job.pk])),
    ]


@pytest.fixture
def job(db):
    return ImportJob.objects.create(
        kind="orders", file_name="f.csv", file_sha256="0" * 64, uploaded_by=StaffFactory(), status="checked"
    )


@pytest.mark.parametrize("who", ["cms user without the permission", "cms user with other earning permissions"])
def test_cms_users_without_the_permission_get_403_everywhere(client, job, who):
    codenames = ["view_importjob", "change_importjob", "view_order"] if "other" in who else []
    client.force_login(cms_user(*codenames))
    for method, url in pages(job):
        assert getattr(client, method)(url).status_code == 403, (method, url)
    assert ImportJob.objects.get(pk=job.pk).status == "checked"


def test_people_without_cms_access_are_sent_to_sign_in(client, job):
    for user in (None, UserFactory()):
        if user:
            client.force_login(user)
        for method, url in pages(job):
            response = getattr(client, method)(url)
            assert response.status_code == 302 and "/accounts/login/" in response.url, (user, method, url)


@pytest.mark.parametrize("who", ["importer", "superuser"])
def test_importers_and_superusers_see_the_pages_and_the_menu_item(client, job, who):
    user = cms_user("add_importjob") if who == "importer" else StaffFactory(is_superuser=True)
    client.force_login(user)
    index = client.get(reverse("earning_imports"))
    assert index.status_code == 200
    assert (
        "order_id, partner_id, placed_at, currency, line_no, sku, category, quantity, net_amount"
        in index.content.decode()
    )
    assert client.get(reverse("earning_import_job", args=[job.pk])).status_code == 200
    assert reverse("earning_imports") in client.get(reverse("wagtailadmin_home")).content.decode()


def test_the_menu_item_is_hidden_from_those_who_may_not_import(client):
    client.force_login(cms_user())
    assert reverse("earning_imports") not in client.get(reverse("wagtailadmin_home")).content.decode()


def test_start_import_checks_the_permission_itself(partner):
    with pytest.raises(csv_import.PermissionDenied):
        csv_import.start_import(kind="orders", uploaded_file=SimpleUploadedFile("f.csv", b"x"), acting_user=cms_user())
    assert not ImportJob.objects.exists()


def test_a_file_may_hold_orders_of_many_partners(client, importer, partner, django_capture_on_commit_callbacks):
    other = PartnerFactory()
    content = orders_csv(partner, ("SO-1", 1, 1, "10")) + f"SO-2,{other.external_id},{PLACED},USD,1,A,Misc,1,30\n"
    job, _ = upload(client, "orders", content, callbacks=django_capture_on_commit_callbacks)
    job = confirm(client, job, django_capture_on_commit_callbacks)
    assert (balance_of(partner).pending, balance_of(other).pending) == (10, 30)
