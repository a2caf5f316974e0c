"""Reads of stored statements and runs that the portal, the CMS and the e-mails share."""

from django.db.models import Q

from accounts.models import Partner, User
from accounts.queries import partners_visible_to, sees_all_partners
from portal.statements.models import Statement, StatementRun


def statements_of(partner: Partner):
    """A company's statements, newest month first (what its people may download)."""
    return Statement.objects.filter(partner=partner).order_by("-month")


def statements_visible_to(user: User):
    return Statement.objects.filter(partner__in=partners_visible_to(user))


def runs_visible_to(user: User):
    """Runs for the CMS: administrators see every run; an account manager the schedule's runs and their own."""
    runs = StatementRun.objects.all()
    if not sees_all_partners(user):
        runs = runs.filter(Q(started_by__isnull=True) | Q(started_by=user))
    return runs
