"""Who is in the demo programme: the vendor's staff, the partner companies and their people.

The vendor here roasts coffee and sells espresso machines through office-coffee
resellers, food-service distributors and the cafés, kiosks and bakeries that
pour it. Every company is written out by hand (name, web domain, region,
segment) so the demo reads like a real partner base in both languages; a
partner whose name is Hebrew speaks Hebrew.
"""

import random
import re
from dataclasses import dataclass

from accounts.models import Membership, Partner

DEMO_PASSWORD = "demo-password-2026"
SEED = "partner-programme-demo-2026"


@dataclass(frozen=True)
class StaffMember:
    email: str
    first_name: str
    last_name: str
    regions: tuple[str, ...] = ()  # the portfolio of an account manager
    is_superuser: bool = False


ADMINISTRATOR = StaffMember("admin@vendor.example", "Ruth", "Avidan", is_superuser=True)
ACCOUNT_MANAGERS = (
    StaffMember("dana@vendor.example", "Dana", "Katz", regions=("North", "Haifa", "Sharon")),
    StaffMember("yossi@vendor.example", "Yossi", "Ben-Ami", regions=("Center", "Tel Aviv")),
    StaffMember("maria@vendor.example", "Maria", "Rodriguez", regions=("Jerusalem", "Shfela", "South")),
)
ACCOUNT_MANAGERS_GROUP = "Account managers"

# The well-known partner of the demo: the first reseller, owned by this person.
NORTHWIND_DOMAIN = "northwind.example"
NORTHWIND_OWNER = f"owner@{NORTHWIND_DOMAIN}"

