"""The activity page's filters: what a partner may ask for, checked before any query runs."""

import re
from datetime import UTC, datetime, time, timedelta
from urllib.parse import urlencode

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.inputs import CalendarDateField
from portal.ledger.models import Code
from portal.ledger.queries import EntryFilter, EntryKind

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CURSOR = re.compile(r"^(\d{1,20})\.(\d{1,20})$")


def cursor_of(entry) -> str:
    """Where the next page starts: after this entry (its moment in microseconds, and its id)."""
    return f"{(entry.effective_at - EPOCH) // timedelta(microseconds=1)}.{entry.id}"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self):
        super().__init__(format="%Y-%m-%d")


class ActivityFilterForm(forms.Form):
    source = forms.ChoiceField(label=_("Source"), required=False, choices=[("", _("All sources")), *Code.choices])
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("All kinds")), *EntryKind.choices])
    date_from = CalendarDateField(label=_("From"), required=False, widget=DateInput())
    date_to = CalendarDateField(label=_("To"), required=False, widget=DateInput())
    before = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_before(self):
        value = self.cleaned_data["before"]
        if not value:
            return None
        match = CURSOR.match(value)
        if not match:
            raise forms.ValidationError(_("This page link is broken; start again from the newest entries."))
        try:
            moment = EPOCH + timedelta(microseconds=int(match[1]))
        except OverflowError:
            raise forms.ValidationError(_("This page link is broken; start again from the newest entries.")) from None
        return moment, int(match[2])

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            self.add_error("date_to", _("The end date is before the start date."))
        return data

    def entry_filter(self, *, paged: bool = True) -> EntryFilter:
        """The filter the form asks for; with errors, no filter (the page says which field is wrong)."""
        if not self.is_valid():
            return EntryFilter()
        data = self.cleaned_data
        return EntryFilter(
            codes=(data["source"],) if data["source"] else (),
            kinds=(data["kind"],) if data["kind"] else (),
            since=_start_of(data["date_from"]) if data["date_from"] else None,
            until=_start_of(data["date_to"] + timedelta(days=1)) if data["date_to"] else None,
            before=data["before"] if paged else None,
        )

    def query(self, **changes) -> str:
        """The filters as a query string (only this form's own fields), with `changes` applied."""
        values = {name: self.data.get(name, "") for name in ("source", "kind", "date_from", "date_to")}
        values.update(changes)
        return urlencode({name: value for name, value in values.items() if value})

    @property
    def filtering(self) -> bool:
        return self.is_valid() and any(self.cleaned_data[f] for f in ("source", "kind", "date_from", "date_to"))


def _start_of(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))
