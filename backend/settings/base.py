"""Settings shared by every environment. Everything that differs between machines comes from the environment."""

import re
from pathlib import Path
from typing import Any

import environ
from django.utils.translation import gettext_lazy as _

from backend.observability.logs import logging_config
from backend.observability.sentry import init_sentry

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # The domain, one app per area; dependencies run one way (docs/architecture.md):
    # core <- regions <- people <- matching, billing <- dashboard; notifications knows none of them.
    "sponsorship.core",
    "sponsorship.regions",
    "sponsorship.people",
    "sponsorship.matching",
    "sponsorship.billing",
    "sponsorship.dashboard",
    "notifications",
    # The installable mobile app for sponsors and workers (/app/): a client of /api/v1/, imports no domain app.
    "pwa",
]

MIDDLEWARE = [
    # First: the request id (X-Request-ID kept when valid, else made) on every log line and on the answer, and the
    # latency per route for /metrics (backend/observability/).
    "backend.observability.middleware.RequestObservabilityMiddleware",
    # REMOTE_ADDR becomes the client's address, believing X-Forwarded-For only as far as TRUSTED_PROXY_* say
    # (backend/client_ip.py); every throttle, lockout and audit row reads it.
    "backend.client_ip.ClientIpMiddleware",
    # Bodies past DATA_UPLOAD_MAX_MEMORY_SIZE (413) and NUL in the URL (400), before any view (request_guard.py).
    "backend.request_guard.RequestGuardMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # The Midtrans webhook and the worker status (bearer token) are answered here, without the rest of this
    # list; see backend/lean.py for what is kept. LEAN_PATHS=false sends them through the whole stack.
    "backend.lean.LeanPathsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

LEAN_PATHS = env.bool("LEAN_PATHS", default=True)
# The worker-status statement runs as a server-side prepared statement (planned once per connection; planning
# cost 5x executing it). Turn off behind a transaction-pooling proxy that cannot keep prepared statements.
STATUS_PREPARED_STATEMENTS = env.bool("STATUS_PREPARED_STATEMENTS", default=True)

ROOT_URLCONF = "backend.urls"
WSGI_APPLICATION = "backend.wsgi.application"
ASGI_APPLICATION = "backend.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "backend" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# PostgreSQL from DATABASE_URL (production, CI). Without it, dev.py and test.py below use an embedded PostgreSQL
# with its data under var/ (backend/devdb.py), so a newcomer's first run needs no server to install; production.py
# refuses to start.
DATABASE_URL = env.str("DATABASE_URL", default="")


def database_config(url: str) -> dict:
    config = env.db_url_config(url)
    if config.get("ENGINE") != "django.db.backends.postgresql":
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL (postgres://...)")
    # A unix-socket URL (postgresql://user@/name?host=/dir, the embedded server's) names its directory in HOST,
    # where a TCP URL's host goes (pg_dump -h, helpers that rebuild a URL), rather than in OPTIONS.
    if "host" in config.get("OPTIONS", {}):
        config["HOST"] = config["OPTIONS"].pop("host")
    config.setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=0))
    return config


