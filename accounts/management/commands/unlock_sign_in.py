"""Lift the failed-sign-in lock of an account, from every address: `manage.py unlock_sign_in EMAIL`."""

from django.core.management.base import BaseCommand

from accounts import sign_in_limits
from accounts.models import User


class Command(BaseCommand):
    help = "Forget an account's failed sign-ins, from every address, so its people can sign in at once."

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, *args, email, **options):
        sign_in_limits.lift_lock(email)
        known = User.objects.filter(email__iexact=email.strip()).exists()
        note = "" if known else " (no account has this address; nothing else to do)"
        self.stdout.write(f"Failed sign-ins of {email.strip().lower()} forgotten{note}.")
