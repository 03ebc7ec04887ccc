"""Settings of the Celery worker subprocess that tests/hardening/test_faults.py starts: the test settings, but a
real Redis broker (no eager tasks) and the Redis cache, as in production. Everything else comes from the
environment the test passes (DATABASE_URL of the test database, PUSH_PROVIDER=fcm and FCM_* of the fake FCM,
MIDTRANS_API_BASE_URL of the simulator)."""

from backend.settings.test import *  # noqa: F401,F403
from backend.settings.test import env

CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL")
CACHES = {
    "default": {
        "BACKEND": "backend.cache.DegradingRedisCache",
        "LOCATION": env.str("REDIS_URL"),
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}
