import pytest

from portal.ledger import services
from portal.ledger.models import Code
from portal.ledger.queries import balance_of, discrepancies


def earn(partner, key, amount, **kw):
    return services.earning(partner.id, key=key, amount=amount, code=Code.ORDER, reason="order", **kw)


@pytest.mark.django_db
def test_each_transfer_in_a_batch_succeeds_or_fails_on_its_own(partner):
    results = services.post_transfers(
        [
            earn(partner, "a", 100),
            services.spending(partner.id, key="b", amount=500, code=Code.REDEMPTION, reason="too much"),
            earn(partner, "c", 0),
            earn(partner, "d", 20, pending=True),
        ]
    )
    assert [r.status for r in results] == ["created", "failed", "failed", "created"]
    assert results[1].error.code == "exceeds_available"
    assert results[2].error.code == "amount_must_be_positive"
    balance = balance_of(partner)
    assert (balance.available, balance.pending, balance.held) == (100, 20, 0)
    assert discrepancies() == []


@pytest.mark.django_db(transaction=True)
def test_a_transfer_to_a_partner_that_does_not_exist_fails_on_its_own(partner):
    # transaction=True: the foreign key is checked at commit, which a test inside one transaction never reaches.
    results = services.post_transfers(
        [earn(partner, "a", 100), services.earning(999_999_999, key="b", amount=5, code=Code.ORDER, reason="order")]
    )

    assert [r.status for r in results] == ["created", "failed"]
    assert results[1].error.code == "account_not_found"
    assert balance_of(partner).available == 100
    assert discrepancies() == []


@pytest.mark.django_db(transaction=True)
def test_partners_on_other_shards_do_not_wait_for_each_others_locks():
    """A partner's open transaction holds its shard of the issued account, not every partner's."""
    import threading

    from django.db import connection, transaction

    from portal.ledger.models import PROGRAMME_SHARDS
    from tests.factories import PartnerFactory

    first = PartnerFactory()
    second = PartnerFactory()
    while second.id % PROGRAMME_SHARDS == first.id % PROGRAMME_SHARDS:
        second = PartnerFactory()
    services.post_transfers([earn(first, "warm-1", 1), earn(second, "warm-2", 1)])
    holding, done = threading.Event(), threading.Event()

    def hold_first_partners_locks():
        try:
            with transaction.atomic():
                services.post_transfers([earn(first, "held", 10)])
                holding.set()
                done.wait(timeout=30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_first_partners_locks)
    holder.start()
    try:
        assert holding.wait(timeout=30)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            (result,) = services.post_transfers([earn(second, "not-waiting", 5)])
        assert result.status == "created"
    finally:
        done.set()
        holder.join(timeout=30)
    assert balance_of(second).available == 6
    assert discrepancies() == []
