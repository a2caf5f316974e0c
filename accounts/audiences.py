"""Who an offer is for: the one audience rule of the programme, used by campaigns, catalog items, content.

``includes`` is the rule as a pure function over snapshots (``AudienceTerms`` of an ``Audience`` row,
``PartnerFacts`` of a partner), for code that judges many offers for one partner in memory.
``offered_to`` is the same rule in SQL, for lists: a filter that keeps the offers (rows with an
``audience`` foreign key) whose audience includes the partner, or that have none.

The partner's tier is passed in by the caller: accounts sits below ``portal.tiers`` and reads nothing of it.
"""

from dataclasses import dataclass
from enum import StrEnum

from django.db import models
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.text import capfirst

from accounts.models import Audience, Partner


@dataclass(frozen=True)
class AudienceTerms:
    """What an audience asks of a partner; an empty set does not limit."""

    partner_kinds: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    tiers: frozenset[int] = frozenset()  # tier ids
    tags: frozenset[int] = frozenset()  # taggit tag ids


@dataclass(frozen=True)
class PartnerFacts:
    """What the rule needs of a partner."""

    kind: str
    region: str
    tier: int | None = None  # the id of the partner's tier; None before the programme's first review
    tags: frozenset[int] = frozenset()


EVERYONE = AudienceTerms()


class Limit(StrEnum):
    """A kind of limit an audience sets, in the order ``unmet`` checks them (a page names the first unmet)."""

    TIER = "tier"
    PARTNER_KIND = "partner_kind"
    REGION = "region"
    TAG = "tag"


def unmet(terms: AudienceTerms | None, partner: PartnerFacts) -> Limit | None:
    """The first limit of the audience the partner does not meet, or None when it is in the audience."""
    if terms is None:
        return None
    if terms.tiers and partner.tier not in terms.tiers:
        return Limit.TIER
    if terms.partner_kinds and partner.kind not in terms.partner_kinds:
        return Limit.PARTNER_KIND
    if terms.regions and partner.region not in terms.regions:
        return Limit.REGION
    if terms.tags and not (terms.tags & partner.tags):
        return Limit.TAG
    return None


def includes(terms: AudienceTerms | None, partner: PartnerFacts) -> bool:
    """Whether the partner is in the audience (None: no audience, so every partner)."""
    return unmet(terms, partner) is None


def with_terms(offers: QuerySet, *, field: str = "audience") -> QuerySet:
    """The offers with their audience and its tiers and tags fetched alongside (two queries for the whole
    list), so that ``terms_of(offer.audience)`` asks nothing more of the database."""
    return offers.select_related(field).prefetch_related(f"{field}__tiers", f"{field}__tags")


def terms_of(audience: Audience | None) -> AudienceTerms | None:
    """The audience's terms (its tiers and tags a query each, unless prefetched: ``with_terms``)."""
    if audience is None:
        return None
    return AudienceTerms(
        partner_kinds=frozenset(audience.partner_kinds),
        regions=frozenset(audience.regions),
        tiers=frozenset(tier.pk for tier in audience.tiers.all()),
        tags=frozenset(tag.pk for tag in audience.tags.all()),
    )


def facts_of(partner: Partner, *, tier_id: int | None) -> PartnerFacts:
    """The partner's facts (its tags one query); `tier_id` from ``portal.tiers.queries.tier_of``."""
    return PartnerFacts(
        kind=partner.kind,
        region=partner.region,
        tier=tier_id,
        tags=frozenset(partner.tags.values_list("id", flat=True)),
    )


def audiences_including(partner: Partner, *, tier_id, whatever_the_tier: bool = False):
    """The audiences that include the partner, as a queryset (for a subquery). `tier_id`: the partner's tier id,
    None for none, or an expression that gives it (a subquery, so that a list costs no query for the tier).
    `whatever_the_tier`: also those the partner would be in at another tier (a catalog shows what a higher tier
    unlocks)."""
    tiers = Audience.tiers.through.objects.filter(audience=OuterRef("pk"))
    tags = Audience.tags.through.objects.filter(audience=OuterRef("pk"))
    partner_tags = partner.tags.values("id")
    conditions = [
        Q(partner_kinds=[]) | Q(partner_kinds__contains=[partner.kind]),
        Q(regions=[]) | Q(regions__contains=[partner.region]),
        ~Exists(tags) | Exists(tags.filter(tag_id__in=partner_tags)),
    ]
    if not whatever_the_tier:
        conditions.append(~Exists(tiers) | Exists(tiers.filter(tier_id=tier_id)))
    return Audience.objects.filter(*conditions)


def offered_to(partner: Partner, *, tier_id, field: str = "audience", whatever_the_tier: bool = False) -> Q:
    """A filter for offers whose `field` (an Audience foreign key) is empty or includes the partner; `tier_id` and
    `whatever_the_tier` as ``audiences_including`` takes them."""
    including = audiences_including(partner, tier_id=tier_id, whatever_the_tier=whatever_the_tier)
    return Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__in": including})


def _protecting_relations():
    """The foreign keys that point at an audience and keep it from being deleted (campaigns, catalog items,
    content pages...): read from the model, so accounts need know none of them."""
    return [r for r in Audience._meta.related_objects if r.on_delete is models.PROTECT]


def offers_using(audience: Audience, *, limit: int = 50) -> list[str]:
    """What points at the audience and keeps it from being deleted, each as "Kind: name"."""
    found = []
    for relation in _protecting_relations():
        model = relation.related_model
        for offer in model._default_manager.filter(**{relation.field.name: audience})[:limit]:
            found.append(f"{capfirst(model._meta.verbose_name)}: {offer}")
    return sorted(found)[:limit]


def with_offer_counts(audiences: QuerySet) -> QuerySet:
    """The audiences with `offer_count`: how many offers use each, counted in the same query."""
    total = Value(0)
    for relation in _protecting_relations():
        uses = (
            relation.related_model._default_manager.filter(**{relation.field.name: OuterRef("pk")})
            .order_by()
            .values(relation.field.name)
            .annotate(n=Count("pk"))
            .values("n")
        )
        total = total + Coalesce(Subquery(uses), 0)
    return audiences.annotate(offer_count=total)
