"""Partner pages. Every view reads the company from the signed-in person's
membership, never from the URL, so no id in a URL can reach another company."""

import csv
from dataclasses import dataclass
from datetime import datetime, time

from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import get_language_bidi
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.decorators import member_required
from content.queries import next_quiz_for
from portal.earning import queries as erp
from portal.earning.services import load_programme
from portal.ledger.queries import (
    EntryFilter,
    entries_of,
    every_entry_of,
    points_account_of,
    points_summary,
)
from portal.tiers.models import Tier, TierChange
from portal.tiers.queries import EXPIRY_HORIZON_DAYS, expiring_soon, tier_card
from portal.web.badges import badge_for
from portal.web.entries import csv_header, csv_rows, entry_rows
from portal.web.forms import ActivityFilterForm, cursor_of
from portal.web.numbers import whole_number_format
from portal.web.points_chart import last_months, points_chart
from rewards_catalog.queries import reward_suggestions

LATEST_ENTRIES = 6
ORDER_ENTRIES = 200  # an order's own entries: its points, their release, its returns
ENTRIES_PER_PAGE = 50
ORDERS_PER_PAGE = 25
INVOICES_PER_PAGE = 25
TIER_CHANGES_PER_PAGE = 50
EARLY_PAYMENT_SUGGESTIONS = 3


def _account_id(partner) -> int | None:
    account = points_account_of(partner)
    return account.id if account else None


@member_required
@require_GET
def dashboard(request):
    partner = request.membership.partner
    now = timezone.now()
    months = last_months(timezone.localdate(now))
    since = timezone.make_aware(datetime.combine(months[0], time.min))
    summary = points_summary(partner, since=since, latest=LATEST_ENTRIES)
    context = {
        "partner": partner,
        "balance": summary.balance,
        # Without "until when" for pending points: the activity and orders pages say it, and here it cost a query.
        "rows": entry_rows(summary.latest, until_when=False),
        "chart": points_chart(summary.earned_by_month, months=months, mirrored=get_language_bidi()),
        "pay_early": _pay_early_todo(
            erp.invoices_to_pay_early(partner, today=timezone.localdate(now), limit=EARLY_PAYMENT_SUGGESTIONS)
        ),
        "rewards": _rewards_todo(reward_suggestions(partner, balance=summary.balance, now=now), summary.balance),
        "learn": _learn_todo(next_quiz_for(request.user, partner)),
        **_tier_context(partner),
        "expiring": expiring_soon(partner),
        "expiry_days": EXPIRY_HORIZON_DAYS,
    }
    return render(request, "web/dashboard.html", context)


def _tier_context(partner) -> dict:
    card = tier_card(partner)
    return {"card": card, "badge": badge_for(card.tier.colour) if card else None}


@dataclass(frozen=True)
class Todo:
    headline: str
    detail: str
    url: str = ""
    progress_percent: int | None = None  # how far the company is towards a reward it aims for


def _rewards_todo(suggestions, balance) -> list[Todo]:
    """A reward the company may redeem now, and the next one it is saving for (with how far it is)."""
    number = whole_number_format()
    todos = []
    if (offer := suggestions.redeemable) is not None:
        todos.append(
            Todo(
                _("Redeem %(item)s now: %(points)s points")
                % {"item": offer.item.display_title, "points": number(offer.item.cost_points)},
                _("Your company has %(points)s points available.") % {"points": number(balance.available)},
                url=reverse("rewards_catalog:item", args=[offer.item.pk]),
            )
        )
    if (offer := suggestions.next_goal) is not None:
        cost = offer.item.cost_points
        percent = _percent_towards(balance.available, cost)
        if offer.within_reach:
            detail = _("Your pending points will cover it once they become available.")
        else:
            detail = _("You have %(percent)s%% of the %(points)s points it costs.") % {
                "percent": percent,
                "points": number(cost),
            }
        todos.append(
            Todo(
                _("%(points)s more points for %(item)s")
                % {"points": number(offer.points_short), "item": offer.item.display_title},
                detail,
                url=reverse("rewards_catalog:item", args=[offer.item.pk]),
                progress_percent=percent,
            )
        )
    return todos


def _learn_todo(quiz) -> list[Todo]:
    """A quiz the person has not passed and may take now: what it earns the company."""
    if quiz is None:
        return []
    number = whole_number_format()
    return [
        Todo(
            _("Take the quiz “%(title)s”: %(points)s points") % {"title": quiz.title, "points": number(quiz.points)},
            _("Pass it and your company earns the points."),
            url=reverse("content:item", args=[quiz.pk]),
        )
    ]


