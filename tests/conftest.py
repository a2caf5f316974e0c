import os
import shutil
import uuid

import pytest
from django.conf import settings
from django.utils import translation

from tests.factories import MembershipFactory, PartnerFactory, StaffFactory

IN_CI = os.environ.get("CI") == "true"


def require(available: bool, what: str):
    """In CI a missing service is a failure, never a skip; on a bare machine it is a skip."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required in CI but is not available")
    pytest.skip(f"{what} is not available on this machine")


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Real hashing costs ~0.4 s a user; the tests check who may do what, not the hash's strength."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def cache_of_its_own(settings):
    """Each test sees an empty cache. In CI the cache is Redis, shared by the xdist workers and kept between
    runs, and allauth's rate limits are keyed by user id and e-mail, which repeat from run to run: without a
    namespace per test, one run's failed sign-ins lock out the next run's user with the same id."""
    settings.CACHES = {
        name: {**config, "KEY_PREFIX": f"test-{uuid.uuid4().hex}"} for name, config in settings.CACHES.items()
    }


@pytest.fixture(autouse=True)
def default_language_to_begin_with():
    """LocaleMiddleware leaves the language of a test's last request active in the thread (a Hebrew page,
    say): without this, the next test on the same worker would begin in that language."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def tasks_run_in_process(request):
    """Tests see a task's effect at once, Redis or not; a test that asks for `redis_url` uses the real queue."""
    from portal.celery import app

    if "redis_url" in request.fixturenames:
        yield
        return
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = eager


# The CMS groups and their permissions come from data migrations, which an emptied database (after
# each test that commits) no longer has: these put them back, the same functions the migrations run.
ROLE_MIGRATIONS = [
    ("accounts.migrations.0002_cms_groups", "create_groups"),
    ("accounts.migrations.0007_audience_roles", "grant"),
    ("portal.earning.migrations.0003_programme_roles", "grant"),
    ("rewards_catalog.migrations.0002_cms_groups", "grant"),
    ("portal.tiers.migrations.0002_cms_roles", "grant"),
    ("portal.statements.migrations.0003_cms_roles", "grant"),
    ("referrals.migrations.0002_cms_roles", "grant"),
]


@pytest.fixture(autouse=True)
def cms_roles_in_committing_tests(request):
    marker = request.node.get_closest_marker("django_db")
    committing = (marker is not None and marker.kwargs.get("transaction")) or {
        "transactional_db",
        "live_server",
    } & set(request.fixturenames)
    if not committing:
        return
    request.getfixturevalue("transactional_db")
    from importlib import import_module

    from django.apps import apps

    modules = {config.label: config.models_module for config in apps.get_app_configs()}
    try:
        for module, function in ROLE_MIGRATIONS:
            getattr(import_module(module), function)(apps, None)
    finally:
        for config in apps.get_app_configs():  # the migrations toggle this on the app configs they touch
            config.models_module = modules[config.label]


@pytest.fixture
def redis_url():
    require(bool(settings.REDIS_URL), "Redis (REDIS_URL)")
    return settings.REDIS_URL


@pytest.fixture
def chromium_path():
    path = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
    require(path is not None, "Chromium (/usr/bin/chromium)")
    return path


@pytest.fixture
def partner(db):
    return PartnerFactory()


@pytest.fixture
def member(partner):
    """The owner of `partner`, signed-in ready (password: correct horse battery staple)."""
    return MembershipFactory(partner=partner).user


@pytest.fixture
def manager(db):
    return StaffFactory()
