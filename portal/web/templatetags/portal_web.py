"""The portal's own template tags: the header's navigation, and the words for a ledger entry."""

from dataclasses import dataclass, replace
from decimal import Decimal
from functools import cache

from django import template
from django.conf import settings
from django.urls import NoReverseMatch, get_script_prefix, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import get_language_info
from django.utils.translation import gettext as _

from accounts.queries import membership_of
from portal.ledger.wording import breakdown_of, parts_text
from portal.web import entries, points_chart

register = template.Library()

REWARDS_PATH = "/rewards/"


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    current: bool


@dataclass(frozen=True)
class Header:
    company: object | None
    items: list[NavItem]
    # The links and the tools (language, sign-out), rendered once: the page shows each twice,
    # in the bar on a wide screen and in the menu on a phone.
    nav: str = ""
    tools: str = ""


def url_or_none(name: str) -> str | None:
    """The URL of a page that another part of the portal may not have added yet."""
    return _url(name, get_script_prefix())


@cache
def _url(name: str, prefix: str) -> str | None:
    """URLs do not change while the process runs; every page's header asks for the same six."""
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


@cache
def _languages() -> list[dict]:
    """The languages to switch to, each named in itself ("עברית"): the same for every page."""
    return [get_language_info(code) for code, _name in settings.LANGUAGES]


@register.simple_tag(takes_context=True)
def portal_header(context) -> Header:
    """The company's name and the pages its member may open, the current one marked."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if request is None or user is None or not user.is_authenticated:
        return _rendered(context, Header(company=None, items=[]))
    if not hasattr(request, "membership"):
        request.membership = membership_of(user)
    membership = request.membership
    if membership is None:
        return _rendered(context, Header(company=None, items=[]))
    path = request.path
    invoices = url_or_none("web:invoices")
    pages = [
        (_("Dashboard"), url_or_none("web:dashboard"), lambda url: path == url),
        (_("Activity"), url_or_none("web:activity"), path.startswith),
        (_("Orders & invoices"), url_or_none("web:orders"), lambda url: path.startswith((url, invoices))),
        (_("Rewards"), REWARDS_PATH, path.startswith),
        (_("Learn"), url_or_none("content:learn"), path.startswith),
        (_("Statements"), url_or_none("statements:list"), path.startswith),
        (_("Refer a business"), url_or_none("web:refer"), path.startswith),
    ]
    people = url_or_none("web:people") if membership.may_manage_people else None
    if people:
        pages.append((_("Company"), people, path.startswith))
    account = url_or_none("web:account")
    if account:
        pages.append((_("Account"), account, path.startswith))
    items = [NavItem(label, url, is_current(url)) for label, url, is_current in pages]
    return _rendered(context, Header(company=membership.partner, items=items))


def _rendered(context, header: Header) -> Header:
    engine = context.template.engine
    with context.push(header=header, languages=_languages()):
        tools = engine.get_template("web/_site_tools.html").render(context)
    return replace(header, nav=_nav_links(header.items), tools=mark_safe(tools))  # rendered by the template engine


def _nav_links(items: list[NavItem]) -> str:
    """The links of the header, the current page marked (every page has them, twice: so not a template loop)."""
    if not items:
        return ""
    links = format_html_join(
        "",
        '<li><a href="{}"{}>{}</a></li>',
        ((item.url, mark_safe(' aria-current="page"') if item.current else "", item.label) for item in items),
    )
    return format_html('<ul class="nav-links">{}</ul>', links)


@register.filter
def breakdown(details) -> str:
    return breakdown_of(details)


@register.filter
def rows_html(rows) -> str:
    return entries.rows_html(rows)


@register.filter
def worded(record) -> str:
    """An order's, return's or payment's breakdown in the reader's language."""
    return parts_text(getattr(record, "breakdown_parts", None), record.breakdown)


@register.filter
def lookup(mapping, key):
    return mapping.get(key) if mapping else None


@register.filter
def chart_svg(chart):
    return points_chart.chart_svg(chart)


@register.filter
def chart_legend(chart):
    return points_chart.chart_legend(chart)


@register.filter
def chart_table_head(chart):
    return points_chart.chart_table_head(chart)


@register.filter
def chart_table_rows(chart):
    return points_chart.chart_table_rows(chart)


@register.filter
def factor(value) -> str:
    """A multiplier as the breakdown writes it: 1.25, 1.5, 2 (no trailing zeros)."""
    return f"{Decimal(value).normalize():f}"