def _percent_towards(available: int, cost: int) -> int:
    """Whole per cent of `cost` that `available` covers, rounded down (never 100 before it is reached)."""
    return max(0, min(100, available * 100 // cost)) if cost > 0 else 100


def _pay_early_todo(offers) -> list[Todo]:
    """The dashboard's "pay early" suggestions, worded here: as template tags they cost more than their query."""
    number = whole_number_format()
    return [
        Todo(
            _("Pay invoice %(id)s early: %(points)s points")
            % {"id": invoice.external_id, "points": number(offer.points)},
            _("Pay the %(amount)s %(currency)s still open by %(day)s.")
            % {
                "amount": formats.number_format(invoice.unpaid, 2, use_l10n=True, force_grouping=True),
                "currency": invoice.currency,
                "day": formats.date_format(offer.pay_by, "SHORT_DATE_FORMAT"),
            },
        )
        for invoice, offer in offers
    ]


@member_required
@require_GET
def tier(request):
    """The company's tier, what each tier gives, and every change of its tier with the reason."""
    partner = request.membership.partner
    changes = TierChange.objects.filter(partner=partner).select_related("from_tier", "to_tier")
    page = Paginator(changes, TIER_CHANGES_PER_PAGE).get_page(request.GET.get("page"))
    context = {"partner": partner, **_tier_context(partner), "tiers": list(Tier.objects.all()), "page": page}
    return render(request, "web/tier.html", context)


@member_required
@require_GET
def activity(request):
    form = ActivityFilterForm(request.GET)
    account_id = _account_id(request.membership.partner)
    rows = entries_of(account_id, form.entry_filter(), limit=ENTRIES_PER_PAGE + 1)
    entries = rows[:ENTRIES_PER_PAGE]
    context = {
        "partner": request.membership.partner,
        "form": form,
        "rows": entry_rows(entries),
        "filters": form.query(),
        "older": form.query(before=cursor_of(entries[-1])) if len(rows) > ENTRIES_PER_PAGE else None,
        "paged": bool(form.is_valid() and form.cleaned_data["before"]),
    }
    return render(request, "web/activity.html", context)


class _Echo:
    """csv.writer writes into this and gets the line back, so rows stream without a buffer."""

    def write(self, value):
        return value


@member_required
@require_GET
def activity_export(request):
    form = ActivityFilterForm(request.GET)
    if not form.is_valid():  # the activity page says which filter is wrong; never export what was not asked
        return redirect(f"{reverse('web:activity')}?{request.GET.urlencode()}")
    account_id = _account_id(request.membership.partner)
    entries = every_entry_of(account_id, form.entry_filter(paged=False))
    writer = csv.writer(_Echo())

    def lines():
        yield "\ufeff"  # a byte-order mark, so spreadsheets read the file as UTF-8 (Hebrew included)
        yield writer.writerow(csv_header())
        for row in csv_rows(entries):
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    filename = f"points-activity-{timezone.localdate().isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@member_required
@require_GET
def orders(request):
    partner = request.membership.partner
    page = Paginator(erp.orders_of(partner), ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "partner": partner,
        "page": page,
        "order_points": erp.order_points(list(page)),
        "returns": erp.returns_of(partner)[:ORDERS_PER_PAGE],
    }
    return render(request, "web/orders.html", context)


@member_required
@require_GET
def order_detail(request, external_id):
    partner = request.membership.partner
    order = erp.order_of(partner, external_id)
    if order is None:
        raise Http404("No such order in your company.")
    account_id = _account_id(partner)
    context = {
        "partner": partner,
        "order": order,
        "points": erp.order_points([order])[order.id],
        "rows": entry_rows(
            entries_of(account_id, EntryFilter(about=("order", order.external_id)), limit=ORDER_ENTRIES)
        ),
    }
    return render(request, "web/order_detail.html", context)


@member_required
@require_GET
def invoices(request):
    partner = request.membership.partner
    page = Paginator(erp.invoices_of(partner), INVOICES_PER_PAGE).get_page(request.GET.get("page"))
    now = timezone.now()
    rates = load_programme(now, now).rates
    today = timezone.localdate(now)
    context = {
        "partner": partner,
        "page": page,
        "offers": {i.id: erp.early_payment_offer(i, rates=rates, today=today) for i in page},
        "min_days": rates.early_payment_min_days,
    }
    return render(request, "web/invoices.html", context)


@member_required
@require_GET
def ping(request):
    """The cheapest signed-in page: the benchmark's yardstick for the dashboard."""
    return HttpResponse("ok", content_type="text/plain")
