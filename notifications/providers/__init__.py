"""Push providers, chosen by the PUSH_PROVIDER setting (`console` or `fcm`).

Settings are read, in this order, from keyword overrides, an explicit `config`
(mapping or object with attributes), `django.conf.settings` when Django is
configured, and the environment:

    PUSH_PROVIDER                  console (default) | fcm
    FCM_SERVICE_ACCOUNT            path or JSON text; unset = Application Default Credentials
    FCM_PROJECT_ID                 optional; defaults to the service account's
    FCM_BASE_URL                   local fake only, e.g. http://127.0.0.1:8766
    FCM_HTTP_TIMEOUT               seconds, default 30
    FCM_APP_NAME                   firebase_admin App name, default pengampu-push
    FCM_CHUNK_SIZE                 messages per send_each call, default 500
    FCM_MAX_CONCURRENCY            send_each calls in flight, default 2
    FCM_POOL_SIZE                  HTTP connections, default chunk size x concurrency
    FCM_POOL_BLOCK                 true: at most FCM_POOL_SIZE POSTs in flight (threads wait), default false
    FCM_HTTP_STATUS_RETRIES        SDK retries on 500/503, default 4
    FCM_RESPECT_RETRY_AFTER        block on 429 Retry-After inside the SDK, default false
    FCM_SENDER_MISMATCH_MIN_BATCH  safety valve threshold, default 20
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from .base import (
    DEACTIVATE,
    DEFAULT_CHANNEL_ID,
    FAILED,
    RETRY,
    SENT,
    PushMessage,
    PushProvider,
    PushResult,
)
from .console import ConsoleProvider

__all__ = [
    "DEACTIVATE",
    "DEFAULT_CHANNEL_ID",
    "FAILED",
    "RETRY",
    "SENT",
    "ConsoleProvider",
    "PushMessage",
    "PushProvider",
    "PushResult",
    "get_provider",
]

# setting name -> (FCMOptions field, converter)
_FCM_SETTINGS: dict[str, tuple[str, Any]] = {
    "FCM_SERVICE_ACCOUNT": ("service_account", None),
    "FCM_PROJECT_ID": ("project_id", str),
    "FCM_BASE_URL": ("base_url", str),
    "FCM_HTTP_TIMEOUT": ("http_timeout", float),
    "FCM_APP_NAME": ("app_name", str),
    "FCM_CHUNK_SIZE": ("chunk_size", int),
    "FCM_MAX_CONCURRENCY": ("max_concurrency", int),
    "FCM_POOL_SIZE": ("pool_size", int),
    "FCM_POOL_BLOCK": ("pool_block", "bool"),
    "FCM_HTTP_STATUS_RETRIES": ("http_status_retries", int),
    "FCM_RESPECT_RETRY_AFTER": ("respect_retry_after", "bool"),
    "FCM_SENDER_MISMATCH_MIN_BATCH": ("sender_mismatch_min_batch", int),
    "FCM_WEB_LINK": ("web_link", str),
}


def get_provider(config: Mapping[str, Any] | object | None = None, **overrides: Any) -> PushProvider:
    """Build the configured provider. Cheap: the FCM App itself is per process."""
    name = str(_setting("PUSH_PROVIDER", config, overrides) or "console").lower()
    if name == "console":
        return ConsoleProvider()
    if name == "fcm":
        from .fcm import FCMOptions, FCMProvider  # firebase-admin is a heavy import

        kwargs = {}
        for setting, (field, convert) in _FCM_SETTINGS.items():
            value = _setting(setting, config, overrides)
            if value is None or value == "":
                continue
            kwargs[field] = _convert(value, convert)
        return FCMProvider(FCMOptions(**kwargs))
    raise ValueError(f"Unknown PUSH_PROVIDER {name!r}; expected 'console' or 'fcm'")


def _setting(name: str, config: Any, overrides: Mapping[str, Any]) -> Any:
    if name in overrides:
        return overrides[name]
    if config is not None:
        if isinstance(config, Mapping):
            if name in config:
                return config[name]
        elif hasattr(config, name):
            return getattr(config, name)
    django_settings = _django_settings()
    if django_settings is not None and hasattr(django_settings, name):
        return getattr(django_settings, name)
    return os.environ.get(name)


def _django_settings() -> Any:
    try:
        from django.conf import settings
    except ImportError:
        return None
    return settings if settings.configured else None


def _convert(value: Any, convert: Any) -> Any:
    if convert is None or not isinstance(value, str):
        return value
    if convert == "bool":
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return convert(value)
