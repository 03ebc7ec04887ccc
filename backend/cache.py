"""Redis cache that degrades instead of failing: a Redis outage must not turn API requests into 500s.

Django's RedisCache raises on a connection error. The cache here only carries throttle counters, login
lockout counters and short-lived values, so losing it means "no throttling for a while" (logged loudly;
/healthz reports the cache as down), never "the service is down". Django-redis calls this IGNORE_EXCEPTIONS.
"""

import logging
import time

from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger("backend.cache")
_last_warning = [0.0]


def _warn(name, exc):
    now = time.monotonic()
    if now - _last_warning[0] > 10:  # one line per 10 s, not one per request
        _last_warning[0] = now
        logger.error("cache unavailable (%s in %s); continuing without it", type(exc).__name__, name)


def _degrading(name, fallback):
    original = getattr(RedisCache, name)

    def method(self, *args, **kwargs):
        import redis

        try:
            return original(self, *args, **kwargs)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
            _warn(name, exc)
            return fallback(*args, **kwargs)

    method.__name__ = name
    return method


def _default(key, default=None, *args, **kwargs):
    return kwargs.get("default", default)


class DegradingRedisCache(RedisCache):
    get = _degrading("get", _default)
    get_many = _degrading("get_many", lambda *a, **k: {})
    set = _degrading("set", lambda *a, **k: None)
    set_many = _degrading("set_many", lambda *a, **k: [])
    add = _degrading("add", lambda *a, **k: False)
    touch = _degrading("touch", lambda *a, **k: False)
    delete = _degrading("delete", lambda *a, **k: False)
    delete_many = _degrading("delete_many", lambda *a, **k: None)
    has_key = _degrading("has_key", lambda *a, **k: False)
    clear = _degrading("clear", lambda *a, **k: False)

    def incr(self, key, delta=1, version=None):
        import redis

        try:
            return super().incr(key, delta, version)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
            _warn("incr", exc)
            return delta
