"""The blocks account managers build articles and quizzes from."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.blocks.struct_block import StructBlockValidationError
from wagtail.images.blocks import ImageChooserBlock

TEXT_FEATURES = ["h2", "h3", "bold", "italic", "link", "ol", "ul"]


class ImageBlock(blocks.StructBlock):
    image = ImageChooserBlock(label=_("image"))
    alt_text = blocks.CharBlock(
        label=_("alternative text"), max_length=250, help_text=_("What the image shows, for screen readers.")
    )
    caption = blocks.CharBlock(label=_("caption"), max_length=250, required=False)

    class Meta:
        icon = "image"
        label = _("Image")
        template = "content/blocks/image.html"


class ProductLinkBlock(blocks.StructBlock):
    name = blocks.CharBlock(label=_("product"), max_length=120)
    url = blocks.URLBlock(label=_("link"))
    description = blocks.CharBlock(label=_("description"), max_length=250, required=False)

    class Meta:
        icon = "link"
        label = _("Product link")
        template = "content/blocks/product_link.html"


class CalloutBlock(blocks.StructBlock):
    tone = blocks.ChoiceBlock(
        label=_("kind"),
        choices=[("tip", _("Tip")), ("note", _("Note")), ("warning", _("Warning"))],
        default="tip",
    )
    text = blocks.RichTextBlock(label=_("text"), features=["bold", "italic", "link"])

    class Meta:
        icon = "help"
        label = _("Callout")
        template = "content/blocks/callout.html"


class ArticleBody(blocks.StreamBlock):
    text = blocks.RichTextBlock(label=_("Text"), features=TEXT_FEATURES)
    image = ImageBlock()
    product = ProductLinkBlock()
    callout = CalloutBlock()


class ChoiceBlock(blocks.StructBlock):
    text = blocks.CharBlock(label=_("choice"), max_length=300)
    correct = blocks.BooleanBlock(label=_("right answer"), required=False)

    class Meta:
        label = _("Choice")


class QuestionBlock(blocks.StructBlock):
    """A question; one or several of its choices are right (several: the person ticks all of them)."""

    question = blocks.CharBlock(label=_("question"), max_length=500)
    choices = blocks.ListBlock(ChoiceBlock(), label=_("choices"), min_num=2, max_num=10)
    explanation = blocks.RichTextBlock(
        label=_("explanation"),
        features=["bold", "italic", "link"],
        required=False,
        help_text=_("Shown after the person has answered."),
    )

    class Meta:
        icon = "help"
        label = _("Question")

    def clean(self, value):
        value = super().clean(value)
        if not any(choice["correct"] for choice in value["choices"]):
            message = _("Mark at least one choice as the right answer.")
            raise StructBlockValidationError(non_block_errors=[ValidationError(message)])
        return value


def choice_id(index: int, child) -> str:
    """A choice's id: the id Wagtail stored for it (kept in translated copies), its place for a legacy one."""
    return child.original_id or str(index)
