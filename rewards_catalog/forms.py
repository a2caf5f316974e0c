"""The redeem form: quantity, and what the item's kind asks for (an address for goods, a cause for donations)."""

import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from rewards_catalog.models import Item
from rewards_catalog.services import MAX_QUANTITY


class RedeemForm(forms.Form):
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=MAX_QUANTITY, initial=1)
    shipping_address = forms.CharField(
        label=_("Shipping address"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 4, "autocomplete": "street-address"}),
        help_text=_("Company name, street, city, postcode and a contact phone number."),
    )
    cause = forms.CharField(label=_("Cause to donate to"), max_length=200)
    # The form's own id: sent twice (a double click, a retry), it redeems once.
    request_key = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)

    def __init__(self, *args, item: Item, **kwargs):
        super().__init__(*args, **kwargs)
        self.item = item
        if item.kind != Item.Kind.GOODS:
            del self.fields["shipping_address"]
        if item.kind != Item.Kind.DONATION:
            del self.fields["cause"]
        elif item.causes:
            self.fields["cause"] = forms.ChoiceField(
                label=_("Cause to donate to"),
                choices=[(cause, cause) for cause in item.causes],
                widget=forms.RadioSelect,
            )
        if item.stock is not None:  # a hint for the browser; the service checks the stock under its lock
            self.fields["quantity"].widget.attrs["max"] = max(1, min(MAX_QUANTITY, item.stock))
