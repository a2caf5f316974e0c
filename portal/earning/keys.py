"""The keys the vendor's ERP signs its API calls with.

A key is shown once, when it is made; only its SHA-256 is stored, so a copy of
the database holds no working key. The key is 256 random bits, so a plain hash
(no salt, no slow key derivation) is enough: there is nothing to guess, and the
hash is a unique column, so a call is authenticated with one indexed read.
"""

import hashlib
import secrets
from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.log_actions import log

from accounts.models import User
from portal.earning.models import ApiKey

KEY_PREFIX = "pk_"
PREFIX_LENGTH = 12  # ApiKey.prefix: "pk_" and 9 random characters, enough to tell keys apart in a list
LAST_USED_RESOLUTION = timedelta(minutes=1)  # last_used_at is written at most this often per key
REVOKE_ACTION = "earning.revoke_api_key"


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def _check_perm(acting_user: User, codename: str) -> None:
    if not (acting_user.is_active and acting_user.has_perm(f"earning.{codename}")):
        raise PermissionDenied(_("You are not allowed to manage API keys."))


@transaction.atomic
def create_api_key(*, name: str, created_by: User | None = None) -> tuple[ApiKey, str]:
    """Make a key; the plaintext is returned here and nowhere else, ever.

    ``created_by`` is the person in the CMS; None when an operator runs
    ``manage.py create_api_key`` on the server.
    """
    if created_by is not None:
        _check_perm(created_by, "add_apikey")
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        name=name.strip(), prefix=plaintext[:PREFIX_LENGTH], key_hash=hash_key(plaintext), created_by=created_by
    )
    key.full_clean()  # a name already taken is a ValidationError on "name"
    key.save()
    log(instance=key, action="wagtail.create", user=created_by, content_changed=True)
    return key, plaintext


@transaction.atomic
def revoke_api_key(key: ApiKey, *, acting_user: User) -> ApiKey:
    """Refuse the key from now on. Revoking a revoked key changes nothing."""
    _check_perm(acting_user, "change_apikey")
    now = timezone.now()
    if ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=now):
        key.revoked_at = now
        log(instance=key, action=REVOKE_ACTION, user=acting_user)
    else:
        key.refresh_from_db(fields=["revoked_at"])
    return key


def authenticate(plaintext: str) -> ApiKey | None:
    """The live key with this plaintext, or None (unknown, malformed or revoked)."""
    if not plaintext.startswith(KEY_PREFIX) or len(plaintext) > 100:
        return None
    key = ApiKey.objects.filter(key_hash=hash_key(plaintext), revoked_at__isnull=True).first()
    if key is not None:
        _touch(key)
    return key


def _touch(key: ApiKey) -> None:
    """Note that the key was used, at most once a minute: an ERP calling in a loop costs no write per call.

    The condition is in the UPDATE as well, so concurrent calls write once between them.
    """
    now = timezone.now()
    stale = now - LAST_USED_RESOLUTION
    if key.last_used_at is not None and key.last_used_at > stale:
        return
    ApiKey.objects.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lte=stale), pk=key.pk).update(last_used_at=now)
    key.last_used_at = now
