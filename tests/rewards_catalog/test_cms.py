"""The catalog's CMS: the approval queue scoped to the manager's portfolio on every URL, the steps, the code
pools (upload, remaining count, low-stock warning) and gift-card codes masked wherever they must be."""

import re

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils.html import strip_tags

from portal.ledger.queries import balance_of
from rewards_catalog import services
from rewards_catalog.admin_views import redemption_viewset
from rewards_catalog.models import CodePool, GiftCode, Item, Redemption
from tests.factories import AccountManagerFactory, ProgrammeAdministratorFactory, audience
from tests.rewards_catalog.factories import CodePoolFactory, GoodsFactory, company, csv_file, gift_card, tier

pytestmark = pytest.mark.django_db

Status = Redemption.Status
SECRET = "ALPHA-SECRET-9876"


def visible(response) -> str:
    """The page's text as a person reads it: each tag a space, spaces folded."""
    return re.sub(r"\s+", " ", strip_tags(re.sub(r"<[^>]+>", " ", response.content.decode())))


class Portfolio:
    """A manager with one partner that has a waiting goods redemption and a fulfilled gift card."""

    def __init__(self, word: str, code: str):
        self.manager = AccountManagerFactory(email=f"manager-{word.lower()}@vendor.example")
        self.owner = company(5_000, name=f"{word} Trading Ltd", account_manager=self.manager)
        self.waiting = services.redeem(
            GoodsFactory(title=f"{word} jacket"), member=self.owner, quantity=1, shipping_address=f"{word} street 1"
        )
        self.card = services.redeem(gift_card([code], title=f"{word} voucher"), member=self.owner, quantity=1)
        self.marks = (f"{word} Trading Ltd", f"{word} street 1", code)


@pytest.fixture
def alpha():
    return Portfolio("Alpha", SECRET)


@pytest.fixture
def bravo():
    return Portfolio("Bravo", "BRAVO-SECRET-5432")


def admin_urls(ids: list[int]) -> list[str]:
    """Every URL the redemptions' viewset routes, those taking an id filled with each of `ids`."""
    urls = []
    for pattern in redemption_viewset.get_urlpatterns():
        name = redemption_viewset.get_url_name(pattern.name)
        if "<" in str(pattern.pattern):
            urls += [reverse(name, args=[pk]) for pk in ids]
        else:
            urls.append(reverse(name))
    return urls


def test_every_redemption_url_answers_404_for_another_portfolios_ids(client, alpha, bravo):
    client.force_login(alpha.manager)
    theirs = [bravo.waiting.pk, bravo.card.pk]
    urls = admin_urls(theirs)
    assert len(urls) >= 3 + 4 * 2 + 1  # index, results, queue, queue results, inspect and the four steps

    for url in urls:
        for method in ("get", "post"):
            response = getattr(client, method)(url, {"note": "Sneaky"} if method == "post" else None)
            page = visible(response)
            for mark in bravo.marks:
                assert mark not in page, (method, url)
            if any(f"/{pk}/" in url for pk in theirs):
                assert response.status_code == 404, (method, url, response.status_code)

    bravo.waiting.refresh_from_db()
    assert bravo.waiting.status == Status.AWAITING_APPROVAL and balance_of(bravo.owner.partner).held > 0


def test_the_manager_sees_their_own_portfolio_and_an_administrator_all(client, alpha, bravo):
    client.force_login(alpha.manager)
    queue = visible(client.get(reverse("redemption:queue")))
    assert "Alpha Trading Ltd" in queue and "Bravo Trading Ltd" not in queue
    client.force_login(ProgrammeAdministratorFactory())
    queue = visible(client.get(reverse("redemption:queue")))
    assert "Alpha Trading Ltd" in queue and "Bravo Trading Ltd" in queue


def test_a_manager_approves_from_the_queue_then_ships_and_fulfils(client, alpha):
    client.force_login(alpha.manager)
    queue = reverse("redemption:queue")
    response = client.post(reverse("redemption:approve", args=[alpha.waiting.pk]), {"next": queue})
    assert response.status_code == 302 and response.url == queue
    client.post(reverse("redemption:ship", args=[alpha.waiting.pk]), {"note": "DHL 123"})
    client.post(reverse("redemption:fulfil", args=[alpha.waiting.pk]), {"note": "Delivered"})
    alpha.waiting.refresh_from_db()
    assert alpha.waiting.status == Status.FULFILLED and alpha.waiting.decided_by == alpha.manager
    page = visible(client.get(reverse("redemption:inspect", args=[alpha.waiting.pk])))
    assert "Approved → Shipped" in page and "DHL 123" in page


