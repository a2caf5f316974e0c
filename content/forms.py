"""The quiz as a form: one field per question, its choices by their ids, never which are right."""

from django import forms
from django.utils.translation import gettext_lazy as _

from content.blocks import choice_id

FIELD_PREFIX = "q-"


class QuizForm(forms.Form):
    """Radio buttons for a question with one right choice, tick boxes ("choose all that apply") for several.

    Built from the quiz's questions and choices only: what is right, and the explanations, are not in it."""

    def __init__(self, quiz, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for block in quiz.questions:
            children = block.value["choices"].bound_blocks
            choices = [(choice_id(i, child), child.value["text"]) for i, child in enumerate(children)]
            several = sum(1 for child in children if child.value["correct"]) > 1
            common = {
                "label": block.value["question"],
                "choices": choices,
                "error_messages": {
                    "required": _("Choose an answer."),
                    "invalid_choice": _("Choose one of the choices."),
                },
            }
            if several:
                field = forms.MultipleChoiceField(
                    widget=forms.CheckboxSelectMultiple, help_text=_("Choose all that apply."), **common
                )
            else:
                field = forms.ChoiceField(widget=forms.RadioSelect, **common)
            self.fields[FIELD_PREFIX + block.id] = field

    def answers(self) -> dict[str, list[str]]:
        """The choices made, by question id, as ``content.services.take_quiz`` takes them."""
        data = self.cleaned_data
        return {
            name.removeprefix(FIELD_PREFIX): value if isinstance(value, list) else [value]
            for name, value in data.items()
        }

    def add_answer_errors(self, errors: dict[str, list[str]]) -> None:
        """Put the service's refusals (by question id) on the questions' fields."""
        for question_id, messages in errors.items():
            name = FIELD_PREFIX + question_id
            self.add_error(name if name in self.fields else None, messages)
