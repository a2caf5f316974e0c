"""The CMS's audiences (Programme → Audiences): administrators define them, account managers read them, other
staff see nothing; the list says whom each includes and how many active partners are in it now; an audience an
offer uses is not deleted, and its page says which offers use it."""

import re
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags
from taggit.models import Tag

from accounts.models import Audience, Partner
from portal.earning.models import Campaign
from portal.tiers.models import PartnerTier, Tier
from rewards_catalog.models import Item
from tests.factories import AccountManagerFactory, PartnerFactory, ProgrammeAdministratorFactory, StaffFactory, audience

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return re.sub(r"\s+", " ", strip_tags(response.content.decode()))


@pytest.fixture
def gold():
    return Tier.objects.create(name="Gold", name_he="זהב", threshold=5_000)


@pytest.fixture
def northern_gold_resellers(gold):
    return audience("Northern gold resellers", kinds=["reseller"], regions=["North"], tiers=[gold], tags=["vip"])


def in_tier(partner, tier):
    PartnerTier.objects.create(partner=partner, tier=tier, earned_tier=tier, since=date(2026, 1, 1))
    return partner


def form(**changes):
    return {"name": "Southern distributors", "partner_kinds": ["distributor"], "regions": ["South"], **changes}


# --- Who may do what -----------------------------------------------------------------------------------------


ROLES = {
    "administrator": ProgrammeAdministratorFactory,
    "manager": AccountManagerFactory,
    "staff without a group": StaffFactory,
}
# (role) -> may list and inspect, may add, edit and delete
MAY = {"administrator": (True, True), "manager": (True, False), "staff without a group": (False, False)}


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reads_and_changes_audiences_as_its_permissions_say(client, role, northern_gold_resellers):
    PartnerFactory(region="South")
    client.force_login(ROLES[role]())
    may_read, may_change = MAY[role]
    pk = northern_gold_resellers.pk

    for url in (reverse("audience:index"), reverse("audience:inspect", args=[pk])):
        assert (client.get(url).status_code == 200) is may_read, url
    for url in (reverse("audience:add"), reverse("audience:edit", args=[pk]), reverse("audience:delete", args=[pk])):
        assert (client.get(url).status_code == 200) is may_change, url

    client.post(reverse("audience:add"), form())
    assert Audience.objects.filter(name="Southern distributors").exists() is may_change
    client.post(reverse("audience:edit", args=[pk]), form(name="Renamed"))
    assert Audience.objects.filter(name="Renamed").exists() is may_change
    client.post(reverse("audience:delete", args=[pk]))
    assert Audience.objects.filter(pk=pk).exists() is not may_change


def test_the_programme_menu_lists_audiences_for_those_who_may_read_them(client):
    for factory, shown in [(ProgrammeAdministratorFactory, True), (AccountManagerFactory, True)]:
        client.force_login(factory())
        assert (reverse("audience:index") in client.get(reverse("wagtailadmin_home")).content.decode()) is shown


# --- The list --------------------------------------------------------------------------------------------------


def test_the_list_says_whom_each_audience_includes_and_how_many_active_partners_are_in_it(
    client, gold, northern_gold_resellers
):
    vip = Tag.objects.get(name="vip")
    for status in (Partner.Status.ACTIVE, Partner.Status.ACTIVE, Partner.Status.SUSPENDED):
        in_tier(PartnerFactory(kind="reseller", region="North", status=status), gold).tags.add(vip)
    in_tier(PartnerFactory(kind="reseller", region="North"), gold)  # without the tag
    PartnerFactory(kind="reseller", region="North").tags.add(vip)  # without a tier
    audience("Everyone in the South", regions=["South"])
    now = timezone.now()
    Campaign.objects.create(
        name="Spring", starts_at=now, ends_at=now + timedelta(days=9), audience=northern_gold_resellers
    )
    Item.objects.create(title="Mug", kind="goods", cost_points=10, audience=northern_gold_resellers)
    client.force_login(ProgrammeAdministratorFactory())

    table = text(client.get(reverse("audience:index"))).split("Active partners in it now")[1]

    # each row: its name, its actions, its kinds, regions, tiers, tags, the active partners in it now, its offers
    assert "Northern gold resellers Edit Inspect Delete Reseller North Gold vip 2 2 " in table  # two meet every limit
    assert "Everyone in the South Edit Inspect Delete Every kind South Every tier No tag needed 0 0 " in table


