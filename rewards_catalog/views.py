"""The catalog in the portal: browse, redeem, and follow the company's redemptions.

As everywhere in the portal, the company is the signed-in person's membership (member_required), never
an id in the URL: a redemption is looked up among the company's own, so another company's id is a 404.
Every change is a call to rewards_catalog.services; its errors are shown on the form.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.decorators import member_required
from portal.ledger.queries import balance_of
from rewards_catalog import queries, services
from rewards_catalog.forms import RedeemForm
from rewards_catalog.models import Redemption
from rewards_catalog.workflow import REDEMPTION_FLOW

ITEMS_PER_PAGE = 24
REDEMPTIONS_PER_PAGE = 25


@member_required
@require_http_methods(["GET"])
def catalog(request):
    membership = request.membership
    partner = membership.partner
    now = timezone.now()
    items = queries.shown_items(partner, now=now)
    categories = list(queries.categories_in_use(partner))
    category = next((c for c in categories if c.slug == request.GET.get("category")), None)
    if category is not None:
        items = items.filter(category=category)
    search = request.GET.get("q", "").strip()[:100]
    if search:
        items = queries.search_items(items, search)
    balance = balance_of(partner)
    reach = request.GET.get("reach") == "1"
    offers = queries.offers_for(partner, items, now=now, balance=balance)
    if reach:
        offers = [offer for offer in offers if offer.within_reach and offer.unavailable is None]
    offers.sort(key=lambda offer: offer.unavailable is not None)  # what the company may redeem first, by cost
    page = Paginator(offers, ITEMS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "balance": balance,
        "categories": categories,
        "category": category,
        "search": search,
        "reach": reach,
        "page": page,
        "may_redeem": membership.may_redeem,
        "filtered": bool(category or search or reach),
    }
    return render(request, "rewards_catalog/catalog.html", context)


@member_required
@require_http_methods(["GET", "POST"])
def item_detail(request, pk):
    membership = request.membership
    partner = membership.partner
    item = get_object_or_404(queries.shown_items(partner), pk=pk)  # an item for others: not found
    balance = balance_of(partner)
    (offer,) = queries.offers_for(partner, [item], now=timezone.now(), balance=balance)
    form = RedeemForm(request.POST or None, item=item)
    if request.method == "POST" and form.is_valid():
        try:
            redemption = services.redeem(
                item,
                member=membership,
                quantity=form.cleaned_data["quantity"],
                shipping_address=form.cleaned_data.get("shipping_address"),
                cause=form.cleaned_data.get("cause"),
                request_key=form.cleaned_data["request_key"],
            )
        except ValidationError as error:
            _add_errors(form, error)
        except PermissionDenied as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _redeemed_message(redemption))
            return redirect("rewards_catalog:redemption", pk=redemption.pk)
    context = {
        "item": item,
        "offer": offer,
        "balance": balance,
        "form": form,
        "may_redeem": membership.may_redeem,
    }
    return render(request, "rewards_catalog/item.html", context, status=400 if form.errors else 200)


def _add_errors(form, error: ValidationError) -> None:
    """A service's error on the form: on its field when it names one the form shows, else above the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, field_messages in error.message_dict.items():
        form.add_error(field if field in form.fields else None, field_messages)


def _redeemed_message(redemption: Redemption) -> str:
    if redemption.status == Redemption.Status.FULFILLED:
        return _("Done! Your gift-card code is below; we have e-mailed it to you too.")
    return _("Redeemed: the points are held, and your account manager will approve it soon.")


@member_required
@require_http_methods(["GET"])
def redemptions(request):
    partner = request.membership.partner
    page = Paginator(queries.redemptions_of(partner), REDEMPTIONS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "rewards_catalog/redemptions.html", {"page": page, "balance": balance_of(partner)})


@member_required
@require_http_methods(["GET"])
def redemption_detail(request, pk):
    membership = request.membership
    redemption = get_object_or_404(queries.redemptions_of(membership.partner), pk=pk)
    context = {
        "redemption": redemption,
        "events": redemption.events.select_related("actor"),
        # Codes are money: read only by the company's own people (always so here; checked all the same).
        "codes": list(redemption.codes.order_by("pk")) if queries.may_read_codes(request.user, redemption) else [],
        "may_cancel": REDEMPTION_FLOW.may(redemption, "cancel", membership),
    }
    return render(request, "rewards_catalog/redemption.html", context)


@member_required
@require_POST
def cancel_redemption(request, pk):
    membership = request.membership
    redemption = get_object_or_404(queries.redemptions_of(membership.partner), pk=pk)
    try:
        services.cancel(redemption, member=membership, reason=request.POST.get("reason", "")[:1000])
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
    else:
        messages.success(request, _("Cancelled: the points it held are back in your balance."))
    return redirect("rewards_catalog:redemption", pk=redemption.pk)
