"""WhatsApp Business through Meta's WhatsApp Cloud API, over `requests` with timeouts.

Sending: ``POST {base}/{version}/{phone-number-id}/messages`` with a bearer token. Business-initiated messages
must be pre-approved *templates* (category utility for reminders, authentication for sign-in codes, whose
copy-code button carries the code as a URL-button parameter); a free-form ``text`` message is allowed only as a
reply within 24 hours of the person's own message (the STATUS/BANTUAN answers).

Receipts and inbound messages arrive on one webhook, signed ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of
the raw body keyed with the app secret>``; `verify_signature` checks it in constant time and `parse_webhook`
turns the body into plain events.

Error codes (Graph API ``error.code``) and what they mean for the router:
  130429 throughput reached, 131056 pair rate limit, 80007/4 rate limits, 131000/131016 internal/unavailable,
  HTTP 429/5xx, timeouts, connection errors                       -> retry (backoff)
  131026 message undeliverable (not a WhatsApp user, old client),
  131021 recipient is the sender, 131047 outside the 24 h window  -> unreachable (next channel)
  132000/132001/132012 template parameter/name/format problems,
  190/0/10/200 token or permission problems                       -> failed (next channel, alert)
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass

import requests
import requests.adapters

from .base import FAILED, RETRY, SENT, UNREACHABLE, ChannelMessage, ChannelResult

logger = logging.getLogger(__name__)

RETRY_CODES = {130429, 131056, 80007, 4, 131000, 131016, 133004}
UNREACHABLE_CODES = {131026, 131021, 131047, 131049, 131050}


@dataclass(frozen=True)
class WhatsAppOptions:
    phone_number_id: str
    access_token: str
    base_url: str = "https://graph.facebook.com"
    api_version: str = "v21.0"
    timeout: float = 10.0


class WhatsAppCloud:
    name = "whatsapp"
    provider = "meta"

    def __init__(self, options: WhatsAppOptions, session: requests.Session | None = None) -> None:
        self.options = options
        if session is None:
            session = requests.Session()
            # One pooled connection per sending thread (notifications.channel_sending runs up to 8-16).
            session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=32))
            session.mount("https://", requests.adapters.HTTPAdapter(pool_maxsize=32))
        self.session = session
        self.session.headers.update({"Authorization": f"Bearer {options.access_token}"})
        self.url = f"{options.base_url.rstrip('/')}/{options.api_version}/{options.phone_number_id}/messages"

    def payload(self, message: ChannelMessage) -> dict:
        to = message.to.lstrip("+")  # the Cloud API takes digits with the country code
        base = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to}
        if message.template is None:
            return {**base, "type": "text", "text": {"preview_url": False, "body": message.text}}
        components: list[dict] = []
        if message.params:
            components.append(
                {"type": "body", "parameters": [{"type": "text", "text": str(p)} for p in message.params]}
            )
        if message.otp and message.params:  # the copy-code button repeats the code
            components.append(
                {
                    "type": "button",
                    "sub_type": "url",
                    "index": "0",
                    "parameters": [{"type": "text", "text": str(message.params[0])}],
                }
            )
        template: dict[str, object] = {"name": message.template, "language": {"code": message.language or "id"}}
        if components:
            template["components"] = components
        return {**base, "type": "template", "template": template}

    def send(self, message: ChannelMessage) -> ChannelResult:
        try:
            response = self.session.post(self.url, json=self.payload(message), timeout=self.options.timeout)
        except requests.Timeout:
            return ChannelResult(RETRY, error_code="timeout", error_message="WhatsApp API timed out")
        except requests.RequestException as exc:
            return ChannelResult(RETRY, error_code="network", error_message=type(exc).__name__)
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code == 200 and body.get("messages"):
            return ChannelResult(SENT, provider_message_id=body["messages"][0].get("id"))
        error = body.get("error") or {}
        code = error.get("code")
        detail = (error.get("error_data") or {}).get("details") or error.get("message") or response.reason
        retry_after = _retry_after(response)
        if response.status_code == 429 or response.status_code >= 500 or code in RETRY_CODES:
            outcome = RETRY
        elif code in UNREACHABLE_CODES:
            outcome = UNREACHABLE
        else:
            outcome = FAILED
        logger.warning("whatsapp send %s: HTTP %s code %s", message.reference or "-", response.status_code, code)
        return ChannelResult(
            outcome,
            error_code=str(code or response.status_code),
            error_message=str(detail)[:300],
            retry_after_seconds=retry_after,
        )


def _retry_after(response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value else None
    except ValueError:
        return None


def sign(body: bytes, app_secret: str) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, header: str | None, app_secret: str) -> bool:
    if not header or not app_secret:
        return False
    return hmac.compare_digest(sign(body, app_secret), header.strip())


@dataclass(frozen=True)
class StatusEvent:
    provider_message_id: str
    status: str  # sent | delivered | read | failed
    timestamp: int
    recipient: str
    error_code: str = ""
    error_title: str = ""


@dataclass(frozen=True)
class InboundMessage:
    message_id: str
    sender: str  # E.164 with "+"
    text: str
    timestamp: int


def parse_webhook(payload: dict) -> list[StatusEvent | InboundMessage]:
    """The statuses and text messages in a Cloud API webhook body (other change types are ignored)."""
    events: list[StatusEvent | InboundMessage] = []
    if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
        return events
    for entry in payload.get("entry") or []:
        for change in (entry or {}).get("changes") or []:
            value = (change or {}).get("value") or {}
            for status in value.get("statuses") or []:
                errors = status.get("errors") or [{}]
                events.append(
                    StatusEvent(
                        provider_message_id=str(status.get("id", "")),
                        status=str(status.get("status", "")),
                        timestamp=_int(status.get("timestamp")),
                        recipient=str(status.get("recipient_id", "")),
                        error_code=str(errors[0].get("code", "")),
                        error_title=str(errors[0].get("title", ""))[:200],
                    )
                )
            for message in value.get("messages") or []:
                if message.get("type") == "text":
                    text = (message.get("text") or {}).get("body", "")
                elif message.get("type") == "button":
                    text = (message.get("button") or {}).get("text", "")
                else:
                    text = ""
                sender = str(message.get("from", ""))
                events.append(
                    InboundMessage(
                        message_id=str(message.get("id", "")),
                        sender=sender if sender.startswith("+") else f"+{sender}",
                        text=str(text)[:1000],
                        timestamp=_int(message.get("timestamp")),
                    )
                )
    return events


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
