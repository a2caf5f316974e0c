"""The Content-Security-Policy header: django-csp's middleware, with the policy in settings.

Two adjustments to the one policy:

- `frame-ancestors 'none'` overrides X-Frame-Options in browsers. A view that asks to be framed by our
  own pages (Wagtail's preview panel answers with X-Frame-Options: SAMEORIGIN) gets
  `frame-ancestors 'self'`, so the two headers always agree.
- Wagtail 8's admin still initialises some of its own widgets with inline scripts (the date and time
  pickers, InlinePanel, MultipleChooserPanel) and re-runs inline scripts in HTML it inserts. Under the
  admin's prefix, and only there, script-src also allows inline scripts; every other directive (no
  other origin, no framing) holds there too. The admin is for staff only, behind a second factor. The
  partner-facing portal, the sign-in pages and the API's docs never allow an inline script.
"""

from csp.constants import SELF, UNSAFE_INLINE
from csp.middleware import CSPMiddleware
from django.urls import reverse


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only=report_only)
        replace = dict(parts.replace or {})
        if response.get("X-Frame-Options", "").upper() == "SAMEORIGIN":
            replace["frame-ancestors"] = [SELF]
        if request.path_info.startswith(reverse("wagtailadmin_home")):
            replace["script-src"] = [SELF, UNSAFE_INLINE]
        parts.replace = replace or None
        return parts
