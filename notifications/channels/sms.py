"""SMS through Twilio Programmable Messaging, over `requests` with timeouts.

Why Twilio: a documented REST API and a documented webhook signature (X-Twilio-Signature), delivery to all
Indonesian operators (Telkomsel, Indosat, XL/Smartfren) with a pre-registered alphanumeric sender ID, and
status callbacks for every message. Indonesian operators do not support two-way SMS through it, so opt-out
replies (STOP/BERHENTI) and STATUS come in on WhatsApp only.

Sending: ``POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`` (HTTP Basic AccountSid:AuthToken),
form fields ``To``, ``From`` (the registered sender ID) or ``MessagingServiceSid``, ``Body`` and
``StatusCallback``. 201 answers the Message resource (``sid`` "SM…", ``status`` "queued").

Status callbacks are form posts (``MessageSid``, ``MessageStatus`` queued|sent|delivered|undelivered|failed,
``ErrorCode``) signed ``X-Twilio-Signature: base64(HMAC-SHA1(auth token, URL + each POST parameter name and
value, sorted by name))``; `signature` computes it and `verify_signature` compares in constant time.

Error codes (``code`` in the 4xx body) for the router:
  20429 / HTTP 429 too many concurrent requests, HTTP 5xx, timeouts  -> retry
  21211 invalid To, 21614 not a mobile number, 21610 recipient replied STOP, 21612 unreachable route
                                                                     -> unreachable (next channel)
  20003 authentication, 21408 region not enabled, 21606 bad From     -> failed
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Mapping
from dataclasses import dataclass

import requests
import requests.adapters

from .base import FAILED, RETRY, SENT, UNREACHABLE, ChannelMessage, ChannelResult

logger = logging.getLogger(__name__)

UNREACHABLE_CODES = {21211, 21614, 21610, 21612}
RETRY_CODES = {20429, 20500, 20503}


@dataclass(frozen=True)
class TwilioOptions:
    account_sid: str
    auth_token: str
    sender: str  # alphanumeric sender ID ("PENGAMPU") or a Messaging Service SID ("MG…")
    status_callback: str = ""
    base_url: str = "https://api.twilio.com"
    timeout: float = 10.0


class TwilioSMS:
    name = "sms"
    provider = "twilio"

    def __init__(self, options: TwilioOptions, session: requests.Session | None = None) -> None:
        self.options = options
        if session is None:
            session = requests.Session()
            # One pooled connection per sending thread (notifications.channel_sending runs up to 8-16).
            session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=32))
            session.mount("https://", requests.adapters.HTTPAdapter(pool_maxsize=32))
        self.session = session
        self.session.auth = (options.account_sid, options.auth_token)
        self.url = f"{options.base_url.rstrip('/')}/2010-04-01/Accounts/{options.account_sid}/Messages.json"

    def form(self, message: ChannelMessage) -> dict:
        form = {"To": message.to, "Body": message.text}
        if self.options.sender.startswith("MG"):
            form["MessagingServiceSid"] = self.options.sender
        else:
            form["From"] = self.options.sender
        if self.options.status_callback:
            form["StatusCallback"] = self.options.status_callback
        return form

    def send(self, message: ChannelMessage) -> ChannelResult:
        try:
            response = self.session.post(self.url, data=self.form(message), timeout=self.options.timeout)
        except requests.Timeout:
            return ChannelResult(RETRY, error_code="timeout", error_message="Twilio API timed out")
        except requests.RequestException as exc:
            return ChannelResult(RETRY, error_code="network", error_message=type(exc).__name__)
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code in (200, 201) and body.get("sid"):
            return ChannelResult(SENT, provider_message_id=body["sid"])
        code = body.get("code")
        if response.status_code == 429 or response.status_code >= 500 or code in RETRY_CODES:
            outcome = RETRY
        elif code in UNREACHABLE_CODES:
            outcome = UNREACHABLE
        else:
            outcome = FAILED
        logger.warning("sms send %s: HTTP %s code %s", message.reference or "-", response.status_code, code)
        retry_after = response.headers.get("Retry-After")
        return ChannelResult(
            outcome,
            error_code=str(code or response.status_code),
            error_message=str(body.get("message") or response.reason)[:300],
            retry_after_seconds=float(retry_after) if retry_after and retry_after.isdigit() else None,
        )


def signature(url: str, params: Mapping[str, str], auth_token: str) -> str:
    data = url + "".join(f"{key}{params[key]}" for key in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def verify_signature(url: str, params: Mapping[str, str], header: str | None, auth_token: str) -> bool:
    if not header or not auth_token:
        return False
    return hmac.compare_digest(signature(url, params, auth_token), header.strip())
