"""The message-channel interface (WhatsApp, SMS, console): plain data in, plain data out, no Django models.

A channel sends one `ChannelMessage` to one phone number and answers a `ChannelResult`:

* ``sent``        - the provider accepted it; `provider_message_id` matches its delivery receipts later.
* ``retry``       - transient (rate limit 429, 5xx, timeout, network): try the same channel again later,
                    no sooner than `retry_after_seconds` when set.
* ``unreachable`` - this number cannot get messages on this channel (not on WhatsApp, landline, blocked):
                    the next channel of the route is tried at once.
* ``failed``      - permanent for this message (a template or configuration problem): also the next channel.

Push (FCM) keeps its own device-based interface in notifications.providers; the router treats it as a channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

Outcome = Literal["sent", "retry", "unreachable", "failed"]
SENT: Outcome = "sent"
RETRY: Outcome = "retry"
UNREACHABLE: Outcome = "unreachable"
FAILED: Outcome = "failed"


@dataclass(frozen=True)
class ChannelMessage:
    """One message to one phone (E.164, `+628…`).

    `template` names a pre-approved WhatsApp template (`params` fill its body placeholders in order); `text` is
    the full rendered text, which SMS and the console send and WhatsApp sends only as a free-form reply inside
    the 24-hour customer-service window (`template=None`). `otp` marks a sign-in code: it travels only in
    `params[0]` and is never logged or stored by a channel.
    """

    to: str
    text: str
    template: str | None = None
    params: tuple[str, ...] = ()
    language: str = "id"
    reference: str = ""  # our own id (the outbox row), echoed in logs instead of the text
    otp: bool = False
    category: str = "utility"  # WhatsApp pricing category: utility | authentication | service


@dataclass(frozen=True)
class ChannelResult:
    outcome: Outcome
    provider_message_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    retry_after_seconds: float | None = None
    extra: dict = field(default_factory=dict)


@runtime_checkable
class MessageChannel(Protocol):
    name: str  # "whatsapp" | "sms"
    provider: str  # "meta" | "twilio" | "console"

    def send(self, message: ChannelMessage) -> ChannelResult:
        """Send one message; never raises for provider or network failures (they become results)."""
        ...
