"""Payment gateways behind one small interface (base.PaymentGateway). Chosen by settings.PAYMENT_GATEWAY.

`get_gateway()` returns one shared instance per configuration (per process), so its HTTP session keeps
its connections alive between calls: a status call does not pay a new TCP (and TLS) handshake each time.
Changing the settings (tests do) gives a new instance.
"""

import threading

from django.conf import settings
from django.utils.module_loading import import_string

from .base import PaymentGateway

_instances: dict[tuple, PaymentGateway] = {}
_lock = threading.Lock()


def _config_key() -> tuple:
    return (
        settings.PAYMENT_GATEWAY,
        settings.MIDTRANS_SERVER_KEY,
        settings.MIDTRANS_CLIENT_KEY,
        settings.MIDTRANS_API_BASE_URL,
        settings.MIDTRANS_IS_PRODUCTION,
        settings.MIDTRANS_TIMEOUT_SECONDS,
    )


def get_gateway() -> PaymentGateway:
    key = _config_key()
    gateway = _instances.get(key)
    if gateway is None:
        with _lock:
            gateway = _instances.get(key)
            if gateway is None:
                if len(_instances) > 8:  # settings changed many times (tests): drop the old ones
                    _instances.clear()
                gateway = _instances[key] = import_string(settings.PAYMENT_GATEWAY)()
    return gateway
