"""The CMS's list and export of a questionnaire's or feedback form's answers (Wagtail's own, adjusted).

An account manager sees and downloads the answers of their portfolio's partners only (administrators:
all), and every text cell a spreadsheet would run as a formula is defused. The form pages use it through
``content.wagtail_hooks`` (models import no admin view).
"""

from wagtail.contrib.forms.views import SubmissionsListView

from accounts.queries import partners_visible_to
from portal.spreadsheets import spreadsheet_safe


class AnswersListView(SubmissionsListView):
    def get_base_queryset(self):
        return super().get_base_queryset().filter(partner__in=partners_visible_to(self.request.user))

    def preprocess_field_value(self, field, value, export_format):
        return spreadsheet_safe(super().preprocess_field_value(field, value, export_format))
