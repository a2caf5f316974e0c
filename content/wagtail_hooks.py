"""Learning in the CMS: the "Learning report" in the "Programme" menu, its exports, and Wagtail's form
submission pages answered by the portfolio-scoped views of ``content.admin_views``.

The submission routes are registered with a lower order than ``wagtail.contrib.forms`` registers its own, so
they come first in the admin's URLs and Wagtail's unscoped views are never reached by those paths.
"""

from django.urls import path
from wagtail import hooks

from content import admin_views


@hooks.register("register_admin_urls", order=-10)
def register_scoped_form_submission_urls():
    return [
        path("forms/submissions/<int:page_id>/", admin_views.form_submissions, name="content_form_submissions"),
        path(
            "forms/submissions/<int:page_id>/results/",
            admin_views.form_submissions,
            {"results_only": True},
            name="content_form_submissions_results",
        ),
        path(
            "forms/submissions/<int:page_id>/delete/",
            admin_views.refuse_deleting_submissions,
            name="content_form_submissions_delete",
        ),
    ]


@hooks.register("register_admin_urls")
def register_learning_report_urls():
    return [
        path("learning/report/", admin_views.LearningReportView.as_view(), name="content_learning_report"),
        path("learning/report/<uuid:item_key>/attempts.csv", admin_views.attempts_export, name="content_attempts_csv"),
        path("learning/report/<uuid:item_key>/answers.csv", admin_views.answers_export, name="content_answers_csv"),
    ]


@hooks.register("register_programme_menu_item")
def register_learning_report_menu_item():
    return admin_views.learning_report_menu_item()
