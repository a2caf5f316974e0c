"""Make the Learn section (English and Hebrew) under the site's home page, and let the CMS groups edit it."""

from django.core.management.base import BaseCommand

from content.services import open_learn_section


class Command(BaseCommand):
    help = "Creates the Learn section in English and Hebrew if it is missing (safe to run twice)."

    def handle(self, *args, **options):
        section = open_learn_section()
        self.stdout.write(f"Learn section: page {section.english.pk} (English), {section.hebrew.pk} (Hebrew)")
