"""Settings for the partner loyalty portal: one module, every knob from the environment.

With nothing set, the project runs on its own embedded PostgreSQL, runs Celery
tasks in-process, caches in local memory and writes e-mail to files under
``var/``. ``DATABASE_URL``, ``REDIS_URL`` and ``EMAIL_URL`` switch each of those
to a real service. ``.env.example`` lists every variable.
"""

import sys
from pathlib import Path

import environ
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if (BASE_DIR / ".env").exists():
    env.read_env(BASE_DIR / ".env", parse_comments=True)

DEBUG = env.bool("DEBUG", default=True)
if DEBUG:
    SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-key-never-use-in-production")
else:
    SECRET_KEY = env("SECRET_KEY")
    if len(SECRET_KEY) < 50:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("SECRET_KEY must be set to at least 50 random characters when DEBUG is off.")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "portal.notices",  # the outbox every e-mail about a change leaves through; imports no other app
    "accounts",
    "portal.ledger",
    "portal.tiers",
    "portal.statements",
    "portal.earning",
    "portal.web",
    "rewards_catalog",
    "content",
    "referrals",
    "portal.demo",  # the demo programme: `manage.py seed_demo`
    "wagtail.contrib.settings",
    "wagtail.contrib.forms",  # questionnaires and feedback forms (content)
    "wagtail.contrib.simple_translation",  # "Translate this page": the Hebrew copy of a page
    "wagtail.locales",
    "django.contrib.postgres",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.sites",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django_filters",
    "ninja",  # serves the ERP API's docs (Swagger UI) from our own static files, not a CDN
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "pgtrigger",
    "health_check",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "portal.content_security.ContentSecurityPolicyMiddleware",  # the CSP header (settings: Security)
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "portal.inputs.RefuseNulMiddleware",  # a NUL in a URL or a form: 400 before any view
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.PersonLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.StaffTwoFactorMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "portal" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: always PostgreSQL -------------------------------------------------
if env("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
else:
    from portal.embedded_db import database_settings

    DATABASES = {"default": database_settings(VAR_DIR / "pgdata")}
# Persistent connections belong to the production servers (gunicorn's and Celery's long-lived processes).
# The development server starts a thread per request and each thread would keep its own connection
# open for CONN_MAX_AGE: a burst of requests then exhausts PostgreSQL's connection slots. So
# `manage.py runserver` (make demo) opens a connection per request and closes it at the end.
_RUNSERVER = len(sys.argv) > 1 and sys.argv[1] == "runserver"
DATABASES["default"]["CONN_MAX_AGE"] = 0 if _RUNSERVER else env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Parameters bound on the server, and a statement run DB_PREPARE_THRESHOLD times on a connection is
# prepared: the pages run the same few queries on every request, and planning the dashboard's query
# costs PostgreSQL as much as running it. 0 turns preparing off (behind PgBouncer in transaction mode).
_prepare_threshold = env.int("DB_PREPARE_THRESHOLD", default=5)
DATABASES["default"].setdefault("OPTIONS", {}).update(
    server_side_binding=True, prepare_threshold=_prepare_threshold or None
)
DATABASES["default"].setdefault("TEST", {})["NAME"] = env("TEST_DATABASE_NAME", default="test_portal")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, Celery: Redis when REDIS_URL is set, in-process otherwise ----------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    # A ledger that disagrees with itself must be found the next morning, not at the month's statements.
    "check-ledger-nightly": {
        "task": "portal.ledger.tasks.check_ledger_task",
        "schedule": crontab(hour=2, minute=30),
        "options": {"expires": 6 * 60 * 60},  # a run late by hours is dropped: the next night's checks the same
    },
    # Tiers up (and, on the 1st, down after the grace period), points expired, warnings queued: after
    # midnight in the programme's calendar. Every batch is safe to run twice; a lost day is caught up the next.
    "tiers-and-expiry-daily": {
        "task": "portal.tiers.tasks.daily_run",
        "schedule": crontab(hour=0, minute=20),
        "options": {"expires": 20 * 60 * 60},
    },
    # Last month's statements, on the 1st after the tiers' monthly review (00:20) so they show the new tier.
    "statements-monthly": {
        "task": "portal.statements.tasks.monthly_run",
        "schedule": crontab(day_of_month=1, hour=2, minute=0),
        "options": {"expires": 20 * 60 * 60},
    },
    # Notices (e-mails about changes) go out when their change commits; this sweep sends any whose run was
    # lost, and retries those that failed.
    "deliver-notices": {
        "task": "portal.notices.tasks.deliver_notices",
        "schedule": 60.0,
        "options": {"expires": 60},
    },
}

