"""The tiers' CMS: administrators edit tiers; account managers grant tiers and read tier changes, only within
their portfolio, on every URL."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from portal.tiers import services
from portal.tiers.models import PartnerTier, Tier, TierChange, TierGrant
from portal.tiers.queries import programme_today
from tests.factories import AccountManagerFactory, PartnerFactory, ProgrammeAdministratorFactory, StaffFactory

pytestmark = pytest.mark.django_db

# What the CMS groups may do with tiers; the same as the tiers' roles migration gives them.
TIER_ROLES = {
    "Programme administrators": [
        "add_tier", "change_tier", "delete_tier", "view_tier", "change_tiersettings", "view_tiersettings",
        "add_tiergrant", "change_tiergrant", "view_tiergrant", "view_tierchange",
    ],
    "Account managers": ["add_tiergrant", "change_tiergrant", "view_tiergrant", "view_tierchange", "view_tier"],
}  # fmt: skip


@pytest.fixture(autouse=True)
def tier_roles(db):
    for name, codenames in TIER_ROLES.items():
        group = Group.objects.get(name=name)
        group.permissions.add(*Permission.objects.filter(content_type__app_label="tiers", codename__in=codenames))


@pytest.fixture
def tiers(db):
    return {
        "Member": Tier.objects.create(name="Member", name_he="חבר", threshold=0),
        "Silver": Tier.objects.create(name="Silver", name_he="כסף", threshold=10_000, multiplier="1.10"),
        "Gold": Tier.objects.create(name="Gold", name_he="זהב", threshold=25_000, multiplier="1.25"),
    }


def portfolio(word):
    manager = AccountManagerFactory(email=f"manager-{word.lower()}@vendor.example")
    partners = [PartnerFactory(name=f"{word} {n} Ltd", account_manager=manager) for n in range(3)]
    services.review_tiers([p.pk for p in partners], today=programme_today(), monthly=False)
    return manager, partners


@pytest.fixture
def alpha(tiers):
    return portfolio("Alpha")


@pytest.fixture
def bravo(tiers):
    return portfolio("Bravo")


def url(name, *args):
    return reverse(name, args=args)


def rows(page: str) -> str:
    """The listing's table body (the filters above it name every partner of the portfolio)."""
    start = page.index('class="listing')
    return page[start : page.index("</table>", start)]


def grant(partner, tier, manager, days=30, reason="Status match with another programme"):
    return services.grant_tier(
        partner, tier=tier, ends_on=programme_today() + timedelta(days=days), reason=reason, granted_by=manager
    )


# --- Tier definitions ---------------------------------------------------------------------------------


def test_an_administrator_adds_and_edits_tiers(client, tiers):
    client.force_login(ProgrammeAdministratorFactory())
    response = client.get(url("tier:index"))
    assert response.status_code == 200
    assert "Silver" in response.text and "Gold" in response.text
    form = {
        "name": "Platinum", "name_he": "פלטינום", "threshold": "60000", "multiplier": "1.50",
        "benefits": "A dedicated engineer", "benefits_he": "מהנדס ייעודי", "colour": "#1e3a5f",
    }  # fmt: skip
    assert client.post(url("tier:add"), form).status_code == 302
    platinum = Tier.objects.get(name="Platinum")
    assert (platinum.threshold, str(platinum.multiplier), platinum.benefit_lines) == (
        60_000,
        "1.50",
        ["A dedicated engineer"],
    )
    response = client.post(url("tier:edit", platinum.pk), {**form, "threshold": "65000", "colour": "blue"})
    assert response.status_code == 200  # not a colour: the form says so
    platinum.refresh_from_db()
    assert platinum.threshold == 60_000
    assert client.post(url("tier:edit", platinum.pk), {**form, "threshold": "65000"}).status_code == 302
    platinum.refresh_from_db()
    assert platinum.threshold == 65_000


def test_a_tier_partners_hold_is_not_deleted(client, alpha, tiers):
    client.force_login(ProgrammeAdministratorFactory())
    response = client.post(url("tier:delete", tiers["Member"].pk))
    assert response.status_code == 302
    assert Tier.objects.filter(pk=tiers["Member"].pk).exists()


def test_account_managers_and_other_staff_do_not_edit_tiers(client, alpha, tiers):
    manager, _ = alpha
    for user in (manager, StaffFactory()):
        client.force_login(user)
        assert client.get(url("tier:add")).status_code in (302, 403)
        response = client.post(url("tier:edit", tiers["Gold"].pk), {"name": "Gold", "threshold": "1"})
        assert response.status_code in (302, 403)
    assert Tier.objects.get(pk=tiers["Gold"].pk).threshold == 25_000


# --- Grants ---------------------------------------------------------------------------------------------


