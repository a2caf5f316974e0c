"""The statements' CMS in the "Programme" menu: the runs (start one for a past month, resume one) and the
statements (download, earlier versions, regenerate), scoped to the user's portfolio. The policies are registered
here, at import, before any viewset builds its views (PortfolioScopedViewSetMixin insists on it). The statement
branding is a registered Wagtail setting (portal.statements.models)."""

from wagtail import hooks
from wagtail.permissions import register_permission_policy

from portal.statements.admin_views import (
    run_permission_policy,
    run_viewset,
    statement_permission_policy,
    statement_viewset,
)
from portal.statements.models import Statement, StatementRun

register_permission_policy(Statement, statement_permission_policy, exact_class=True)
register_permission_policy(StatementRun, run_permission_policy, exact_class=True)


@hooks.register("register_admin_viewset")
def register_statement_viewsets():
    return [statement_viewset, run_viewset]


@hooks.register("register_programme_menu_item")
def register_statements_menu_item():
    return statement_viewset.get_menu_item(order=280)


@hooks.register("register_programme_menu_item")
def register_statement_runs_menu_item():
    return run_viewset.get_menu_item(order=290)
