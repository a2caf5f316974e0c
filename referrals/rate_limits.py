"""Rate limits of referrals' forms, on allauth's (the project's one mechanism, kept in the cache and keyed
by the client address it reads behind the proxy, ``TRUSTED_PROXY_COUNT``), with how long until the next
try is allowed, which the 429 page says."""

import math
import time

from allauth.core import ratelimit
from allauth.core.internal import ratelimit as internal
from django.core.cache import cache

APP = "allauth.account"


def consume(request, *, action: str, key: str | None = None, user=None) -> bool:
    """Count one use; False when a limit is reached (and nothing is counted)."""
    return bool(ratelimit.consume(request, action=action, key=key, user=user))


def seconds_until_allowed(request, *, action: str, key: str | None = None, user=None) -> int:
    """How long until the limit reached lets one more through (0 if none is reached)."""
    now, wait = time.time(), 0.0
    for rate in internal.get_rates(app=APP, action=action):
        cache_key = internal.get_cache_key(request, app=APP, action=action, rate=rate, key=key, user=user)
        history = [moment for moment in cache.get(cache_key, []) if moment > now - rate.duration]
        if len(history) >= rate.amount:
            wait = max(wait, sorted(history, reverse=True)[rate.amount - 1] + rate.duration - now)
    return math.ceil(wait)
