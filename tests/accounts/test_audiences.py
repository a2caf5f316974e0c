"""The programme's one rule of who an offer is for (``accounts.audiences``): the pure rule at its edges, and its
SQL filter (``offered_to``) and the CMS's count (``audience_sizes``) agreeing with it over random partners and
audiences."""

from datetime import date

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from taggit.models import Tag

from accounts import audiences
from accounts.audiences import EVERYONE, AudienceTerms, Limit, PartnerFacts, includes, unmet
from accounts.models import Audience, Partner
from portal.tiers.models import PartnerTier, Tier
from portal.tiers.queries import audience_sizes, tier_id_in_sql
from rewards_catalog.models import Item
from tests.factories import PartnerFactory, audience

RESELLER_NORTH = PartnerFacts(kind="reseller", region="North", tier=2, tags=frozenset({7, 8}))


# --- The rule ----------------------------------------------------------------------------------------------


def test_no_audience_and_an_audience_that_asks_nothing_include_every_partner():
    nobody_in_particular = PartnerFacts(kind="distributor", region="")
    assert includes(None, nobody_in_particular) and includes(EVERYONE, nobody_in_particular)
    assert unmet(None, RESELLER_NORTH) is None


@pytest.mark.parametrize(
    ("terms", "limit"),
    [
        (AudienceTerms(partner_kinds=frozenset({"reseller", "distributor"})), None),
        (AudienceTerms(partner_kinds=frozenset({"distributor"})), Limit.PARTNER_KIND),
        (AudienceTerms(regions=frozenset({"North"})), None),
        (AudienceTerms(regions=frozenset({"north"})), Limit.REGION),  # a region is matched exactly
        (AudienceTerms(tiers=frozenset({1, 2})), None),
        (AudienceTerms(tiers=frozenset({3})), Limit.TIER),
        (AudienceTerms(tags=frozenset({8, 9})), None),  # one tag in common is enough
        (AudienceTerms(tags=frozenset({9})), Limit.TAG),
        (AudienceTerms(partner_kinds=frozenset({"reseller"}), regions=frozenset({"South"})), Limit.REGION),
        # every limit set and met
        (AudienceTerms(frozenset({"reseller"}), frozenset({"North"}), frozenset({2}), frozenset({7})), None),
    ],
)
def test_each_limit_set_must_be_met(terms, limit):
    assert unmet(terms, RESELLER_NORTH) == limit
    assert includes(terms, RESELLER_NORTH) is (limit is None)


def test_a_partner_without_a_tier_is_in_no_audience_of_some_tiers_but_in_one_of_every_tier():
    untiered = PartnerFacts(kind="reseller", region="North", tier=None)
    assert unmet(AudienceTerms(tiers=frozenset({1})), untiered) == Limit.TIER
    assert includes(AudienceTerms(regions=frozenset({"North"})), untiered)


def test_the_first_limit_unmet_is_the_tier_then_the_kind_then_the_region_then_the_tags():
    outsider = PartnerFacts(kind="point_of_sale", region="Eilat", tier=None, tags=frozenset())
    terms = AudienceTerms(frozenset({"reseller"}), frozenset({"North"}), frozenset({2}), frozenset({7}))
    assert unmet(terms, outsider) == Limit.TIER
    assert unmet(AudienceTerms(terms.partner_kinds, terms.regions, tags=terms.tags), outsider) == Limit.PARTNER_KIND
    assert unmet(AudienceTerms(regions=terms.regions, tags=terms.tags), outsider) == Limit.REGION
    assert unmet(AudienceTerms(tags=terms.tags), outsider) == Limit.TAG


@pytest.mark.django_db
def test_terms_and_facts_come_from_the_rows(django_assert_num_queries):
    gold = Tier.objects.create(name="Gold", threshold=5_000)
    vip = Tag.objects.create(name="vip", slug="vip")
    made = audience(kinds=["reseller"], regions=["North"], tiers=[gold], tags=[vip])
    assert audiences.terms_of(made) == AudienceTerms(
        frozenset({"reseller"}), frozenset({"North"}), frozenset({gold.pk}), frozenset({vip.pk})
    )
    assert audiences.terms_of(None) is None

    partner = PartnerFactory(kind="reseller", region="North")
    partner.tags.add(vip)
    assert audiences.facts_of(partner, tier_id=gold.pk) == PartnerFacts(
        "reseller", "North", gold.pk, frozenset({vip.pk})
    )

    for n in range(3):
        Item.objects.create(title=f"For them {n}", kind="goods", cost_points=10, audience=made)
    with django_assert_num_queries(3):  # the items with their audiences, then the audiences' tiers and tags
        terms = [audiences.terms_of(item.audience) for item in audiences.with_terms(Item.objects.all())]
    assert set(terms) == {audiences.terms_of(made)}


