"""Production: every secret from the environment, PostgreSQL, Redis, HTTPS."""

from django.core.exceptions import ImproperlyConfigured

from backend.observability.logs import logging_config

from .base import *  # noqa: F401,F403
from .base import env
from .published import is_published

DEBUG = False
if not DATABASE_URL:  # noqa: F405  (the embedded PostgreSQL of dev and tests is not for production)
    raise ImproperlyConfigured("DATABASE_URL must be set in the environment (postgres://user:password@host:5432/name)")
for _name in ("SECRET_KEY", "PII_HASH_KEY"):
    if not globals()[_name]:
        raise ImproperlyConfigured(f"{_name} must be set in the environment")
if not PII_ENCRYPTION_KEYS:  # noqa: F405
    raise ImproperlyConfigured("PII_ENCRYPTION_KEYS must be set in the environment")
# A key published with the source (dev.py/test.py fallbacks, placeholders) is no secret: with it anyone signs a
# superuser's JWT or decrypts every NIK. Refuse to start rather than run on it.
_keys = {
    "SECRET_KEY": [SECRET_KEY],  # noqa: F405
    "PII_ENCRYPTION_KEYS": list(PII_ENCRYPTION_KEYS),  # noqa: F405
    "PII_HASH_KEY": [PII_HASH_KEY],  # noqa: F405
    "SIMPLE_JWT.SIGNING_KEY": [SIMPLE_JWT.get("SIGNING_KEY") or SECRET_KEY],  # noqa: F405
}
for _name, _values in _keys.items():
    if any(is_published(v) for v in _values):
        raise ImproperlyConfigured(
            f"{_name} is a published development/test key or a placeholder; generate a new secret for production"
        )
if len(SECRET_KEY) < 50:  # noqa: F405  (check --deploy's own threshold; HS256 JWTs are signed with it)
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters long")
if PII_HASH_KEY == SECRET_KEY or SECRET_KEY in PII_ENCRYPTION_KEYS:  # noqa: F405
    raise ImproperlyConfigured("PII_HASH_KEY and PII_ENCRYPTION_KEYS must differ from SECRET_KEY")

# Behind the HTTPS proxy (the usual deployment) the client's address is read from X-Forwarded-For only as far as
# TRUSTED_PROXY_COUNT / TRUSTED_PROXY_CIDRS say (backend/client_ip.py); without either every client would share the
# proxy's address: per-IP throttles global, the sign-in lockout per username (anyone locks anyone out). Refuse to
# start. BEHIND_PROXY=false is for a service that terminates TLS itself (no proxy header is then believed).
BEHIND_PROXY = env.bool("BEHIND_PROXY", default=True)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    if not (TRUSTED_PROXY_COUNT or TRUSTED_PROXY_CIDRS):  # noqa: F405
        raise ImproperlyConfigured(
            "Behind a proxy (BEHIND_PROXY=true, the default) set TRUSTED_PROXY_COUNT (how many proxies write "
            "X-Forwarded-For in front of the service, e.g. 1) or TRUSTED_PROXY_CIDRS (their networks); "
            "BEHIND_PROXY=false if the service terminates TLS itself"
        )
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)  # noqa: F405

PUSH_PROVIDER = env.str("PUSH_PROVIDER", default="fcm")

# Each deployment its own order-id prefix (two on one Midtrans merchant must never issue the same order id).
MIDTRANS_ORDER_PREFIX = env.str("MIDTRANS_ORDER_PREFIX", default="")
if not MIDTRANS_ORDER_PREFIX or MIDTRANS_ORDER_PREFIX == "DEV":
    raise ImproperlyConfigured("MIDTRANS_ORDER_PREFIX must be set in the environment (e.g. PGU-SIDOARJO)")
# Worker sign-in codes and reminders need a real channel: no console, no code-less sign-in (issue 14.1).
WORKER_OTP_PROVIDER = env.str("WORKER_OTP_PROVIDER", default="channels")
if WORKER_OTP_PROVIDER != "channels":
    raise ImproperlyConfigured(
        'WORKER_OTP_PROVIDER must be "channels" in production (the console provider and sign-in without a code '
        "are for development only)"
    )
for _name in ("WHATSAPP_PROVIDER", "SMS_PROVIDER"):
    if globals()[_name] == "console":
        raise ImproperlyConfigured(f"{_name}=console is for development only")
_whatsapp_ready = WHATSAPP_PROVIDER == "meta" and all(  # noqa: F405
    (WHATSAPP_PHONE_NUMBER_ID, WHATSAPP_ACCESS_TOKEN, WHATSAPP_APP_SECRET)  # noqa: F405
)
_sms_ready = SMS_PROVIDER == "twilio" and all((TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_SENDER))  # noqa: F405
if not (_whatsapp_ready or _sms_ready):
    raise ImproperlyConfigured(
        "No channel can deliver worker sign-in codes: set WHATSAPP_PROVIDER=meta with WHATSAPP_PHONE_NUMBER_ID, "
        "WHATSAPP_ACCESS_TOKEN and WHATSAPP_APP_SECRET, and/or SMS_PROVIDER=twilio with TWILIO_ACCOUNT_SID, "
        "TWILIO_AUTH_TOKEN and TWILIO_SENDER"
    )

# One JSON object per log line for the collector (LOG_FORMAT=text to read them by eye).
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOGGING = logging_config(log_format=LOG_FORMAT, level=LOG_LEVEL)  # noqa: F405
# /metrics names every route, webhook outcome and queue: only for the scraper. A token is required while it is on;
# METRICS_ALLOWED_IPS may add the scraper's network (docs/ops/observability.md).
if METRICS_ENABLED:  # noqa: F405
    if len(METRICS_TOKEN) < 32 or is_published(METRICS_TOKEN):  # noqa: F405
        raise ImproperlyConfigured(
            "METRICS_TOKEN must be set to a generated secret of at least 32 characters while metrics are enabled "
            "(METRICS_ENABLED=false turns /metrics off)"
        )
# The container's healthcheck and the scraper talk to the service directly, not through the HTTPS proxy.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
