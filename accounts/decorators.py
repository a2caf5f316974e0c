"""The gate of every partner page: the signed-in person's company, from their membership.

Pages of every app (the portal's, the catalog's) open with ``member_required``, so it lives with the
people and their companies rather than with any one app's pages. A person without a company is told so
(403); vendor staff, who belong to none, are sent to the CMS.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from accounts.queries import membership_of


def member_required(view):
    """Let only a partner's people in; the view finds their membership on ``request.membership``."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        membership = membership_of(request.user)
        if membership is None:
            if request.user.is_staff:
                return redirect("wagtailadmin_home")
            return render(request, "accounts/no_company.html", status=403)
        request.membership = membership
        return view(request, *args, **kwargs)

    return wrapper
