"""GET /healthz: is the database, the cache and the broker reachable? 200 when all are, 503 otherwise."""

import threading
import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse


def _check(fn):
    started = time.perf_counter()
    try:
        detail = fn()
        return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1), **(detail or {})}
    except Exception as exc:  # a health check reports every failure, it never raises
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}


def _database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"vendor": connection.display_name, "server_version": connection.pg_version}


def _cache():
    cache.set("healthz", "1", 5)
    if cache.get("healthz") != "1":
        raise RuntimeError("cache did not return the value just written")
    return {"backend": settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]}


_redis_clients: dict = {}
_redis_lock = threading.Lock()


def _redis_ping(url: str) -> None:
    """PING the Redis broker on a client kept per process (its pool keeps the socket open).

    A new kombu connection per check opened a socket, ran the Redis handshake and read the package metadata
    (redis-py's driver info): ~6 ms of CPU, two thirds of a /healthz answer, on the probe a load balancer sends
    every few seconds. A PING on a kept connection is the same reachability check (a dropped connection is
    reopened, a dead server fails within the 2 s timeout)."""
    client = _redis_clients.get(url)
    if client is None:
        import redis

        with _redis_lock:
            client = _redis_clients.setdefault(
                url, redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
            )
    client.ping()


def _broker():
    url = settings.CELERY_BROKER_URL
    if url.startswith("memory://") or settings.CELERY_TASK_ALWAYS_EAGER and not url.startswith("redis"):
        return {"mode": "in-process (eager)"}
    if url.startswith(("redis://", "rediss://")):
        _redis_ping(url)
        return {"mode": url.split("://", 1)[0]}
    from backend.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return {"mode": url.split("://", 1)[0]}


def healthz(request):
    checks = {"database": _check(_database), "cache": _check(_cache), "broker": _check(_broker)}
    ok = all(c["ok"] for c in checks.values())
    return JsonResponse({"status": "ok" if ok else "degraded", "checks": checks}, status=200 if ok else 503)
