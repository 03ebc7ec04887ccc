"""Message channels beyond app push: WhatsApp (Meta Cloud API), SMS (Twilio), and a console for development.

Chosen by setting, one instance per process:

    WHATSAPP_PROVIDER   "" (off) | meta | console
    WHATSAPP_API_BASE_URL (https://graph.facebook.com; the local fake in dev/tests), WHATSAPP_API_VERSION,
    WHATSAPP_PHONE_NUMBER_ID, WHATSAPP_ACCESS_TOKEN, WHATSAPP_APP_SECRET (webhook signatures),
    WHATSAPP_VERIFY_TOKEN (webhook subscription), WHATSAPP_TIMEOUT_SECONDS
    SMS_PROVIDER        "" (off) | twilio | console
    TWILIO_API_BASE_URL (https://api.twilio.com), TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_SENDER,
    TWILIO_STATUS_CALLBACK_URL (the public URL of our status webhook; also the URL signatures are checked
    against), SMS_TIMEOUT_SECONDS
"""

from __future__ import annotations

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from .base import FAILED, RETRY, SENT, UNREACHABLE, ChannelMessage, ChannelResult, MessageChannel

__all__ = [
    "FAILED",
    "RETRY",
    "SENT",
    "UNREACHABLE",
    "ChannelMessage",
    "ChannelResult",
    "MessageChannel",
    "configured_channels",
    "get_channel",
]

_channels: dict[str, MessageChannel | None] = {}


def _build(name: str) -> MessageChannel | None:
    if name == "whatsapp":
        provider = str(getattr(settings, "WHATSAPP_PROVIDER", "") or "").lower()
        if provider == "console":
            from .console import ConsoleChannel

            return ConsoleChannel("whatsapp")
        if provider == "meta":
            from .whatsapp import WhatsAppCloud, WhatsAppOptions

            return WhatsAppCloud(
                WhatsAppOptions(
                    phone_number_id=settings.WHATSAPP_PHONE_NUMBER_ID,
                    access_token=settings.WHATSAPP_ACCESS_TOKEN,
                    base_url=settings.WHATSAPP_API_BASE_URL,
                    api_version=settings.WHATSAPP_API_VERSION,
                    timeout=settings.WHATSAPP_TIMEOUT_SECONDS,
                )
            )
        if provider:
            raise ValueError(f"Unknown WHATSAPP_PROVIDER {provider!r}; expected '', 'meta' or 'console'")
        return None
    if name == "sms":
        provider = str(getattr(settings, "SMS_PROVIDER", "") or "").lower()
        if provider == "console":
            from .console import ConsoleChannel

            return ConsoleChannel("sms")
        if provider == "twilio":
            from .sms import TwilioOptions, TwilioSMS

            return TwilioSMS(
                TwilioOptions(
                    account_sid=settings.TWILIO_ACCOUNT_SID,
                    auth_token=settings.TWILIO_AUTH_TOKEN,
                    sender=settings.TWILIO_SENDER,
                    status_callback=settings.TWILIO_STATUS_CALLBACK_URL,
                    base_url=settings.TWILIO_API_BASE_URL,
                    timeout=settings.SMS_TIMEOUT_SECONDS,
                )
            )
        if provider:
            raise ValueError(f"Unknown SMS_PROVIDER {provider!r}; expected '', 'twilio' or 'console'")
        return None
    raise ValueError(f"unknown channel {name!r}")


def get_channel(name: str) -> MessageChannel | None:
    """The configured channel `name` ("whatsapp" | "sms"), or None when it is switched off."""
    if name not in _channels:
        _channels[name] = _build(name)
    return _channels[name]


def configured_channels() -> set[str]:
    return {name for name in ("whatsapp", "sms") if get_channel(name) is not None}


@receiver(setting_changed)
def _reset(setting, **kwargs):
    if setting.startswith(("WHATSAPP_", "SMS_", "TWILIO_")):
        _channels.clear()
