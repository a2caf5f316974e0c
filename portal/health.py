"""/health/: 200 when the services the portal needs answer, 503 naming what is down."""

from django.conf import settings
from health_check.views import HealthCheckView


def _checks():
    checks = ["health_check.checks.Database", "health_check.checks.Cache"]
    if settings.REDIS_URL:
        from redis.asyncio import Redis

        url = settings.REDIS_URL
        checks.append(("health_check.contrib.redis.Redis", {"client_factory": lambda: Redis.from_url(url)}))
    return checks


class PortalHealthView(HealthCheckView):
    async def get(self, request, *args, **kwargs):
        self.checks = _checks()
        response = await super().get(request, *args, **kwargs)
        if response.status_code == 500:
            response.status_code = 503  # a dependency is down, not the portal broken
        return response
