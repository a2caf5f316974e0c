"""Wagtail's form builder with one more kind of question: a scale, answered on a row of radio buttons."""

from django import forms
from wagtail.contrib.forms.forms import FormBuilder

SCALE = [str(n) for n in range(1, 6)]


class ContentFormBuilder(FormBuilder):
    def create_scale_field(self, field, options):
        """1 to 5, or the steps the editor listed in the field's choices (e.g. "Poor, Fair, Good")."""
        steps = self.get_formatted_field_choices(field) if field.choices.strip() else [(n, n) for n in SCALE]
        return forms.ChoiceField(choices=steps, widget=forms.RadioSelect(attrs={"class": "scale"}), **options)