DATABASES = {"default": database_config(DATABASE_URL) if DATABASE_URL else {}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache: Redis when configured, otherwise process-local memory.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    # Degrades instead of raising when Redis is down (backend/cache.py); short socket timeouts so a dead
    # Redis costs a request at most ~0.5 s, not a hang.
    CACHES = {
        "default": {
            "BACKEND": "backend.cache.DegradingRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "socket_connect_timeout": env.float("REDIS_CONNECT_TIMEOUT", default=0.5),
                "socket_timeout": env.float("REDIS_TIMEOUT", default=0.5),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "pengampu"}}

# One lockout for every sign-in (JWT, dashboard, admin, the app's sign-in with a username or the 18-digit NIP):
# sponsorship/people/auth/lockout.py.
AUTHENTICATION_BACKENDS = ["sponsorship.people.auth.lockout.LockoutModelBackend"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "id"
LANGUAGES = [("id", _("Indonesian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Jakarta")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LOGIN_URL = "/admin/login/"

REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "backend.api.authentication.JWTAuthentication",  # simplejwt's, user and profile in one query
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON bounded in size and depth, no NUL, no bare scalar (backend/api/parsers.py); forms and uploads as DRF's.
    "DEFAULT_PARSER_CLASSES": [
        "backend.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "backend.api.pagination.StandardPagination",
    # Aware datetimes in plain-dict answers are written in TIME_ZONE (+07:00), like serializer fields.
    "DEFAULT_RENDERER_CLASSES": ["backend.api.renderers.JSONRenderer", "rest_framework.renderers.BrowsableAPIRenderer"],
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "backend.api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="60/min"),
        "user": env.str("THROTTLE_USER", default="600/min"),
        "login": env.str("THROTTLE_LOGIN", default="10/min"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # Throttles key on REMOTE_ADDR, which ClientIpMiddleware has set; never on X-Forwarded-For directly.
    "NUM_PROXIES": 0,
}

from datetime import timedelta  # noqa: E402

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    # A used refresh token is dead: a stolen one works at most once, and its replay is visible (401).
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "AUTH_HEADER_TYPES": ("Bearer",),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Pengampu API",
    "DESCRIPTION": (
        "ASN sebagai pengampu jaminan sosial ketenagakerjaan pekerja rentan. "
        "ASN sponsors pay BPJS Ketenagakerjaan BPU premiums (JKK + JKM) for informal workers."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Several models have a `kind` (and `status`) field with different choices: name each enum explicitly.
    "ENUM_NAME_OVERRIDES": {
        "InvoiceKindEnum": "sponsorship.billing.models.billing.Invoice.Kind",
        "InvoiceStatusEnum": "sponsorship.billing.models.billing.Invoice.Status",
        "ImportKindEnum": "sponsorship.dashboard.models.ImportBatch.Kind",
        "JobKindEnum": "sponsorship.dashboard.models.Job.Kind",
        "NotificationKindEnum": "notifications.models.Kind",
        "DevicePushIdKindEnum": "notifications.models.Device.PushIdKind",
        "SponsorStatusEnum": "sponsorship.people.models.people.Sponsor.Status",
        "BridgePoolKindEnum": "sponsorship.billing.models.bridge.BridgePool.Kind",
        "BenefitKindEnum": "sponsorship.people.models.cohorts.BenefitReceived.Kind",
        "PoolEntryKindEnum": "sponsorship.billing.models.bridge.PoolEntry.Kind",
        # payroll deduction (docs/payroll.md)
        "PayrollConsentKindEnum": "sponsorship.billing.models.payroll.PayrollConsent.Kind",
        "PayrollConsentChannelEnum": "sponsorship.billing.models.payroll.PayrollConsent.Channel",
        "PayrollConsentStatusEnum": "sponsorship.billing.models.payroll.PayrollConsent.Status",
        "PayrollListStatusEnum": "sponsorship.billing.models.payroll.PayrollList.Status",
        "PayrollDeductionStatusEnum": "sponsorship.billing.models.payroll.PayrollDeduction.Status",
        "PayrollConfirmationStatusEnum": "sponsorship.billing.models.payroll.PayrollConfirmation.Status",
        "ImportModeEnum": "sponsorship.dashboard.models.ImportBatch.Mode",
    },
}

# Personal data (UU 27/2022 PDP): NIK and phone are encrypted at rest and looked up by keyed hash.
# Keys are separate from SECRET_KEY in production; comma-separated lists allow rotation (first encrypts).
PII_ENCRYPTION_KEYS = env.list("PII_ENCRYPTION_KEYS", default=[])
PII_HASH_KEY = env.str("PII_HASH_KEY", default="")
# While `manage.py rotate_pii_keys` re-hashes: the previous hash key(s), so lookups still find rows not yet re-hashed.
PII_HASH_KEYS_PREVIOUS = env.list("PII_HASH_KEYS_PREVIOUS", default=[])

# The proxies in front of the service (backend/client_ip.py): how many write X-Forwarded-For, or their networks.
# Neither: X-Forwarded-For is ignored. Production behind a proxy must set one (deploy check pengampu.E001).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
TRUSTED_PROXY_CIDRS = env.list("TRUSTED_PROXY_CIDRS", default=[])

# Retention (UU PDP), enforced daily by sponsorship.people.tasks.enforce_personal_data_retention: the personal-data
# access log is kept this many days; a worker whose last sponsorship ended this many days ago (and who has no other
# payer) is anonymised (payments and coverage are kept, without the person).
PDP_ACCESS_LOG_RETENTION_DAYS = env.int("PDP_ACCESS_LOG_RETENTION_DAYS", default=5 * 365)
PDP_ENDED_WORKER_RETENTION_DAYS = env.int("PDP_ENDED_WORKER_RETENTION_DAYS", default=2 * 365)

# Login brute-force protection (sponsorship/people/auth/lockout.py), the same for the JWT endpoint, the dashboard and
# the admin: after LOGIN_LOCKOUT_ATTEMPTS failures for one username from one IP within LOGIN_LOCKOUT_SECONDS, that
# pair is refused (429 on the API, a message on the login pages) until the window ends.
LOGIN_LOCKOUT_ATTEMPTS = env.int("LOGIN_LOCKOUT_ATTEMPTS", default=5)
LOGIN_LOCKOUT_SECONDS = env.int("LOGIN_LOCKOUT_SECONDS", default=15 * 60)

# Broker and background work.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1

# Where the regency runs (used for quiet hours and due dates when a regency has no own zone).
DEFAULT_REGENCY_TIMEZONE = env.str("DEFAULT_REGENCY_TIMEZONE", default="Asia/Jakarta")

# Regency matching runs (docs/matching-api.md): the distance mode when a request names none — "exact" (the default
# since runs are Celery tasks: the total distance minimised over every pair within the radius, proven to within
# MATCHING_DISTANCE_GAP_TOLERANCE of the optimum by the solver's certificate; the certified optimum takes ~4 s CPU
# at Ponorogo size, ~1-3.5 s when the previous run's duals are cached, docs/matching.md) or "fast" (the restricted
# polish only, ~10% above the optimum's distance at regency size, ~1.5 s; the covered weight is the optimum's in
# both). Runs with at most MATCHING_EXACT_ARC_LIMIT pairs within the radius are solved as one full min-cost flow
# in either mode.
MATCHING_RUN_DISTANCE = env.str("MATCHING_RUN_DISTANCE", default="exact")
if MATCHING_RUN_DISTANCE not in ("exact", "fast"):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured('MATCHING_RUN_DISTANCE must be "exact" or "fast"')
MATCHING_DISTANCE_GAP_TOLERANCE = env.float("MATCHING_DISTANCE_GAP_TOLERANCE", default=0.005)
# With the default mode "exact", a regency with more workers to match than this gets "fast" unless the request asks
# for "exact": ~4 s CPU for the exact step at Ponorogo size (42,000 workers), ~90 s and 3.5 GB at 420,000.
MATCHING_EXACT_MAX_WORKERS = env.int("MATCHING_EXACT_MAX_WORKERS", default=150_000)
MATCHING_EXACT_ARC_LIMIT = env.int("MATCHING_EXACT_ARC_LIMIT", default=1_000_000)

# Logs: "text" for people (the default here), "json" one object per line for collectors (production's default);
# every line carries the request id (backend/observability/logs.py).
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = logging_config(log_format=LOG_FORMAT, level=LOG_LEVEL)
# Celery keeps these handlers (and their request-id filter) instead of installing its own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Prometheus metrics at /metrics (docs/ops/observability.md): for a scraper with `Authorization: Bearer
# METRICS_TOKEN` or from METRICS_ALLOWED_IPS (addresses or networks); 401/404 for anyone else. Production refuses to
# start with metrics enabled and no token.
METRICS_ENABLED = env.bool("METRICS_ENABLED", default=True)
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])


def _networks(values: list[str]) -> tuple:
    import ipaddress

    from django.core.exceptions import ImproperlyConfigured

    try:
        return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip())
    except ValueError as exc:
        raise ImproperlyConfigured(f"METRICS_ALLOWED_IPS: {exc}") from exc


METRICS_ALLOWED_NETWORKS = _networks(METRICS_ALLOWED_IPS)

# Error tracking: Sentry when SENTRY_DSN is set, personal data scrubbed (backend/observability/sentry.py).
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="")
SENTRY_RELEASE = env.str("SENTRY_RELEASE", default="")
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
init_sentry(
    dsn=SENTRY_DSN,
    environment=SENTRY_ENVIRONMENT,
    release=SENTRY_RELEASE,
    traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
)

# Serve static files from the apps directly when collectstatic has not run (dev, tests, benchmarks).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = env.bool("WHITENOISE_AUTOREFRESH", default=not (BASE_DIR / "staticfiles").exists())

# ---- MIDTRANS / BILLING (money branch) --------------------------------------------------------------
# Empty MIDTRANS_API_BASE_URL = the real Midtrans (sandbox unless MIDTRANS_IS_PRODUCTION); set it to the
# local simulator's base (dev.py does: http://127.0.0.1:8765) to pay offline.
MIDTRANS_SERVER_KEY = env.str("MIDTRANS_SERVER_KEY", default="")
MIDTRANS_CLIENT_KEY = env.str("MIDTRANS_CLIENT_KEY", default="")
MIDTRANS_IS_PRODUCTION = env.bool("MIDTRANS_IS_PRODUCTION", default=False)
MIDTRANS_API_BASE_URL = env.str("MIDTRANS_API_BASE_URL", default="")
MIDTRANS_TIMEOUT_SECONDS = env.float("MIDTRANS_TIMEOUT_SECONDS", default=10.0)
MIDTRANS_ENABLED_PAYMENTS = env.list(
    "MIDTRANS_ENABLED_PAYMENTS",
    default=["bca_va", "bni_va", "bri_va", "permata_va", "echannel", "other_qris", "gopay", "shopeepay"],
)
# Send X-Override-Notification with each Snap request (dev/tests: the simulator posts to this server).
MIDTRANS_OVERRIDE_NOTIFICATION = env.bool("MIDTRANS_OVERRIDE_NOTIFICATION", default=bool(MIDTRANS_API_BASE_URL))
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="")
PAYMENT_GATEWAY = env.str("PAYMENT_GATEWAY", default="sponsorship.billing.gateways.midtrans.MidtransGateway")
PAYMENT_ATTEMPT_REUSE_MINUTES = env.int("PAYMENT_ATTEMPT_REUSE_MINUTES", default=23 * 60)
# The webhook wakes the Celery processing up with one message per this many ms per web process (a burst of
# notifications shares one message; each costs the web process ~1.5 ms of CPU). Not a safety matter: a row whose
# wake-up is lost is processed by the sweep.
PAYMENT_WAKEUP_WINDOW_MS = env.int("PAYMENT_WAKEUP_WINDOW_MS", default=100)
PAYMENT_RECONCILE_AFTER_MINUTES = env.int("PAYMENT_RECONCILE_AFTER_MINUTES", default=30)
# The nightly check of money gone back at the gateway (refunds, chargebacks, bank reversals) looks at payments
# settled within this many days (GoPay/QRIS refund windows are 7-180 days; card chargebacks up to ~120).
PAYMENT_RECONCILE_RETURNS_DAYS = env.int("PAYMENT_RECONCILE_RETURNS_DAYS", default=180)
# Every order id starts with "<prefix>-": two deployments on one Midtrans merchant never issue the same order id,
# and the webhook ignores another deployment's notifications. Required in production (production.py).
MIDTRANS_ORDER_PREFIX = env.str("MIDTRANS_ORDER_PREFIX", default="DEV")
if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.~-]{0,15}", MIDTRANS_ORDER_PREFIX or "-"):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("MIDTRANS_ORDER_PREFIX: 1-16 of A-Z a-z 0-9 _ . ~ - (it starts every Midtrans order id)")
# The webhook refuses before storing anything: bodies over this size (a Midtrans notification is 1-3 KB) with
# 413, and more than this many requests a minute from one address with 429 (Midtrans retries both). Of the
# bodies it rejects (bad signature, not JSON) it keeps at most this many a minute per address in full; beyond
# that only a count (RefusedNotification).
MIDTRANS_NOTIFICATION_MAX_BYTES = env.int("MIDTRANS_NOTIFICATION_MAX_BYTES", default=32 * 1024)
MIDTRANS_NOTIFICATION_RATE_PER_MINUTE = env.int("MIDTRANS_NOTIFICATION_RATE_PER_MINUTE", default=1200)
# The WhatsApp and Twilio webhooks: the same per-address limit, before the body is read.
CHANNEL_WEBHOOK_RATE_PER_MINUTE = env.int("CHANNEL_WEBHOOK_RATE_PER_MINUTE", default=1200)
MIDTRANS_REJECTED_KEPT_PER_MINUTE = env.int("MIDTRANS_REJECTED_KEPT_PER_MINUTE", default=60)
BILLING_ISSUE_DAYS_BEFORE = env.int("BILLING_ISSUE_DAYS_BEFORE", default=10)
BILLING_DUE_DAY = env.int("BILLING_DUE_DAY", default=15)
BILLING_MAX_PREPAY_MONTHS = 12
BILLING_MAX_ARREARS_MONTHS = 3
BILLING_LAPSE_AFTER_MONTHS = 3
REMITTANCE_DIR = env.str("REMITTANCE_DIR", default=str(VAR_DIR / "remittance"))
# ---- end MIDTRANS / BILLING --------------------------------------------------------------------------

