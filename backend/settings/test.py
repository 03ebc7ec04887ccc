"""The test suite: PostgreSQL from DATABASE_URL (CI), the embedded one otherwise; fast hashing; eager tasks."""

from .base import *  # noqa: F401,F403
from .base import env
from .published import TEST_PII_ENCRYPTION_KEY, TEST_PII_HASH_KEY, TEST_SECRET_KEY

if not DATABASE_URL:  # noqa: F405  (backend/devdb.py: its own server, data in var/pgdata-test; test_<name> database)
    from backend.devdb import database_url

    DATABASES = {"default": database_config(database_url(VAR_DIR / "pgdata-test"))}  # noqa: F405

DEBUG = False
SECRET_KEY = SECRET_KEY or TEST_SECRET_KEY  # noqa: F405
PII_ENCRYPTION_KEYS = PII_ENCRYPTION_KEYS or [TEST_PII_ENCRYPTION_KEY]  # noqa: F405
PII_HASH_KEY = PII_HASH_KEY or TEST_PII_HASH_KEY  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ALLOWED_HOSTS = ["*"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tests"}}
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = "memory://"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
REST_FRAMEWORK = {**REST_FRAMEWORK}  # noqa: F405
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
    **REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
    "anon": "100000/min",
    "user": "100000/min",
    "login": env.str("THROTTLE_LOGIN", default="1000/min"),
}
# Money: tests start their own simulator and point these at it.
MIDTRANS_SERVER_KEY = "SB-Mid-server-TEST"
MIDTRANS_CLIENT_KEY = "SB-Mid-client-TEST"
MIDTRANS_TIMEOUT_SECONDS = 2.0
MIDTRANS_OVERRIDE_NOTIFICATION = True
# Every test posts from 127.0.0.1 within the same minutes: the webhook's per-address limits are tested on their own.
MIDTRANS_NOTIFICATION_RATE_PER_MINUTE = 1_000_000
CHANNEL_WEBHOOK_RATE_PER_MINUTE = 1_000_000
MIDTRANS_REJECTED_KEPT_PER_MINUTE = 1_000_000
MIDTRANS_ORDER_PREFIX = "TEST"