# --- The rule in SQL agrees with the rule in Python --------------------------------------------------------

KINDS = [kind for kind, _ in Partner.Kind.choices]
REGIONS = ["North", "South", "Center"]
kinds = st.frozensets(st.sampled_from(KINDS), max_size=2)
regions = st.frozensets(st.sampled_from(REGIONS), max_size=2)
indexes = st.frozensets(st.integers(0, 2), max_size=2)
an_audience = st.tuples(kinds, regions, indexes, indexes)  # kinds, regions, tier indexes, tag indexes
a_partner = st.tuples(
    st.sampled_from(KINDS),
    st.sampled_from(REGIONS),
    st.none() | st.integers(0, 2),  # its tier's index; None: not reviewed yet
    indexes,  # its tags' indexes
    st.sampled_from([Partner.Status.ACTIVE, Partner.Status.ACTIVE, Partner.Status.SUSPENDED]),
)


@pytest.fixture
def pool(db):
    """Three tiers and three tags that the random audiences and partners choose from."""
    tiers = [Tier.objects.create(name=f"Tier {n}", threshold=n * 1_000) for n in range(3)]
    tags = [Tag.objects.create(name=f"tag {n}", slug=f"tag-{n}") for n in range(3)]
    return tiers, tags


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(audience_specs=st.lists(an_audience, min_size=1, max_size=3), partner_specs=st.lists(a_partner, max_size=4))
def test_the_sql_filter_and_the_count_agree_with_the_rule(pool, audience_specs, partner_specs):
    tiers, tags = pool
    with transaction.atomic():
        made = [
            audience(kinds=k, regions=r, tiers=[tiers[i] for i in t], tags=[tags[i] for i in g])
            for k, r, t, g in audience_specs
        ]
        offers = {Item.objects.create(title=a.name, kind="goods", cost_points=1, audience=a).pk: a for a in made}
        offers[Item.objects.create(title="For everyone", kind="goods", cost_points=1).pk] = None
        partners = []
        for kind, region, tier, tag_indexes, status in partner_specs:
            partner = PartnerFactory(kind=kind, region=region, status=status)
            partner.tags.add(*(tags[i] for i in tag_indexes))
            if tier is not None:
                PartnerTier.objects.create(
                    partner=partner, tier=tiers[tier], earned_tier=tiers[tier], since=date(2026, 1, 1)
                )
            partners.append((partner, tiers[tier].pk if tier is not None else None))

        expected_sizes = {}
        for partner, tier_id in partners:
            facts = audiences.facts_of(partner, tier_id=tier_id)
            in_python = {pk for pk, a in offers.items() if includes(audiences.terms_of(a), facts)}
            for tier in (tier_id, tier_id_in_sql(partner)):  # the tier given, or read in the same query
                offered = Item.objects.filter(audiences.offered_to(partner, tier_id=tier))
                assert set(offered.values_list("pk", flat=True)) == in_python
            if partner.status == Partner.Status.ACTIVE:
                for a in made:
                    expected_sizes[a.pk] = expected_sizes.get(a.pk, 0) + includes(audiences.terms_of(a), facts)
        sizes = audience_sizes([a.pk for a in made])
        assert {pk: sizes.get(pk, 0) for pk in expected_sizes} == expected_sizes
        assert all(sizes.get(a.pk, 0) == 0 for a in made if a.pk not in expected_sizes)
        transaction.set_rollback(True)  # each example starts from the same pool


@pytest.mark.django_db
def test_an_audience_in_use_cannot_be_deleted_and_says_what_uses_it():
    from django.db.models import ProtectedError

    made = audience("Resellers", kinds=["reseller"])
    Item.objects.create(title="Mug", kind="goods", cost_points=10, audience=made)
    assert audiences.offers_using(made) == ["Catalog item: Mug"]
    with pytest.raises(ProtectedError):
        made.delete()
    assert Audience.objects.filter(pk=made.pk).exists()