# (name, domain, region, segment), in a fixed order: the position decides the ERP id.
RESELLERS = [
    ("Northwind Traders", "northwind.example", "Tel Aviv", "office-coffee"),
    ("Blue Harbor Office Supply", "blueharbor.example", "Haifa", "office-coffee"),
    ("קפה לעבודה בע״מ", "coffee4work.example", "Center", "office-coffee"),
    ("Summit Workplace Solutions", "summit-workplace.example", "Jerusalem", "office-coffee"),
    ("Brightline Office Coffee", "brightline.example", "Sharon", "office-coffee"),
    ("מטבחי הגליל", "galil-kitchens.example", "North", "kitchenware"),
    ("Cedar & Co. Kitchenware", "cedarco.example", "Center", "kitchenware"),
    ("Redwood Hospitality Supply", "redwood-hs.example", "Tel Aviv", "catering"),
    ("שרון ציוד משרדי", "sharon-office.example", "Sharon", "office-coffee"),
    ("Meridian Office Services", "meridian-office.example", "Shfela", "office-coffee"),
    ("Silverleaf Trading", "silverleaf.example", "South", "kitchenware"),
    ("אספרסו פלוס", "espressoplus.example", "Tel Aviv", "vending"),
    ("Lighthouse Vending", "lighthouse-vending.example", "Haifa", "vending"),
    ("Harbor Point Retail", "harborpoint.example", "Haifa", "kitchenware"),
    ("כלי בית השפלה", "shfela-home.example", "Shfela", "kitchenware"),
    ("Oakridge Catering Equipment", "oakridge.example", "Center", "catering"),
    ("Pinewood Office Direct", "pinewood.example", "Jerusalem", "office-coffee"),
    ("משרד ירוק בע״מ", "green-office.example", "Center", "office-coffee"),
    ("Crescent Home & Kitchen", "crescent-home.example", "Sharon", "kitchenware"),
    ("Atlas Workplace Services", "atlas-ws.example", "Tel Aviv", "office-coffee"),
    ("הדר פתרונות מזנון", "hadar-pantry.example", "Sharon", "vending"),
    ("Greenfield Trading Co.", "greenfield.example", "North", "kitchenware"),
    ("Bluebird Coffee Systems", "bluebird-coffee.example", "Center", "vending"),
    ("אורן שירותי קפה", "oren-coffee.example", "Jerusalem", "office-coffee"),
    ("Copperline Espresso Service", "copperline.example", "Tel Aviv", "catering"),
    ("Keystone Office Pantry", "keystone-pantry.example", "Shfela", "office-coffee"),
    ("ים תיכון סחר", "yamtichon.example", "South", "kitchenware"),
    ("Westgate Supplies", "westgate.example", "Haifa", "office-coffee"),
    ("Sunrise Catering Equipment", "sunrise-catering.example", "South", "catering"),
    ("כרמל ציוד הסעדה", "carmel-catering.example", "Haifa", "catering"),
]
DISTRIBUTORS = [
    ("Eastern Mediterranean Foods", "emfoods.example", "Tel Aviv", "national"),
    ("הפצות השרון", "hafatzot-sharon.example", "Sharon", "regional"),
    ("Coastline Beverage Distribution", "coastline-bev.example", "Haifa", "horeca"),
    ("Galilee Food Partners", "galilee-food.example", "North", "regional"),
    ("מזרח משקאות בע״מ", "mizrah-drinks.example", "Jerusalem", "horeca"),
    ("Continental Beverage Group", "continental-bev.example", "Center", "national"),
    ("Prime Foodservice Distribution", "primefs.example", "Shfela", "horeca"),
    ("נגב הפצה ולוגיסטיקה", "negev-logistics.example", "South", "regional"),
    ("Harborline Wholesale", "harborline.example", "Haifa", "national"),
    ("Valley Fresh Distributors", "valleyfresh.example", "North", "regional"),
    ("גליל סחר סיטונאי", "galil-wholesale.example", "North", "regional"),
    ("Metro Cash Supply", "metrocash.example", "Tel Aviv", "national"),
    ("Orion Beverage Logistics", "orion-bev.example", "Center", "horeca"),
    ("שיווק מזון המרכז", "merkaz-food.example", "Center", "national"),
    ("Jordan Valley Trading", "jvtrading.example", "North", "regional"),
    ("Horizon Foodservice", "horizonfs.example", "Jerusalem", "horeca"),
    ("דרך הים הפצה", "derech-hayam.example", "Haifa", "horeca"),
    ("Bayside Wholesale", "bayside.example", "South", "regional"),
    ("Central Beverage Supply", "centralbev.example", "Center", "horeca"),
    ("עמק המשקאות", "emek-drinks.example", "North", "regional"),
    ("Golden Route Distribution", "goldenroute.example", "Shfela", "national"),
    ("Parkway Food Distributors", "parkway-food.example", "Sharon", "horeca"),
    ("ירושלים סיטונאות", "jlm-wholesale.example", "Jerusalem", "regional"),
    ("Seaport Trading House", "seaport-trading.example", "Haifa", "national"),
    ("Highland Beverage Co.", "highland-bev.example", "Jerusalem", "horeca"),
    ("הפצות הכרמל", "hafatzot-carmel.example", "Haifa", "regional"),
    ("Unity Wholesale Group", "unity-wholesale.example", "Tel Aviv", "national"),
    ("Trident Food Logistics", "trident-food.example", "South", "horeca"),
    ("אשכול שיווק והפצה", "eshkol-dist.example", "South", "regional"),
    ("Beacon Distribution Ltd", "beacon-dist.example", "Center", "horeca"),
]
POINTS_OF_SALE = [
    ("Café Lumen", "cafelumen.example", "Tel Aviv", "cafe"),
    ("קפה נחת", "cafe-nachat.example", "Jerusalem", "cafe"),
    ("The Corner Kiosk", "cornerkiosk.example", "Haifa", "kiosk"),
    ("Harbour Bistro", "harbourbistro.example", "Haifa", "restaurant"),
    ("Bean There Café", "beanthere.example", "Center", "cafe"),
    ("הקיוסק של שושי", "shoshi-kiosk.example", "Tel Aviv", "kiosk"),
    ("Olive & Thyme Restaurant", "olivethyme.example", "North", "restaurant"),
    ("Morning Ritual Coffee Bar", "morningritual.example", "Sharon", "cafe"),
    ("מאפיית לחם הארץ", "lechem-haaretz.example", "Shfela", "bakery"),
    ("Station 9 Minimarket", "station9.example", "South", "minimarket"),
    ("The Daily Grind", "dailygrind.example", "Tel Aviv", "cafe"),
    ("מכולת השכונה", "makolet-hashchuna.example", "Jerusalem", "minimarket"),
    ("Citrus Street Deli", "citrusdeli.example", "Center", "restaurant"),
    ("Blue Door Café", "bluedoor.example", "Sharon", "cafe"),
    ("ביסטרו הנמל", "bistro-hanamal.example", "Haifa", "restaurant"),
    ("Seaside Snack Bar", "seasidesnack.example", "South", "kiosk"),
    ("Little Italy Trattoria", "littleitaly.example", "Tel Aviv", "restaurant"),
    ("קפה ביאליק", "cafe-bialik.example", "Tel Aviv", "cafe"),
    ("Copper Kettle Bakery", "copperkettle.example", "North", "bakery"),
    ("Park Avenue Kiosk", "parkave-kiosk.example", "Center", "kiosk"),
    ("פיצה רחוב הרצל", "herzl-pizza.example", "Shfela", "restaurant"),
    ("Night Owl Convenience", "nightowl.example", "Tel Aviv", "minimarket"),
    ("Golden Crust Bakery", "goldencrust.example", "Jerusalem", "bakery"),
    ("מסעדת זית ולימון", "zait-limon.example", "North", "restaurant"),
    ("The Study Hall Café", "studyhall.example", "Jerusalem", "cafe"),
    ("Marina Coffee Corner", "marinacoffee.example", "Sharon", "cafe"),
    ("קפה גינה", "cafe-gina.example", "Center", "cafe"),
    ("Urban Pantry Market", "urbanpantry.example", "Haifa", "minimarket"),
    ("Tel Aviv Bagel Co.", "tlvbagel.example", "Tel Aviv", "bakery"),
    ("פיצוציית הלילה", "pitzutzia.example", "South", "kiosk"),
]
COMPANIES = {
    Partner.Kind.RESELLER: ("RS", 1000, RESELLERS),
    Partner.Kind.DISTRIBUTOR: ("DS", 2000, DISTRIBUTORS),
    Partner.Kind.POINT_OF_SALE: ("PS", 3000, POINTS_OF_SALE),
}
MAX_PARTNERS_PER_KIND = min(len(names) for _, _, names in COMPANIES.values())

