"""A newcomer's machine: SQLite, in-process tasks, console push, the local Midtrans simulator."""
from .base import *  # noqa: F401,F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = SECRET_KEY or "dev-only-insecure-key-change-me-0123456789abcdef"  # noqa: F405
PII_ENCRYPTION_KEYS = PII_ENCRYPTION_KEYS or ["ZGV2LW9ubHktcGlpLWtleS0zMi1ieXRlcy1sb25nISE="]  # noqa: F405
PII_HASH_KEY = PII_HASH_KEY or "dev-only-pii-hash-key"  # noqa: F405
ALLOWED_HOSTS = ["*"]
