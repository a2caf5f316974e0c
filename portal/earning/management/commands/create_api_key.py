from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from portal.earning.keys import create_api_key


class Command(BaseCommand):
    help = (
        "Make a key for the ERP API and print it. The key is printed on the last line, once: only its hash is"
        " kept, so store it now (administrators can also make and revoke keys in the CMS)."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="What the key is for, e.g. 'SAP production'. Shown on its ledger entries.")

    def handle(self, *args, name, **options):
        try:
            key, plaintext = create_api_key(name=name)
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        self.stdout.write(f"API key {key.name!r} made; send it as 'Authorization: Bearer <key>'. The key:")
        self.stdout.write(plaintext)
