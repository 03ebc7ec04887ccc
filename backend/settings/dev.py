"""A newcomer's machine: embedded PostgreSQL, in-process tasks, console push, the local Midtrans simulator."""

from .base import *  # noqa: F401,F403
from .base import env
from .published import DEV_PII_ENCRYPTION_KEY, DEV_PII_HASH_KEY, DEV_SECRET_KEY

if not DATABASE_URL:  # noqa: F405  (no server to install: backend/devdb.py starts or joins one, data in var/pgdata)
    from backend.devdb import database_url

    DATABASES = {"default": database_config(database_url(VAR_DIR / "pgdata"))}  # noqa: F405

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = SECRET_KEY or DEV_SECRET_KEY  # noqa: F405
PII_ENCRYPTION_KEYS = PII_ENCRYPTION_KEYS or [DEV_PII_ENCRYPTION_KEY]  # noqa: F405
PII_HASH_KEY = PII_HASH_KEY or DEV_PII_HASH_KEY  # noqa: F405
ALLOWED_HOSTS = ["*"]
# Money: the local Midtrans simulator is the default gateway in dev (python3 dev.py start runs it).
MIDTRANS_API_BASE_URL = env.str("MIDTRANS_API_BASE_URL", default="http://127.0.0.1:8765")  # noqa: F405
MIDTRANS_SERVER_KEY = MIDTRANS_SERVER_KEY or "SB-Mid-server-LOCALDEMO"  # noqa: F405
MIDTRANS_CLIENT_KEY = MIDTRANS_CLIENT_KEY or "SB-Mid-client-LOCALDEMO"  # noqa: F405
PUBLIC_BASE_URL = PUBLIC_BASE_URL or "http://127.0.0.1:8000"  # noqa: F405
MIDTRANS_OVERRIDE_NOTIFICATION = True

NOTIFICATIONS_CONSOLE_WITHOUT_DEVICE = env.bool("NOTIFICATIONS_CONSOLE_WITHOUT_DEVICE", default=True)