# --- E-mail ---------------------------------------------------------------------
if env("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Partner programme <programme@example.com>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Users and sign-in ------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "web:dashboard"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = env("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = True
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_SESSION_REMEMBER = None
# Partners join by invitation or through an account manager, never by open sign-up.
ACCOUNT_ADAPTER = "accounts.adapters.PortalAccountAdapter"
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    # Failed sign-ins count per account *and* client address (accounts.sign_in_limits, the adapter): a
    # stranger's wrong passwords lock the stranger out, not the partner's office. 5 in 5 minutes from one
    # address is at most 60 an hour, so no single address reaches the account's own cap below; the cap
    # bounds guessing from many addresses. `manage.py unlock_sign_in EMAIL` lifts both.
    "login_failed": "10/m/ip,5/5m/key",
    "login_failed_account": env("LOGIN_FAILED_ACCOUNT_RATE_LIMIT", default="100/h/key"),
    # Invitations an owner may send: per company (key) and per person (user). Each asks for a mail to an
    # address the owner chose; the limit keeps the form from being a probe or a mail cannon.
    "invite": env("INVITATION_RATE_LIMITS", default="20/h/key,10/h/user"),
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
# Staff must have an authenticator app (accounts.middleware) and may not switch it off (this adapter).
MFA_ADAPTER = "accounts.adapters.PortalMFAAdapter"
MFA_TOTP_ISSUER = "Partner programme"
# Links in e-mails to partners (invitations) start with this.
PORTAL_BASE_URL = env("PORTAL_BASE_URL", default=env("WAGTAILADMIN_BASE_URL", default="http://127.0.0.1:8000"))

WAGTAIL_SITE_NAME = "Partner programme"
WAGTAILADMIN_BASE_URL = env("WAGTAILADMIN_BASE_URL", default="http://127.0.0.1:8000")
WAGTAILADMIN_LOGIN_URL = "account_login"
# Passwords are set, reset and changed through allauth only (its rate limits, notices, sign-out on change).
WAGTAIL_PASSWORD_MANAGEMENT_ENABLED = False
# Addresses change only through allauth, which verifies the new one before it counts.
WAGTAIL_EMAIL_MANAGEMENT_ENABLED = False
WAGTAIL_FRONTEND_LOGIN_URL = "/accounts/login/"
WAGTAIL_USER_CUSTOM_FIELDS: list = []
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
# Pages have an English and a Hebrew copy (Wagtail's localisation); a person reads their language's, or the
# English one where there is none (content's Learn section).
WAGTAIL_I18N_ENABLED = True
WAGTAIL_CONTENT_LANGUAGES = [("en", "English"), ("he", "Hebrew")]

# --- Languages ----------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("he", _("Hebrew"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["portal.formats"]  # fixes to Django's locale formats (Hebrew digit grouping)
USE_I18N = True
USE_TZ = True
TIME_ZONE = env("TIME_ZONE", default="UTC")
# The programme's calendar: the day points expire, the month a tier review or a statement covers.
PROGRAMME_TIME_ZONE = env("PROGRAMME_TIME_ZONE", default="Asia/Jerusalem")

# --- Static and media -----------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise serves from it; `collectstatic` fills it
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
# Statements are no media: nothing serves their folder; the download views read them through this storage.
STATEMENTS_ROOT = env.path("STATEMENTS_ROOT", default=VAR_DIR / "statements")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "statements": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": STATEMENTS_ROOT, "base_url": None},
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Security (manage.py check --deploy passes with DEBUG off) ----------------------------
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
BEHIND_TLS_PROXY = env.bool("BEHIND_TLS_PROXY", default=False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
# The language cookie is set by the language switch; nothing in the browser needs to read it.
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_HTTPONLY = True
# Behind the TLS proxy every request comes from the proxy's address: allauth's rate limits (per client
# address) read the client's from the X-Forwarded-For the proxy appends, counted from the right.
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=1 if BEHIND_TLS_PROXY else 0)

# Content Security Policy (django-csp, portal.content_security), in DEBUG too, so the demo and the tests
# see what production sends (django-csp leaves Django's debug pages for 404 and 500 without it). Scripts
# come only from our own static files: no inline script, no event-handler attribute, no other origin.
# Wagtail 8's admin (/cms/ only) still writes a few inline scripts of its own, so there script-src also
# allows inline (portal.content_security says which and why).
# Styles allow inline: Wagtail's admin sets style attributes throughout, and so do a few of our pages.
# data: images are Wagtail's icons and previews and Swagger UI's; blob: is Wagtail's image upload preview.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-src": ["'self'"],  # Wagtail's preview panel
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        # No page may be framed by another site, nor by our own (X_FRAME_OPTIONS = "DENY"), except a view
        # that asks for SAMEORIGIN itself: Wagtail's preview (portal.content_security).
        "frame-ancestors": ["'none'"],
    }
}
# Wagtail's admin would reach other origins: staff's Gravatar pictures (their e-mail's hash, to a third
# party) and wagtail.org's release check. Neither is needed; the policy would block both anyway.
WAGTAIL_GRAVATAR_PROVIDER_URL = None
WAGTAIL_ENABLE_UPDATE_CHECK = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="WARNING")},
}

