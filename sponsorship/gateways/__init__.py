"""Payment gateways behind one small interface (base.PaymentGateway). Chosen by settings.PAYMENT_GATEWAY."""
from django.conf import settings
from django.utils.module_loading import import_string

from .base import PaymentGateway


def get_gateway() -> PaymentGateway:
    return import_string(settings.PAYMENT_GATEWAY)()