# Segments every kind may belong to, besides its own (the last field above).
PROGRAMME_SEGMENTS = ["pioneers", "early-payers", "new-range-2026", "vip-service", "at-risk"]

# Position in each kind's list -> status; everyone else is active.
STATUS_BY_POSITION = {13: Partner.Status.APPLIED, 21: Partner.Status.SUSPENDED, 27: Partner.Status.APPLIED}

ENGLISH_FIRST = [
    "Emma", "Liam", "Olivia", "Noah", "Ava", "Ethan", "Sophia", "Lucas", "Mia", "James",
    "Chloe", "Daniel", "Grace", "Adam", "Leah", "Oliver", "Hannah", "Ben", "Zoe", "Sam",
]  # fmt: skip
ENGLISH_LAST = [
    "Carter", "Hughes", "Bennett", "Foster", "Reed", "Sullivan", "Brooks", "Ward", "Porter", "Hayes",
    "Cole", "Fischer", "Marsh", "Quinn", "Doyle", "Grant",
]  # fmt: skip
# (Hebrew, Latin for the e-mail address)
HEBREW_FIRST = [
    ("נועה", "noa"), ("יונתן", "yonatan"), ("מאיה", "maya"), ("איתי", "itai"), ("שירה", "shira"),
    ("עומר", "omer"), ("תמר", "tamar"), ("אביב", "aviv"), ("רוני", "roni"), ("מיכל", "michal"),
    ("אורי", "uri"), ("הילה", "hila"), ("גיא", "guy"), ("יעל", "yael"), ("עידו", "ido"), ("ליאור", "lior"),
]  # fmt: skip
HEBREW_LAST = [
    ("כהן", "cohen"), ("לוי", "levi"), ("מזרחי", "mizrahi"), ("פרץ", "peretz"), ("ביטון", "biton"),
    ("אברהם", "avraham"), ("פרידמן", "friedman"), ("שפירא", "shapira"), ("גולן", "golan"),
    ("אזולאי", "azulai"), ("בן דוד", "ben-david"), ("חדד", "hadad"),
]  # fmt: skip

_HEBREW = re.compile(r"[\u0590-\u05ff]")