def test_rejecting_asks_why_and_gives_the_points_back(client, alpha):
    client.force_login(alpha.manager)
    url = reverse("redemption:reject", args=[alpha.waiting.pk])
    response = client.post(url, {"note": ""})
    assert response.status_code == 200 and "This field is required" in visible(response)
    held = balance_of(alpha.owner.partner).held
    client.post(url, {"note": "Discontinued model"})
    alpha.waiting.refresh_from_db()
    assert alpha.waiting.status == Status.REJECTED and alpha.waiting.reason == "Discontinued model"
    assert balance_of(alpha.owner.partner).held == held - alpha.waiting.points


def test_a_manager_who_may_only_read_redemptions_cannot_decide(client, alpha):
    readers = Group.objects.create(name="Readers")
    readers.permissions.add(
        Permission.objects.get(codename="access_admin"), Permission.objects.get(codename="view_redemption")
    )
    alpha.manager.groups.set([readers])
    client.force_login(alpha.manager)
    assert client.get(reverse("redemption:inspect", args=[alpha.waiting.pk])).status_code == 200
    for step in ("approve", "reject"):
        refused = client.post(reverse(f"redemption:{step}", args=[alpha.waiting.pk]), {"note": "x"})
        assert (refused.status_code, refused.url) == (302, reverse("wagtailadmin_home"))  # Wagtail's "denied"
    alpha.waiting.refresh_from_db()
    assert alpha.waiting.status == Status.AWAITING_APPROVAL


# --- Codes are money ----------------------------------------------------------------------------------------


def test_a_manager_sees_codes_masked_and_an_administrator_in_full(client, alpha):
    client.force_login(alpha.manager)
    inspect = reverse("redemption:inspect", args=[alpha.card.pk])
    page = visible(client.get(inspect))
    assert SECRET not in page and "****-9876" in page
    for url in (reverse("redemption:index"), reverse("code_pool:index")):
        assert SECRET not in visible(client.get(url))
    pool = alpha.card.item.code_pool
    pool_page = visible(client.get(reverse("code_pool:inspect", args=[pool.pk])))
    assert SECRET not in pool_page and "****-9876" in pool_page

    client.force_login(ProgrammeAdministratorFactory())
    assert SECRET in visible(client.get(inspect))


def test_code_texts_never_reach_a_subject_or_the_wrong_person(mailoutbox, django_capture_on_commit_callbacks):
    owner = company(1_000)
    owner.partner.account_manager = AccountManagerFactory()
    owner.partner.save()
    purchaser = company(0)  # a stranger, to be sure nobody else is written to
    with django_capture_on_commit_callbacks(execute=True):
        services.redeem(gift_card(["MAIL-CODE-000111"]), member=owner, quantity=1)
    assert [mail.to for mail in mailoutbox] == [[owner.user.email]]
    assert "MAIL-CODE-000111" in mailoutbox[0].body
    assert all("MAIL-CODE" not in mail.subject for mail in mailoutbox)
    assert purchaser.user.email not in [address for mail in mailoutbox for address in mail.to]


def test_the_pool_list_shows_what_is_left_and_warns_when_low(client):
    administrator = ProgrammeAdministratorFactory()
    plenty = CodePoolFactory(name="Plenty", low_stock_threshold=1)
    short = CodePoolFactory(name="Short", low_stock_threshold=5)
    services.upload_codes(plenty, file=csv_file(["P-0000001", "P-0000002"]), acting_user=administrator)
    services.upload_codes(short, file=csv_file(["S-0000001"]), acting_user=administrator)
    client.force_login(administrator)
    page = visible(client.get(reverse("code_pool:index")))
    assert re.search(r"Plenty Edit Inspect 2 1 ", page)
    assert re.search(r"Short Edit Inspect 1 low: upload more 5 ", page)
    assert "Only 1 code is left" in visible(client.get(reverse("code_pool:inspect", args=[short.pk])))


# --- Uploading codes ---------------------------------------------------------------------------------------------


def upload(client, pool, lines, name="codes.csv"):
    return client.post(reverse("code_pool:upload", args=[pool.pk]), {"file": csv_file(lines, name)})


def test_uploading_the_same_file_twice_adds_nothing_the_second_time(client):
    manager = AccountManagerFactory()
    pool = CodePoolFactory()
    client.force_login(manager)
    lines = ["code", "VOUCHER-00000001", "VOUCHER-00000002", "VOUCHER-00000003"]
    first = upload(client, pool, lines)
    assert first.status_code == 302 and GiftCode.objects.filter(pool=pool).count() == 3
    second = client.get(upload(client, pool, lines).url)
    assert "no code was added twice" in visible(second)
    assert GiftCode.objects.count() == 3