# ---- NOTIFICATIONS (issue 5) ----------------------------------------------------------------------
# Push provider: "console" prints pushes (embedded default); "fcm" sends through firebase-admin.
# The default follows the settings module: fcm under backend.settings.production, console elsewhere.
# production.py switches the default to "fcm".
PUSH_PROVIDER = env.str("PUSH_PROVIDER", default="console")
# FCM_SERVICE_ACCOUNT, FCM_PROJECT_ID, FCM_BASE_URL, FCM_CHUNK_SIZE, FCM_MAX_CONCURRENCY, ... are read from
# the environment by notifications.providers.get_provider (documented there and in docs/notifications.md).
NOTIFICATIONS_MAX_ATTEMPTS = env.int("NOTIFICATIONS_MAX_ATTEMPTS", default=8)
NOTIFICATIONS_BACKOFF_BASE_SECONDS = env.int("NOTIFICATIONS_BACKOFF_BASE_SECONDS", default=30)
NOTIFICATIONS_BACKOFF_MAX_SECONDS = env.int("NOTIFICATIONS_BACKOFF_MAX_SECONDS", default=3600)
NOTIFICATIONS_CLAIM_TIMEOUT_SECONDS = env.int("NOTIFICATIONS_CLAIM_TIMEOUT_SECONDS", default=600)
# With the console provider, print a push even for users with no registered phone (demo visibility).
NOTIFICATIONS_CONSOLE_WITHOUT_DEVICE = env.bool("NOTIFICATIONS_CONSOLE_WITHOUT_DEVICE", default=False)  # dev: on
NOTIFICATIONS_ADMIN_DIGEST = env.bool("NOTIFICATIONS_ADMIN_DIGEST", default=False)
# ---- end NOTIFICATIONS -----------------------------------------------------------------------------

