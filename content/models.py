"""The Learn section's pages and what partners' people did with them.

Pages (edited by account managers in Wagtail, English and Hebrew copies through Wagtail's localisation):

- ``LearnIndexPage``: the section; every other page type lives under it.
- ``ArticlePage``: a StreamField of rich text, images, product links and callouts. Its quiz, if any, is a
  child ``QuizPage``; the article earns nothing of its own, its quiz does.
- ``QuizPage``: questions with choices (one or several right), a pass mark, an explanation per question
  shown only after answering. Under an article or standing alone under the index.
- ``QuestionnairePage`` and ``FeedbackPage``: Wagtail form-builder pages (free text, choices, scales); the
  answers are ``FormAnswers`` rows, which Wagtail's Forms listing shows and exports.

Every page has an availability window and an audience (``accounts.Audience``; none: every partner); the
pages that earn (quizzes, questionnaires, feedback forms) have a points value. One item is one translation
group: its English and Hebrew pages share ``translation_key``, which the records below keep as
``item_key``, so a person earns once per item whichever language they took it in.

Records (written only by ``content.services``):

- ``QuizAttempt``: every attempt, its answers, its score.
- ``Completion``: the one earning record per person and item (unique), with the points given (fewer, or
  none, when the company's monthly cap was reached).
- ``MonthlyContentPoints``: a company's content points in a month of the programme's calendar; its row is
  the lock that makes the cap exact.
- ``ItemView``: who opened an item, once a day per person.
- ``ContentSettings``: the monthly cap and the wait before retrying a failed quiz.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from wagtail.admin.panels import FieldPanel, FieldRowPanel, InlinePanel, MultiFieldPanel
from wagtail.contrib.forms.models import FORM_FIELD_CHOICES, AbstractFormField, AbstractFormSubmission, FormMixin
from wagtail.contrib.forms.panels import FormSubmissionsPanel
from wagtail.contrib.settings.models import BaseGenericSetting, register_setting
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Page, PagePermissionTester

from content.blocks import ArticleBody, QuestionBlock
from content.form_builder import ContentFormBuilder
from content.forms import QuizForm

# --- Programme settings ----------------------------------------------------------------------------------


@register_setting(icon="doc-full")
class ContentSettings(BaseGenericSetting):
    """How much learning may earn a company, and how long a failed quiz waits."""

    monthly_cap_points = models.PositiveIntegerField(
        _("monthly cap per company (points)"),
        default=1_000,
        validators=[MaxValueValidator(1_000_000)],
        help_text=_(
            "The most points a company's people together earn from learning in a calendar month. "
            "A completion over it is recorded with no points. 0: no cap."
        ),
    )
    retry_wait_hours = models.PositiveIntegerField(
        _("wait before retrying a failed quiz (hours)"),
        default=24,
        validators=[MaxValueValidator(24 * 90)],
        help_text=_("A person who failed a quiz may take it again after this many hours. 0: at once."),
    )

    panels = [FieldPanel("monthly_cap_points"), FieldPanel("retry_wait_hours")]

    class Meta:
        verbose_name = _("learning")


# --- Pages -----------------------------------------------------------------------------------------------


class LearnPage(Page):
    """What every page of the Learn section has: when it is offered, and to whom."""

    available_from = models.DateTimeField(_("available from"), null=True, blank=True)
    available_until = models.DateTimeField(_("available until"), null=True, blank=True)
    audience = models.ForeignKey(
        "accounts.Audience",
        verbose_name=_("audience"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Who may see and take it. Empty: every partner."),
    )

    offer_panels = [
        MultiFieldPanel(
            [
                FieldPanel("audience"),
                FieldRowPanel([FieldPanel("available_from"), FieldPanel("available_until")]),
            ],
            heading=_("Who and when"),
        )
    ]

    # Partners reach these pages through the Learn section's views (/learn/), which check sign-in, the
    # company and the audience; Wagtail's own route (/pages/...) only sends them there (see `serve`).

    class Meta:
        abstract = True

    def clean(self):
        super().clean()
        if self.available_from and self.available_until and self.available_until <= self.available_from:
            raise ValidationError({"available_until": _("The end of the window must come after its start.")})

    def serve(self, request, *args, **kwargs):
        return redirect("content:item", page_id=self.pk)

    def serve_preview(self, request, mode_name):
        """Staff previews render the page as a partner reads it, answers hidden (see the templates)."""
        context = self.get_preview_context(request, mode_name)
        context["page"] = self
        context["preview"] = True
        return TemplateResponse(request, self.get_template(request), context)


class EarningPage(LearnPage):
    """A page that earns its points once per person: a quiz, a questionnaire, a feedback form."""

    points = models.PositiveIntegerField(
        _("points"),
        default=50,
        validators=[MinValueValidator(1), MaxValueValidator(100_000)],
        help_text=_("What the company earns when one of its people passes or completes it, once per person."),
    )

    offer_panels = [FieldPanel("points"), *LearnPage.offer_panels]

    class Meta:
        abstract = True


class LearnIndexPage(Page):
    """The Learn section: partners see the items under it that are offered to their company."""

    intro = RichTextField(_("introduction"), blank=True, features=["bold", "italic", "link"])

    content_panels = [*Page.content_panels, FieldPanel("intro")]
    subpage_types = ["content.ArticlePage", "content.QuizPage", "content.QuestionnairePage", "content.FeedbackPage"]
    max_count_per_parent = 1
    template = "content/learn_index_page.html"

    class Meta:
        verbose_name = _("learn section")

    def serve(self, request, *args, **kwargs):
        return redirect("content:learn")


class ArticlePage(LearnPage):
    """Product content to read; a child quiz proves it was learned."""

    summary = models.CharField(_("summary"), max_length=300, blank=True, help_text=_("Shown in the list."))
    body = StreamField(ArticleBody(), verbose_name=_("body"))

    content_panels = [*Page.content_panels, FieldPanel("summary"), FieldPanel("body")]
    settings_panels = [*LearnPage.offer_panels, *Page.settings_panels]
    parent_page_types = ["content.LearnIndexPage"]
    subpage_types = ["content.QuizPage"]
    template = "content/article_page.html"

    class Meta:
        verbose_name = _("article")


class QuizPage(EarningPage):
    """Questions with choices; passing (a score at or above the pass mark) earns the points.

    The right choices and the explanations are never rendered before an answer is stored: the question
    page shows the questions and choices only, the result page reads them from the stored attempt.
    """

    intro = models.CharField(_("introduction"), max_length=500, blank=True)
    pass_mark_percent = models.PositiveSmallIntegerField(
        _("pass mark (%)"),
        default=70,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text=_("The share of questions answered right that passes."),
    )
    questions = StreamField([("question", QuestionBlock())], verbose_name=_("questions"), min_num=1)

    content_panels = [
        *Page.content_panels,
        FieldPanel("intro"),
        FieldPanel("pass_mark_percent"),
        FieldPanel("questions"),
    ]
    settings_panels = [*EarningPage.offer_panels, *Page.settings_panels]
    parent_page_types = ["content.LearnIndexPage", "content.ArticlePage"]
    subpage_types: list[str] = []
    template = "content/quiz_page.html"

    class Meta:
        verbose_name = _("quiz")
        verbose_name_plural = _("quizzes")

    def get_preview_context(self, request, mode_name):
        return {**super().get_preview_context(request, mode_name), "form": QuizForm(self)}


class FormAnswers(AbstractFormSubmission):
    """The answers of one person to a questionnaire or feedback form (Wagtail lists and exports them)."""

    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    partner = models.ForeignKey("accounts.Partner", on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("answers")
        verbose_name_plural = _("answers")

    def get_data(self):
        return {**super().get_data(), "person": str(self.person), "partner": str(self.partner)}


class FormPage(FormMixin, EarningPage):
    """A questionnaire or a feedback form built with Wagtail's form builder; completing it earns."""

    intro = RichTextField(_("introduction"), blank=True, features=["bold", "italic", "link", "ol", "ul"])
    thank_you_text = RichTextField(_("thank-you text"), blank=True, features=["bold", "italic", "link"])

    form_builder = ContentFormBuilder
    content_panels = [
        FormSubmissionsPanel(),
        *Page.content_panels,
        FieldPanel("intro"),
        InlinePanel("form_fields", label=_("questions")),
        FieldPanel("thank_you_text"),
    ]
    settings_panels = [*EarningPage.offer_panels, *Page.settings_panels]
    parent_page_types = ["content.LearnIndexPage"]
    subpage_types: list[str] = []
    landing_page_template = "content/form_page.html"
    preview_modes = [("form", _("Form"))]

    class Meta:
        abstract = True

    def get_submission_class(self):
        return FormAnswers

    def permissions_for_user(self, user):
        return AnsweredFormPermissions(user, self)

    def get_data_fields(self):
        return [*super().get_data_fields(), ("person", _("person")), ("partner", _("partner"))]

    def serve(self, request, *args, **kwargs):
        return LearnPage.serve(self, request, *args, **kwargs)

    def serve_preview(self, request, mode_name):
        return LearnPage.serve_preview(self, request, mode_name)


