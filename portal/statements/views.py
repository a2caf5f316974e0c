"""The portal's Statements page: a company's monthly statements, each downloadable by its own people only.

A statement of another company answers 404, as if it did not exist. The files are served from the
statements' own storage (no public URL), marked private so no shared cache keeps them.
"""

from datetime import date

from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET

from accounts.decorators import member_required
from portal.statements.queries import statements_of

PER_PAGE = 24  # two years of statements a page


@member_required
@require_GET
def statements(request):
    partner = request.membership.partner
    page = Paginator(statements_of(partner), PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "statements/list.html", {"partner": partner, "page": page})


@member_required
@require_GET
def download(request, month: str):
    statement = statements_of(request.membership.partner).filter(month=_month(month)).first()
    if statement is None:
        raise Http404
    return statement_file_response(statement)


def statement_file_response(statement) -> FileResponse:  # a Statement or a StatementVersion
    """The statement's newest PDF, shown in the browser (a phone opens it), with its file name to save it."""
    response = FileResponse(statement.file.open("rb"), content_type="application/pdf", filename=statement.filename)
    patch_cache_control(response, private=True, no_store=True)
    return response


def _month(value: str) -> date:
    try:
        year, month = value.split("-")
        return date(int(year), int(month), 1)
    except ValueError:
        raise Http404 from None