# ---- CHANNELS (issue 16): WhatsApp and SMS beside push; see notifications/channels/__init__.py ----------
WHATSAPP_PROVIDER = env.str("WHATSAPP_PROVIDER", default="")  # "" (off) | meta | console
WHATSAPP_API_BASE_URL = env.str("WHATSAPP_API_BASE_URL", default="https://graph.facebook.com")
WHATSAPP_API_VERSION = env.str("WHATSAPP_API_VERSION", default="v21.0")
WHATSAPP_PHONE_NUMBER_ID = env.str("WHATSAPP_PHONE_NUMBER_ID", default="")
WHATSAPP_ACCESS_TOKEN = env.str("WHATSAPP_ACCESS_TOKEN", default="")
WHATSAPP_APP_SECRET = env.str("WHATSAPP_APP_SECRET", default="")
WHATSAPP_VERIFY_TOKEN = env.str("WHATSAPP_VERIFY_TOKEN", default="")
WHATSAPP_TIMEOUT_SECONDS = env.float("WHATSAPP_TIMEOUT_SECONDS", default=10.0)
# Approved template names: "<prefix><kind>" for each notification kind (utility), and the sign-in code's
# authentication template (copy-code button).
WHATSAPP_TEMPLATE_PREFIX = env.str("WHATSAPP_TEMPLATE_PREFIX", default="pengampu_")
WHATSAPP_OTP_TEMPLATE = env.str("WHATSAPP_OTP_TEMPLATE", default="pengampu_kode_masuk")
SMS_PROVIDER = env.str("SMS_PROVIDER", default="")  # "" (off) | twilio | console
TWILIO_API_BASE_URL = env.str("TWILIO_API_BASE_URL", default="https://api.twilio.com")
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_SENDER = env.str("TWILIO_SENDER", default="PENGAMPU")  # registered alphanumeric sender ID or MG… SID
TWILIO_STATUS_CALLBACK_URL = env.str("TWILIO_STATUS_CALLBACK_URL", default="")
SMS_TIMEOUT_SECONDS = env.float("SMS_TIMEOUT_SECONDS", default=10.0)
# ---- end CHANNELS --------------------------------------------------------------------------------------