# --- The programme ---------------------------------------------------------------------
# Manual adjustments above this many points wait for a second person's approval.
ADJUSTMENT_APPROVAL_THRESHOLD_POINTS = env.int("ADJUSTMENT_APPROVAL_THRESHOLD_POINTS", default=5_000)

# Referrals (referrals/): what a referred business must do to qualify, what each side earns, and the checks.
# The newcomer's first order of at least this value (the programme's currency, net), placed within this many
# days of its approval, and its first invoice paid: the referrer earns REFERRAL_POINTS, the newcomer
# REFERRAL_WELCOME_POINTS, each once.
REFERRAL_MIN_ORDER_VALUE = env("REFERRAL_MIN_ORDER_VALUE", default="1000.00")
REFERRAL_WINDOW_DAYS = env.int("REFERRAL_WINDOW_DAYS", default=90)
REFERRAL_POINTS = env.int("REFERRAL_POINTS", default=1_500)
REFERRAL_WELCOME_POINTS = env.int("REFERRAL_WELCOME_POINTS", default=500)
# More applications than this from one partner's link in 30 days is a fraud signal for the reviewer.
REFERRAL_SIGNAL_MAX_PER_30_DAYS = env.int("REFERRAL_SIGNAL_MAX_PER_30_DAYS", default=5)
# Mailboxes anyone can open: two companies sharing one of these domains are not thereby one company.
REFERRAL_FREE_MAIL_DOMAINS = env.list(
    "REFERRAL_FREE_MAIL_DOMAINS",
    default=[
        "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com", "yahoo.com",
        "icloud.com", "me.com", "aol.com", "proton.me", "protonmail.com", "gmx.com", "mail.com",
        "walla.co.il", "walla.com", "bezeqint.net", "netvision.net.il", "012.net.il", "zahav.net.il",
    ],
)  # fmt: skip
# The public application form, per client address (allauth's rate limits, like sign-in's).
ACCOUNT_RATE_LIMITS["referral_apply"] = env("REFERRAL_APPLY_RATE_LIMITS", default="5/h/ip,20/d/ip")
# A member sending the company's referral link to an address: per company (key) and per person (user).
ACCOUNT_RATE_LIMITS["referral_link"] = env("REFERRAL_LINK_RATE_LIMITS", default="30/d/key,10/h/user")
# Referrals that a lost task did not check (approved ones whose first order or payment arrived, or whose
# window ended) are checked by this sweep.
CELERY_BEAT_SCHEDULE["referrals-sweep"] = {
    "task": "referrals.tasks.sweep",
    "schedule": crontab(minute=17),
    "options": {"expires": 60 * 60},
}
