from django.core.management.base import BaseCommand, CommandError

from portal.ledger.queries import discrepancies


class Command(BaseCommand):
    help = "Verify every invariant of the points ledger; exit non-zero naming what disagrees."

    def handle(self, *args, **options):
        problems = discrepancies()
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"The ledger disagrees with itself in {len(problems)} place(s).")
        self.stdout.write(self.style.SUCCESS("The ledger balances: every invariant holds."))