# --- dashboard (issue 6): worker sign-in, HR dashboard, imports --------------------------------------
# Worker sign-in: NIK + date of birth, then a one-time code to the registered phone.
# "channels": WhatsApp authentication template, then SMS (notifications.channels); "console": printed on the
# dev console (stdout, never the log), development only; "": no code step (NIK + birth date alone). Production
# accepts only "channels" with WhatsApp or SMS configured (backend/settings/production.py).
WORKER_OTP_PROVIDER = env.str("WORKER_OTP_PROVIDER", default="console")
WORKER_OTP_TTL_SECONDS = env.int("WORKER_OTP_TTL_SECONDS", default=300)
WORKER_OTP_MAX_ATTEMPTS = env.int("WORKER_OTP_MAX_ATTEMPTS", default=5)
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].update(
    {
        "worker_auth": env.str("THROTTLE_WORKER_AUTH", default="20/hour"),  # per IP
        "worker_auth_nik": env.str("THROTTLE_WORKER_AUTH_NIK", default="6/hour"),  # per NIK (keyed hash)
    }
)
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=10 * 1024 * 1024)
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=50_000)
# An XLSX is a zip: its parts may expand to at most this much, and no part at more than this ratio (a zip bomb).
IMPORT_MAX_UNCOMPRESSED_BYTES = env.int("IMPORT_MAX_UNCOMPRESSED_BYTES", default=100 * 1024 * 1024)
IMPORT_MAX_ZIP_RATIO = env.int("IMPORT_MAX_ZIP_RATIO", default=100)
DASHBOARD_CACHE_SECONDS = env.int("DASHBOARD_CACHE_SECONDS", default=300)  # 0 = always compute
# --- end dashboard ------------------------------------------------------------------------------------

