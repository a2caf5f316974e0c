"""Failed sign-ins: counted per account *and* client address, with a looser cap per account.

allauth counts an account's failed sign-ins under one key, the e-mail address, whatever address they come
from: five wrong passwords sent by anyone lock the account, and its own people with the right password,
out. Here (through accounts.adapters.PortalAccountAdapter.pre_authenticate) the rate limits of
ACCOUNT_RATE_LIMITS["login_failed"] count per account and client address, so a stranger's guesses stop
only the stranger; ACCOUNT_RATE_LIMITS["login_failed_account"] counts the account's failures from every
address, so guessing from many addresses stays bounded too. A successful sign-in takes its attempt back,
as allauth does.

Every key includes the account's *generation*, a random token kept in the cache. Lifting a lock (an
administrator's `manage.py unlock_sign_in`, or a successful password reset) replaces the token, which
orphans every counter of the account at once, on any cache, without knowing the addresses they were
counted for. The token outlives the longest window by far; should the cache drop it, the counters are
orphaned the same way, which only lifts a lock early.
"""

import secrets

from allauth.core.internal import ratelimit
from django.core.cache import cache

APP = "allauth.account"
PER_ACCOUNT_AND_ADDRESS = "login_failed"  # allauth's own action: its settings, its error message
PER_ACCOUNT = "login_failed_account"
GENERATION_TIMEOUT = 24 * 60 * 60  # seconds; longer than any window of the two limits


def _generation_key(email: str) -> str:
    return f"portal:sign-in-generation:{email.strip().lower()}"


def _account_key(email: str) -> str:
    generation = cache.get_or_set(_generation_key(email), lambda: secrets.token_hex(8), GENERATION_TIMEOUT)
    return f"{email.strip().lower()}:{generation}"


def consume_attempt(request, email: str) -> ratelimit.RateLimitUsage | None:
    """Count one sign-in attempt; None when a limit is reached (and nothing is counted)."""
    account = _account_key(email)
    address = ratelimit.get_ip(request)
    taken: list[ratelimit.SingleRateLimitUsage] = []
    for action, key in ((PER_ACCOUNT_AND_ADDRESS, f"{account}:{address}"), (PER_ACCOUNT, account)):
        usage = ratelimit.consume(request, app=APP, action=action, key=key)
        if usage is None:
            ratelimit.RateLimitUsage(usage=taken).rollback()
            return None
        taken += usage.usage
    return ratelimit.RateLimitUsage(usage=taken)


def lift_lock(email: str) -> None:
    """Forget every failed sign-in of the account, from every address."""
    cache.delete(_generation_key(email))