@dataclass(frozen=True)
class PersonSpec:
    email: str
    first_name: str
    last_name: str
    role: Membership.Role


@dataclass(frozen=True)
class PartnerSpec:
    """A demo partner as the script defines it; its history is drawn from `rng_seed`."""

    kind: Partner.Kind
    number: int  # 1001, 2014...: the ERP id and the prefix of its order and invoice numbers
    name: str
    domain: str
    region: str
    segment: str
    status: Partner.Status
    language: Partner.Language
    tags: tuple[str, ...]
    people: tuple[PersonSpec, ...]

    @property
    def external_id(self) -> str:
        return f"{self.kind_prefix}-{self.number}"

    @property
    def kind_prefix(self) -> str:
        return COMPANIES[self.kind][0]

    @property
    def registration_number(self) -> str:
        # Israeli companies are numbered 51-xxxxxxx; 5198... keeps clear of the tests' factories.
        return f"5198{self.number:05d}"

    @property
    def rng_seed(self) -> str:
        return f"{SEED}:{self.external_id}"

    @property
    def is_northwind(self) -> bool:
        return self.domain == NORTHWIND_DOMAIN


def manager_for(region: str) -> StaffMember:
    return next(m for m in ACCOUNT_MANAGERS if region in m.regions)


def partner_specs(partners_per_kind: int) -> list[PartnerSpec]:
    """The first `partners_per_kind` companies of each kind, always the same ones."""
    if not 1 <= partners_per_kind <= MAX_PARTNERS_PER_KIND:
        raise ValueError(f"partners_per_kind must be between 1 and {MAX_PARTNERS_PER_KIND}")
    specs = []
    for kind, (_, base, companies) in COMPANIES.items():
        for position, (name, domain, region, segment) in enumerate(companies[:partners_per_kind]):
            specs.append(_partner_spec(kind, base + position + 1, position, name, domain, region, segment))
    return specs


def _partner_spec(kind, number, position, name, domain, region, segment) -> PartnerSpec:
    rng = random.Random(f"{SEED}:{kind}:{number}:directory")
    language = Partner.Language.HEBREW if _HEBREW.search(name) else Partner.Language.ENGLISH
    status = STATUS_BY_POSITION.get(position, Partner.Status.ACTIVE)
    extra_segments = rng.sample(PROGRAMME_SEGMENTS, k=rng.choice([0, 1, 1, 2]))
    return PartnerSpec(
        kind=kind,
        number=number,
        name=name,
        domain=domain,
        region=region,
        segment=segment,
        status=status,
        language=language,
        tags=tuple(sorted({segment, *extra_segments})),
        people=_people(kind, domain, status, language, rng),
    )


def _people(kind, domain, status, language, rng: random.Random) -> tuple[PersonSpec, ...]:
    """An owner, then a purchaser, salespeople and a viewer for some companies."""
    roles = [Membership.Role.OWNER]
    if domain == NORTHWIND_DOMAIN:
        roles += [Membership.Role.PURCHASER, Membership.Role.SALES, Membership.Role.SALES, Membership.Role.VIEWER]
    elif status != Partner.Status.APPLIED:
        if rng.random() < 0.7:
            roles.append(Membership.Role.PURCHASER)
        roles += [Membership.Role.SALES] * rng.choice([0, 1, 1, 2 if kind == Partner.Kind.DISTRIBUTOR else 1])
        if rng.random() < 0.25:
            roles.append(Membership.Role.VIEWER)

    hebrew = language == Partner.Language.HEBREW
    firsts = rng.sample(HEBREW_FIRST if hebrew else [(n, n.lower()) for n in ENGLISH_FIRST], k=len(roles))
    people = []
    for role, (first, first_latin) in zip(roles, firsts, strict=True):
        last, last_latin = rng.choice(HEBREW_LAST if hebrew else [(n, n.lower()) for n in ENGLISH_LAST])
        if role == Membership.Role.OWNER:
            email = NORTHWIND_OWNER if domain == NORTHWIND_DOMAIN else f"{first_latin}@{domain}"
        else:
            email = f"{first_latin}.{last_latin}@{domain}"
        people.append(PersonSpec(email=email, first_name=first, last_name=last, role=role))
    return tuple(people)
