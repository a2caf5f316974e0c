from django.core.management.base import BaseCommand

from portal.demo.seed import DEMO_PASSWORD, MAX_PARTNERS_PER_KIND, RECORDS, seed_demo


class Command(BaseCommand):
    help = (
        "Create the demo programme: staff, partners of every kind, their people, the earning rules, the gift"
        " catalog, the tiers and eight months of business sent through the product's own services (orders, returns,"
        " invoices and payments as the ERP sends them, redemptions, adjustments). Safe to run again: what"
        " exists is left as it is. A database seeded before the demo went through these services (its ledger"
        " keys were demo:<id>:<n>) holds a second, different history: drop and recreate it first."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--partners-per-kind",
            type=int,
            default=MAX_PARTNERS_PER_KIND,
            help=f"How many resellers, distributors and points of sale (at most {MAX_PARTNERS_PER_KIND} each).",
        )

    def handle(self, *args, partners_per_kind, **options):
        s = seed_demo(partners_per_kind=partners_per_kind)
        records = s.records
        self.stdout.write(
            f"Demo programme in {s.seconds:.1f} s: "
            f"{s.staff} staff ({s.staff_created} new), {s.partners} partners ({s.partners_created} new), "
            f"{s.people} partner people ({s.people_created} new), "
            f"{s.transfers:,} ledger transfers ({s.transfers_created:,} new)."
        )
        self.stdout.write(
            "History: "
            + ", ".join(
                f"{records.total(key):,} {label} ({records.created[key]:,} new)"
                for key, label in RECORDS
                if records.total(key)
            )
            + "."
        )
        if s.rules_set:
            self.stdout.write("Earning rules set for the demo: category multipliers and two campaigns.")
        if s.tiers_set:
            self.stdout.write(
                "Tiers set for the demo: Member, Silver (5,000), Gold (25,000) and Platinum (200,000 qualifying"
                " points); points expire after 8 months. Reviewed and expired week by week through the history."
            )
        if s.statements:
            self.stdout.write(
                f"Monthly statements: {s.statements:,} PDFs of the last months, made by the statements' run as on"
                " each month's 1st."
            )
        if not s.anything_created:
            self.stdout.write("Nothing new: the demo programme was already complete.")
        self.stdout.write(f"Sign in at /accounts/login/ with the password {DEMO_PASSWORD!r}:")
        width = max(len(who) for who, _ in s.logins)
        for who, email in s.logins:
            self.stdout.write(f"  {who.ljust(width)}  {email}")