# The installable app (/app/, pwa/): the consent text version its nomination form shows and records, the BPJS
# Ketenagakerjaan contact on its accident screen, and the VAPID public key browsers subscribe to push with
# (Firebase console → Cloud Messaging → Web Push certificates; empty: the browser's default push service).
APP_CONSENT_TEXT_VERSION = env.str("APP_CONSENT_TEXT_VERSION", default="2026.1")
APP_BPJS_PHONE = env.str("APP_BPJS_PHONE", default="175")
WEBPUSH_VAPID_PUBLIC_KEY = env.str("WEBPUSH_VAPID_PUBLIC_KEY", default="")


# Push in production (docs/app.md): the Firebase web app's config (JSON with apiKey, projectId, messagingSenderId,
# appId; Firebase console → Project settings → Your apps → Web). Set: the app loads the vendored Firebase SDK when
# push is switched on and registers its FCM registration token; empty: the browser's push subscription (dev, tests).
FIREBASE_WEB_CONFIG_KEYS = ("apiKey", "projectId", "messagingSenderId", "appId")


def firebase_web_config(raw: str) -> dict[str, str]:
    """FIREBASE_WEB_CONFIG text -> the four keys the SDK needs ({} when unset); a bad one stops the start."""
    import json

    from django.core.exceptions import ImproperlyConfigured

    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"FIREBASE_WEB_CONFIG is not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise ImproperlyConfigured("FIREBASE_WEB_CONFIG must be a JSON object")
    missing = [k for k in FIREBASE_WEB_CONFIG_KEYS if not isinstance(value.get(k), str) or not value[k]]
    if missing:
        raise ImproperlyConfigured(f"FIREBASE_WEB_CONFIG lacks {', '.join(missing)}")
    return {k: value[k] for k in FIREBASE_WEB_CONFIG_KEYS}


FIREBASE_WEB_CONFIG = firebase_web_config(env.str("FIREBASE_WEB_CONFIG", default=""))
# The page a tapped push opens (WebpushConfig.fcm_options.link); FCM takes only an absolute https URL, so it is
# derived from PUBLIC_BASE_URL when that is https, else left out (the service worker then opens the inbox itself).
FCM_WEB_LINK = env.str(
    "FCM_WEB_LINK",
    default=PUBLIC_BASE_URL.rstrip("/") + "/app/#/inbox" if PUBLIC_BASE_URL.startswith("https://") else "",
)
