from django.conf import settings
from django.urls import include, path
from django.views.generic import RedirectView
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.admin.views.reports.audit_logging import LogEntriesView
from wagtail.documents import urls as wagtaildocs_urls

from accounts.admin_views import administrators_only
from portal.health import PortalHealthView
from portal.web import account_views

urlpatterns = [
    path("health/", PortalHealthView.as_view(), name="health"),
    # Staff sign in through allauth too, so its rate limits (and MFA) hold for the CMS.
    path("cms/login/", RedirectView.as_view(pattern_name="account_login", query_string=True)),
    # Site history lists every portfolio's log entries: administrators only (the admin's own routes follow).
    path("cms/reports/site-history/", administrators_only(LogEntriesView.as_view())),
    path("cms/reports/site-history/results/", administrators_only(LogEntriesView.as_view(results_only=True))),
    path("cms/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    path("accounts/", include("allauth.urls")),
    # The language switch also saves a signed-in person's choice on their account (see the view).
    path("i18n/setlang/", account_views.set_language, name="set_language"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include("portal.earning.api")),
    path("rewards/", include("rewards_catalog.urls")),
    path("learn/", include("content.urls")),
    path("statements/", include("portal.statements.urls")),
    path("join/", include("referrals.urls")),  # the public application form, through a referral link
    path("", include("portal.web.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

urlpatterns += [
    # Wagtail's front-end sign-in (for private pages) is Django's plain LoginView: no rate limits, no
    # e-mail verification, no second factor. Everyone signs in through allauth instead.
    path("pages/_util/login/", RedirectView.as_view(pattern_name="account_login", query_string=True)),
    path("pages/", include(wagtail_urls)),
]
