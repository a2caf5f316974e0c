import pytest
from django.db import connection

from portal.ledger import services
from portal.ledger.models import Account, Code
from portal.ledger.tasks import LedgerDisagrees, check_ledger_task


@pytest.fixture
def earned(partner):
    services.post_transfer(services.earning(partner.id, key="order-1", amount=50, code=Code.ORDER, reason="Order 1"))
    return partner


@pytest.mark.django_db
def test_the_nightly_check_passes_on_a_balanced_ledger(earned):
    assert check_ledger_task.apply().get() == {"problems": 0}
    assert check_ledger_task.apply().get() == {"problems": 0}  # and again: it only reads


@pytest.mark.django_db
def test_the_nightly_check_fails_loudly_naming_what_disagrees(earned, caplog):
    account = Account.objects.get(partner=earned)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE ledger_account SET credits_posted = 7 WHERE id = %s", [account.id])
    with pytest.raises(LedgerDisagrees, match=f"account {account.id} "):
        check_ledger_task.apply().get()
    assert any(r.levelname == "ERROR" and f"account {account.id} " in r.getMessage() for r in caplog.records)