def test_the_list_costs_the_same_queries_for_many_audiences(client, django_assert_max_num_queries, gold):
    client.force_login(ProgrammeAdministratorFactory())
    audience("First", tiers=[gold], tags=["vip"])
    client.get(reverse("audience:index"))

    def cost():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("audience:index")).status_code == 200
        return len(queries)

    one = cost()
    for n in range(8):
        audience(f"More {n}", kinds=["reseller"], tiers=[gold], tags=[f"tag {n}"])
    assert cost() == one


# --- Making and editing ---------------------------------------------------------------------------------------


def test_an_administrator_makes_an_audience_choosing_from_the_regions_partners_have(client, gold):
    PartnerFactory(region="South")
    PartnerFactory(region="Haifa")
    vip = Tag.objects.create(name="vip", slug="vip")
    client.force_login(ProgrammeAdministratorFactory())
    page = client.get(reverse("audience:add")).content.decode()
    regions = set(re.findall(r'<input type="checkbox" name="regions" value="([^"]+)"', page))
    assert regions == {"Haifa", "South"}  # the regions partners are in
    assert re.search(rf'<input type="checkbox" name="tiers" value="{gold.pk}"', page)
    assert re.search(r'<input type="checkbox" name="partner_kinds" value="point_of_sale"', page)

    response = client.post(reverse("audience:add"), form(tiers=[gold.pk], tags=[vip.pk]))
    assert response.status_code == 302
    made = Audience.objects.get(name="Southern distributors")
    assert (made.partner_kinds, made.regions, list(made.tiers.all()), list(made.tags.all())) == (
        ["distributor"],
        ["South"],
        [gold],
        [vip],
    )


def test_the_form_refuses_a_taken_name_and_a_region_no_partner_has(client, northern_gold_resellers):
    client.force_login(ProgrammeAdministratorFactory())
    response = client.post(reverse("audience:add"), form(name="Northern gold resellers", regions=["Atlantis"]))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "name" in errors and "regions" in errors
    assert Audience.objects.count() == 1


def test_an_edited_audience_keeps_a_region_no_partner_has_any_more(client, northern_gold_resellers):
    client.force_login(ProgrammeAdministratorFactory())
    page = client.get(reverse("audience:edit", args=[northern_gold_resellers.pk])).content.decode()
    assert re.search(r'<input type="checkbox" name="regions" value="North"[^>]*checked', page)


# --- Deleting -----------------------------------------------------------------------------------------------------


def test_an_audience_a_campaign_uses_is_not_deleted_and_its_page_names_the_campaign(client, northern_gold_resellers):
    now = timezone.now()
    campaign = Campaign.objects.create(
        name="Spring push", starts_at=now, ends_at=now + timedelta(days=9), audience=northern_gold_resellers
    )
    client.force_login(ProgrammeAdministratorFactory())
    url = reverse("audience:delete", args=[northern_gold_resellers.pk])

    page = text(client.get(url))
    assert "in use, so it cannot be deleted" in page and "Campaign: Spring push" in page and "Yes, delete" not in page
    response = client.post(url, follow=True)
    assert "is in use, so it cannot be deleted" in text(response)
    assert Audience.objects.filter(pk=northern_gold_resellers.pk).exists()

    campaign.audience = None  # as the campaign's form saves it (Wagtail's reference index follows)
    campaign.save()
    response = client.post(url, follow=True)
    assert "Audience &#x27;Northern gold resellers&#x27; deleted." in text(response)
    assert list(Audience.objects.values_list("name", flat=True)) == []
    assert not Audience.objects.exists()


def test_the_campaign_form_chooses_an_audience_or_every_partner(client, northern_gold_resellers):
    client.force_login(ProgrammeAdministratorFactory())
    page = client.get(reverse("campaign:add")).content.decode()
    assert "Every partner" in page and "Northern gold resellers" in page
    assert 'name="partner_kinds"' not in page and 'name="regions"' not in page


def test_the_audience_pages_speak_hebrew_to_a_hebrew_reader(client, northern_gold_resellers):
    reader = ProgrammeAdministratorFactory()
    reader.language = "he"
    reader.save(update_fields=["language"])
    client.force_login(reader)
    listing = text(client.get(reverse("audience:index")))
    assert "קהלי יעד" in listing and "שותפים פעילים בו כעת" in listing and "זהב" in listing
    form = text(client.get(reverse("audience:add")))
    assert "סוגי שותפים" in form and "האזורים שיש בהם שותפים" in form
