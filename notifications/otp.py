"""Sign-in codes over WhatsApp (an approved authentication template with a copy-code button), else SMS.

The code is sent directly, not through the outbox: it must never be stored in clear, and it is worthless once
it expires. It travels only inside the provider request; no log line, exception text or stored row carries it
(the channels log a reference and error codes only). A transient failure is retried once at once, then the
next channel is tried.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext

from .channels import RETRY, SENT, ChannelMessage, get_channel

OTP_CHANNELS = ("whatsapp", "sms")


@dataclass(frozen=True)
class CodeDelivery:
    channel: str | None  # None: no channel took it
    provider_message_id: str = ""
    errors: tuple[str, ...] = ()


def otp_send(*, phone: str, code: str, ttl_seconds: int, language: str = "id") -> CodeDelivery:
    errors: list[str] = []
    minutes = max(1, ttl_seconds // 60)
    for name in OTP_CHANNELS:
        channel = get_channel(name)
        if channel is None:
            continue
        if name == "whatsapp":
            message = ChannelMessage(
                to=phone,
                text="",
                template=settings.WHATSAPP_OTP_TEMPLATE,
                params=(code,),
                language=language,
                otp=True,
                category="authentication",
                reference="sign-in code",
            )
        else:
            with translation.override(language):
                text = gettext(
                    "Pengampu: your sign-in code is %(code)s. It expires in %(minutes)s minutes. Never share it."
                ) % {"code": code, "minutes": minutes}
            message = ChannelMessage(to=phone, text=text, language=language, otp=True, reference="sign-in code")
        for _attempt in range(2):
            result = channel.send(message)
            if result.outcome != RETRY:
                break
        if result.outcome == SENT:
            return CodeDelivery(name, result.provider_message_id or "", tuple(errors))
        errors.append(f"{name}:{result.error_code or result.outcome}")
    return CodeDelivery(None, "", tuple(errors))