def test_a_code_already_in_any_pool_is_refused_with_its_row_and_nothing_is_added(client):
    manager = AccountManagerFactory()
    first_pool = CodePoolFactory(name="Bookshop 50")
    services.upload_codes(first_pool, file=csv_file(["BOOK-0000-1111"]), acting_user=manager)
    other_pool = CodePoolFactory()
    client.force_login(manager)

    response = upload(client, other_pool, ["code", "NEW-0000-0001", "BOOK-0000-1111", "NEW-0000-0002", "NEW-0000-0001"])

    page = visible(response)
    assert response.status_code == 200
    assert "2 rows have mistakes, so no code was added." in page
    assert "3 ****-1111 is already in the pool “Bookshop 50”" in page
    assert "5 the same code as row 2" in page
    assert "BOOK-0000-1111" not in page  # the refused code is named masked
    assert not GiftCode.objects.filter(pool=other_pool).exists()


def test_upload_refuses_a_file_that_is_not_text_or_has_no_codes(client):
    manager = AccountManagerFactory()
    pool = CodePoolFactory()
    client.force_login(manager)
    binary = client.post(reverse("code_pool:upload", args=[pool.pk]), {"file": _named(b"\xff\xfe\x00junk")})
    assert "not UTF-8" in visible(binary)
    empty = upload(client, pool, ["code", ""])
    assert "The file has no codes." in visible(empty)
    assert not GiftCode.objects.exists()


def _named(content: bytes):
    import io

    file = io.BytesIO(content)
    file.name = "codes.csv"
    return file


def test_a_partners_person_cannot_upload_codes():
    with pytest.raises(services.PermissionDenied):
        services.upload_codes(CodePoolFactory(), file=csv_file(["X-00000001"]), acting_user=company().user)
    assert not CodePool.objects.filter(codes__isnull=False).exists()


# --- The catalog itself --------------------------------------------------------------------------------------------


def test_a_manager_adds_a_catalog_item_with_its_limits(client):
    gold_resellers = audience("Gold resellers", kinds=["reseller"], tiers=[tier("Gold")])
    client.force_login(AccountManagerFactory())
    page = client.get(reverse("catalog_item:add")).content.decode()
    assert "Gold resellers" in page and "Every partner" in page
    response = client.post(
        reverse("catalog_item:add"),
        {
            "title": "Barista course",
            "title_he": "קורס בריסטה",
            "description": "Two days",
            "description_he": "",
            "kind": Item.Kind.EXPERIENCE,
            "cost_points": "2500",
            "stock": "12",
            "audience": gold_resellers.pk,
            "limit_per_period": "1",
            "limit_period": "year",
            "causes": "",
            "is_active": "on",
        },
    )
    assert response.status_code == 302, visible(response)[:2000]
    item = Item.objects.get(title="Barista course")
    assert item.audience == gold_resellers
    assert (item.limit_per_period, item.limit_period, item.stock) == (1, "year", 12)


def test_the_item_form_refuses_a_pool_for_goods_and_a_limit_without_its_period(client):
    client.force_login(AccountManagerFactory())
    pool = CodePoolFactory()
    response = client.post(
        reverse("catalog_item:add"),
        {"title": "Mug", "kind": Item.Kind.GOODS, "cost_points": "50", "code_pool": pool.pk, "limit_per_period": "2"},
    )
    page = visible(response)
    assert "Only gift cards draw codes from a pool." in page
    assert "Give both the number and the period, or neither." in page
    assert not Item.objects.exists()


def test_a_redeemed_item_is_not_deleted_but_its_manager_is_told_how_to_withdraw_it(client, alpha):
    client.force_login(alpha.manager)
    item = alpha.waiting.item
    response = client.post(reverse("catalog_item:delete", args=[item.pk]), follow=True)
    assert "has been redeemed, so it cannot be deleted" in visible(response)
    assert Item.objects.filter(pk=item.pk).exists()


def test_the_item_list_shows_each_items_audience_and_filters_by_it(client):
    resellers = audience("Resellers only", kinds=["reseller"])
    GoodsFactory(title="Reseller mug", audience=resellers)
    GoodsFactory(title="Mug for all")
    client.force_login(AccountManagerFactory())
    page = visible(client.get(reverse("catalog_item:index")))
    assert "Reseller mug" in page and "Resellers only" in page and "Mug for all" in page
    only = visible(client.get(reverse("catalog_item:index"), {"audience": resellers.pk}))
    assert "Reseller mug" in only and "Mug for all" not in only


def test_the_item_list_costs_the_same_queries_however_many_items_have_audiences(client):
    client.force_login(AccountManagerFactory())
    url = reverse("catalog_item:index")
    client.get(url)

    def cost():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    GoodsFactory(audience=audience(kinds=["reseller"]))
    one = cost()
    for n in range(6):
        GoodsFactory(audience=audience(regions=[f"Region {n}"]))
    assert cost() == one
