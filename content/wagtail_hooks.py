"""Learning in the CMS: the form pages' answers are listed and exported by content's own view."""

from content.admin_views import AnswersListView
from content.models import FeedbackPage, QuestionnairePage

for form_page in (QuestionnairePage, FeedbackPage):
    form_page.submissions_list_view_class = AnswersListView