def test_a_manager_grants_a_tier_to_a_partner_of_the_portfolio(client, alpha, tiers):
    manager, (partner, *_) = alpha
    client.force_login(manager)
    ends_on = programme_today() + timedelta(days=90)
    response = client.post(
        url("tier_grant:add"),
        {
            "partner": partner.pk,
            "tier": tiers["Gold"].pk,
            "starts_on": programme_today().isoformat(),
            "ends_on": ends_on.isoformat(),
            "reason": "Status match: Gold at a competitor",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    grant_row = TierGrant.objects.get(partner=partner)
    assert (grant_row.tier, grant_row.granted_by, grant_row.ends_on) == (tiers["Gold"], manager, ends_on)
    status = PartnerTier.objects.get(partner=partner)
    assert status.tier == tiers["Gold"] and status.earned_tier == tiers["Member"]
    change = TierChange.objects.filter(partner=partner).first()
    assert (change.reason, change.to_tier, change.changed_by) == (TierChange.Reason.GRANTED, tiers["Gold"], manager)
    page = client.get(url("tier_grant:inspect", grant_row.pk)).text
    assert "Status match: Gold at a competitor" in page and "End early" in page


def test_the_grant_form_says_what_is_wrong(client, alpha, tiers):
    manager, (partner, *_) = alpha
    client.force_login(manager)
    today = programme_today()
    response = client.post(
        url("tier_grant:add"),
        {
            "partner": partner.pk,
            "tier": tiers["Gold"].pk,
            "starts_on": today.isoformat(),
            "ends_on": (today - timedelta(days=1)).isoformat(),
            "reason": "  ",
        },
    )
    assert response.status_code == 200
    assert not TierGrant.objects.exists()


def test_a_manager_never_grants_for_or_sees_a_partner_outside_the_portfolio(client, alpha, bravo, tiers):
    manager, own = alpha
    _, others = bravo
    theirs = grant(others[0], tiers["Gold"], bravo[0])
    mine = grant(own[0], tiers["Silver"], manager)
    client.force_login(manager)
    listing = client.get(url("tier_grant:index")).text
    assert own[0].name in listing
    for partner in others:
        assert partner.name not in listing
    response = client.post(
        url("tier_grant:add"),
        {
            "partner": others[1].pk,
            "tier": tiers["Gold"].pk,
            "starts_on": programme_today().isoformat(),
            "ends_on": (programme_today() + timedelta(days=10)).isoformat(),
            "reason": "Trying",
        },
    )
    assert response.status_code == 200  # not a choice: the form refuses it
    assert not TierGrant.objects.filter(partner=others[1]).exists()
    assert client.get(url("tier_grant:inspect", theirs.pk)).status_code == 404
    assert client.get(url("tier_grant:end", theirs.pk)).status_code == 404
    assert client.post(url("tier_grant:end", theirs.pk)).status_code == 404
    theirs.refresh_from_db()
    assert theirs.ended_early_on is None
    assert client.get(url("tier_grant:inspect", mine.pk)).status_code == 200
    with pytest.raises(Exception) as refused:
        grant(others[2], tiers["Gold"], manager)
    assert refused.type.__name__ == "PermissionDenied"


def test_a_manager_ends_a_grant_early_and_the_partner_keeps_what_it_earned(client, alpha, tiers):
    manager, (partner, *_) = alpha
    given = grant(partner, tiers["Gold"], manager)
    client.force_login(manager)
    page = client.get(url("tier_grant:end", given.pk))
    assert page.status_code == 200 and "End the grant today" in page.text
    assert client.post(url("tier_grant:end", given.pk)).status_code == 302
    given.refresh_from_db()
    assert (given.ended_early_on, given.ended_by) == (programme_today(), manager)
    assert PartnerTier.objects.get(partner=partner).tier == tiers["Member"]
    assert TierChange.objects.filter(partner=partner).first().reason == TierChange.Reason.GRANT_ENDED
    assert client.post(url("tier_grant:end", given.pk)).status_code == 302  # ended already: nothing changes
    given.refresh_from_db()
    assert given.ended_early_on == programme_today()
    assert TierChange.objects.filter(partner=partner, reason=TierChange.Reason.GRANT_ENDED).count() == 1
    assert "End early" not in client.get(url("tier_grant:inspect", given.pk)).text


def test_staff_without_the_permission_get_no_grant_pages(client, alpha, tiers):
    client.force_login(StaffFactory())
    manager, (partner, *_) = alpha
    given = grant(partner, tiers["Gold"], manager)
    for address in (url("tier_grant:index"), url("tier_grant:add"), url("tier_grant:inspect", given.pk)):
        assert client.get(address).status_code in (302, 403, 404)


# --- Tier changes ---------------------------------------------------------------------------------------


def test_a_manager_sees_only_the_tier_changes_of_the_portfolio(client, alpha, bravo, tiers):
    manager, own = alpha
    other_manager, others = bravo
    grant(own[1], tiers["Gold"], manager, reason="Alpha match")
    grant(others[1], tiers["Gold"], other_manager, reason="Bravo match")
    client.force_login(manager)
    listing = client.get(url("tier_change:index")).text
    for partner in own:
        assert partner.name in listing
    for partner in others:
        assert partner.name not in listing
    assert "Alpha match" in listing and "Bravo match" not in listing
    one = rows(client.get(url("tier_change:index"), {"partner": own[1].pk}).text)
    assert own[1].name in one and own[0].name not in one and "Granted" in one
    refused = client.get(url("tier_change:index"), {"partner": others[1].pk}).text
    assert others[1].name not in refused


def test_an_administrator_sees_every_partners_tier_changes(client, alpha, bravo):
    client.force_login(ProgrammeAdministratorFactory())
    listing = client.get(url("tier_change:index")).text
    for partner in [*alpha[1], *bravo[1]]:
        assert partner.name in listing


def test_the_programme_menu_offers_tiers_to_whom_may_use_them(client, alpha):
    manager, _ = alpha
    client.force_login(manager)
    home = client.get(reverse("wagtailadmin_home")).text
    assert url("tier_grant:index") in home and url("tier_change:index") in home
    assert url("tier:index") in home  # managers may read the tiers; only administrators change them
    client.force_login(ProgrammeAdministratorFactory())
    home = client.get(reverse("wagtailadmin_home")).text
    assert url("tier:index") in home and url("tier_grant:index") in home