class AnsweredFormPermissions(PagePermissionTester):
    """A form page that has answers is not deleted (Wagtail would delete its answers with it, and each is the
    record of points given): it is unpublished instead. A quiz may go; its attempts and completions stay."""

    def can_delete(self, ignore_bulk=False):
        return super().can_delete(ignore_bulk) and not FormAnswers.objects.filter(page=self.page).exists()


class QuestionnairePage(FormPage):
    template = "content/form_page.html"

    class Meta:
        verbose_name = _("questionnaire")


class FeedbackPage(FormPage):
    template = "content/form_page.html"

    class Meta:
        verbose_name = _("feedback form")


FIELD_TYPES = (*FORM_FIELD_CHOICES, ("scale", _("Scale (1 to 5, or the choices given)")))


class FormQuestion(AbstractFormField):
    """One question of a form page; a "scale" is answered on a row of radio buttons."""

    field_type = models.CharField(_("field type"), max_length=16, choices=FIELD_TYPES)
    field_type.required_on_save = True

    class Meta(AbstractFormField.Meta):
        abstract = True


class QuestionnaireQuestion(FormQuestion):
    page = ParentalKey(QuestionnairePage, on_delete=models.CASCADE, related_name="form_fields")


class FeedbackQuestion(FormQuestion):
    page = ParentalKey(FeedbackPage, on_delete=models.CASCADE, related_name="form_fields")


