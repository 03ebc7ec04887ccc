"""Short-lived cache of dashboard figures per scope (Redis in production, memory otherwise).

Aggregating a regency's year of invoices takes a few hundred milliseconds; admins reload pages far more
often than the figures change. Figures are kept DASHBOARD_CACHE_SECONDS (default 300) and dropped at once
when a dashboard action changes them (import applied, village target set, reminder sent) by bumping the
regency's version. Payments show up within that time; pages say "angka per <time>".
"""

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from sponsorship.core.periods import local_today


def _version(regency_id: int) -> int:
    key = f"dash:v:{regency_id}"
    version = cache.get(key)
    if version is None:
        version = int(timezone.now().timestamp())
        cache.add(key, version, None)
        version = cache.get(key, version)
    return version


def cached(scope, name: str, params: dict | None, compute):
    ttl = getattr(settings, "DASHBOARD_CACHE_SECONDS", 300)
    if ttl <= 0:
        return compute()
    regency_id = scope.regency.pk
    agency_id = scope.agency.pk if scope.agency else 0
    extra = ",".join(f"{k}={v}" for k, v in sorted((params or {}).items()))
    key = f"dash:{_version(regency_id)}:{regency_id}:{agency_id}:{name}:{extra}:{local_today().isoformat()}"
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, ttl)
    return value


def dashboard_invalidate(regency_id: int) -> None:
    key = f"dash:v:{regency_id}"
    try:
        cache.incr(key)
    except ValueError:
        cache.set(key, int(timezone.now().timestamp()), None)
