"""The database keeps the ledger whole even for code that goes around the services.

Each refused statement runs in a savepoint (``transaction.atomic``) so the
error does not poison the test's transaction. pgtrigger's Protect raises a
PL/pgSQL exception (SQLSTATE P0001), which psycopg 3 and so Django report as
``ProgrammingError``.
"""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, ProgrammingError, connection, transaction
from django.db.models.deletion import ProtectedError

from portal.ledger import services
from portal.ledger.models import Account, AccountKind, Code, Transfer


@pytest.fixture
def transfer(partner):
    return services.post_transfer(
        services.earning(partner.id, key="order-1", amount=100, code=Code.ORDER, reason="Order")
    )


def sql(statement, params=()):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, params)


@pytest.mark.django_db
def test_a_transfer_cannot_be_changed_with_sql(transfer):
    with pytest.raises(ProgrammingError, match="Cannot update or delete rows from ledger_transfer"):
        sql("UPDATE ledger_transfer SET amount = 1000000 WHERE id = %s", [transfer.id])

    assert Transfer.objects.get(pk=transfer.pk).amount == 100


@pytest.mark.django_db
def test_a_transfer_cannot_be_deleted_with_sql(transfer):
    with pytest.raises(ProgrammingError, match="Cannot update or delete rows from ledger_transfer"):
        sql("DELETE FROM ledger_transfer WHERE id = %s", [transfer.id])

    assert Transfer.objects.filter(pk=transfer.pk).exists()


@pytest.mark.django_db
def test_the_orm_cannot_change_or_delete_a_transfer_either(transfer):
    with pytest.raises(ProgrammingError, match="Cannot update or delete"), transaction.atomic():
        Transfer.objects.filter(pk=transfer.pk).update(amount=1)
    with pytest.raises(ProgrammingError, match="Cannot update or delete"), transaction.atomic():
        transfer.delete()

    assert Transfer.objects.get(pk=transfer.pk).amount == 100


@pytest.mark.django_db
def test_an_account_cannot_be_deleted_with_sql_or_the_orm(transfer, partner):
    account = Account.objects.get(partner=partner)

    with pytest.raises(ProgrammingError, match="Cannot delete rows from ledger_account"):
        sql("DELETE FROM ledger_account WHERE id = %s", [account.id])
    with pytest.raises(ProtectedError), transaction.atomic():
        account.delete()  # its transfers protect it before the trigger is reached

    assert Account.objects.filter(pk=account.pk).exists()


@pytest.mark.django_db
def test_an_account_without_transfers_cannot_be_deleted_either(partner):
    account = Account.objects.create(kind=AccountKind.PARTNER, partner=partner)

    with pytest.raises(ProgrammingError, match="Cannot delete rows from ledger_account"), transaction.atomic():
        account.delete()


@pytest.mark.django_db
def test_a_transfer_that_moves_points_from_an_account_to_itself_is_refused_by_the_database(transfer):
    with pytest.raises(IntegrityError, match="transfer_accounts_differ"):
        sql(
            "INSERT INTO ledger_transfer (key, debit_account_id, credit_account_id, amount, phase, code, reason,"
            " details, actor_label, ref_type, ref_id, effective_at)"
            " SELECT 'self', credit_account_id, credit_account_id, 5, 'posted', 'order', '', '{}', '', '', '', now()"
            " FROM ledger_transfer WHERE id = %s",
            [transfer.id],
        )


@pytest.mark.django_db
def test_check_ledger_passes_when_every_transfer_went_through_the_services(transfer):
    out = StringIO()

    call_command("check_ledger", stdout=out)

    assert "every invariant holds" in out.getvalue()


@pytest.mark.django_db
def test_check_ledger_fails_naming_the_accounts_a_transfer_inserted_around_the_services_left_behind(transfer, partner):
    account = Account.objects.get(partner=partner)
    issued = Account.objects.filter(kind=AccountKind.ISSUED).first()
    sql(
        "INSERT INTO ledger_transfer (key, debit_account_id, credit_account_id, amount, phase, code, reason,"
        " details, actor_label, ref_type, ref_id, effective_at)"
        " VALUES ('sneaked-in', %s, %s, 50, 'posted', 'order', 'not through the ledger', '{}', '', '', '', now())",
        [issued.id, account.id],
    )
    err = StringIO()

    with pytest.raises(CommandError, match=r"disagrees with itself in 2 place\(s\)"):
        call_command("check_ledger", stderr=err)

    problems = err.getvalue()
    assert f"account {account.id} (partner): stored totals [0, 100, 0, 0] differ from its transfers [0, 150, 0, 0]" in (
        problems
    )
    assert f"account {issued.id} (issued)" in problems