# --- What people did -------------------------------------------------------------------------------------


class Kind(models.TextChoices):
    QUIZ = "quiz", _("Quiz")
    QUESTIONNAIRE = "questionnaire", _("Questionnaire")
    FEEDBACK = "feedback", _("Feedback form")


class QuizAttempt(models.Model):
    """One attempt at a quiz: the choices made per question (by the blocks' ids) and the score."""

    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    partner = models.ForeignKey("accounts.Partner", on_delete=models.PROTECT, related_name="+")
    item_key = models.UUIDField(help_text="The quiz's translation key: the same in every language.")
    page = models.ForeignKey("wagtailcore.Page", on_delete=models.SET_NULL, null=True, related_name="+")
    language = models.CharField(max_length=8)
    answers = models.JSONField(help_text="{question id: [choice id, ...]}, as submitted.")
    correct_count = models.PositiveSmallIntegerField()
    question_count = models.PositiveSmallIntegerField()
    score_percent = models.PositiveSmallIntegerField()
    pass_mark_percent = models.PositiveSmallIntegerField()
    passed = models.BooleanField()
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["person", "item_key", "-created_at"], name="attempt_person_item_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(score_percent__lte=100), name="attempt_score_at_most_100"),
            models.CheckConstraint(
                condition=Q(correct_count__lte=models.F("question_count")), name="attempt_correct_le_count"
            ),
        ]

    def __str__(self):
        return f"{self.person} {self.item_key} {self.score_percent}%"


class Completion(models.Model):
    """A person passed a quiz or completed a form: the company earned `points` for it, once per person and item.

    `points` is what the ledger was given: the item's points, fewer when the month's cap was reached by
    this completion, 0 past it (`points_offered` is what the item was worth)."""

    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    partner = models.ForeignKey("accounts.Partner", on_delete=models.PROTECT, related_name="+")
    item_key = models.UUIDField()
    page = models.ForeignKey("wagtailcore.Page", on_delete=models.SET_NULL, null=True, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    title = models.CharField(max_length=255)
    points_offered = models.PositiveIntegerField()
    points = models.PositiveIntegerField()
    month = models.DateField(help_text="The first day of the programme's month it counts in.")
    attempt = models.OneToOneField(QuizAttempt, on_delete=models.PROTECT, null=True, related_name="completion")
    answers = models.OneToOneField(FormAnswers, on_delete=models.PROTECT, null=True, related_name="completion")
    transfer_key = models.CharField(max_length=120, blank=True, help_text="The ledger entry's key; empty: no points.")
    completed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["person", "item_key"], name="completion_once_per_person_item"),
            models.CheckConstraint(
                condition=Q(points__lte=models.F("points_offered")), name="completion_points_le_offered"
            ),
        ]
        indexes = [models.Index(fields=["partner", "month"], name="completion_partner_month_idx")]

    def __str__(self):
        return f"{self.person}: {self.title} ({self.points}/{self.points_offered})"

    @property
    def capped(self) -> bool:
        return self.points < self.points_offered


class MonthlyContentPoints(models.Model):
    """A company's learning points in one month of the programme's calendar.

    Its row is locked (``FOR NO KEY UPDATE``) by every completion of the company in that month, so two
    people finishing at the same moment are judged against the cap one after the other."""

    partner = models.ForeignKey("accounts.Partner", on_delete=models.PROTECT, related_name="+", db_index=False)
    month = models.DateField()
    points = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["partner", "month"], name="monthly_content_points_unique")]

    def __str__(self):
        return f"{self.partner_id} {self.month:%Y-%m}: {self.points}"


class ItemView(models.Model):
    """A person opened an item (counted once a day per person), for the managers' figures."""

    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    partner = models.ForeignKey("accounts.Partner", on_delete=models.CASCADE, related_name="+")
    item_key = models.UUIDField(db_index=True)
    page = models.ForeignKey("wagtailcore.Page", on_delete=models.SET_NULL, null=True, related_name="+")
    day = models.DateField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["person", "item_key", "day"], name="item_view_once_a_day")]

    def __str__(self):
        return f"{self.person_id} {self.item_key} {self.day}"
