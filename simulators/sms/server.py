"""A local fake of Twilio's Programmable Messaging API (SMS), with signed status callbacks.

    with FakeTwilio(account_sid="AC…", auth_token="…") as fake:
        POST {fake.base_url}/2010-04-01/Accounts/{sid}/Messages.json  (HTTP Basic sid:token, form To/From/Body)
        fake.inbox("+6281234567890")

As Twilio answers:
* Basic auth ``AccountSid:AuthToken`` of this account: else 401 code 20003 ("Authenticate").
* ``To`` required (21604) and a valid E.164 mobile number (21211 invalid, 21614 for numbers marked landline);
  ``Body`` required (21602); ``From`` or ``MessagingServiceSid`` required (21603).
* Concurrency: at most `max_concurrent` requests in flight per account (Twilio's limit is per account), and
  optionally `rps` per second: beyond either 429 code 20429 ("Too Many Requests").
* 201 with the Message resource (``sid`` "SM" + 32 hex, ``status`` "queued", ``num_segments``, ``price``
  null until sent, ``direction`` "outbound-api", RFC 2822 dates).
* Status callbacks to ``StatusCallback`` as form posts: "sent" then "delivered" (or "undelivered" with
  ErrorCode 30003 for numbers marked `set_unreachable`), signed ``X-Twilio-Signature`` =
  base64(HMAC-SHA1(auth token, callback URL + sorted POST name/value pairs)).
* `/` shows the inbox; `/__fake/messages`, `/__fake/stats`, `/__fake/reset` are the control API.

Stdlib only; binds 127.0.0.1.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
import json
import queue
import re
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

from .._fakehttp import Bucket, Handler, Running, inbox_html, post

_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC[0-9a-fA-F]{32}|AC[\w]+)/Messages\.json$")
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")


@dataclass
class SmsMessage:
    sid: str
    to: str
    sender: str
    body: str
    at: float
    callback: str
    statuses: list[str] = field(default_factory=list)


def twilio_signature(url: str, params: dict[str, str], auth_token: str) -> str:
    data = url + "".join(f"{k}{params[k]}" for k in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()


class FakeTwilio(Running):
    def __init__(
        self,
        *,
        port: int = 0,
        account_sid: str = "AC" + "0" * 31 + "1",
        auth_token: str = "fake-twilio-auth-token",
        max_concurrent: int = 100,
        rps: float = 0.0,
        auto_callbacks: bool = True,
        latency_seconds: float = 0.0,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.max_concurrent = max_concurrent
        self.rps = rps
        self.auto_callbacks = auto_callbacks
        self.latency_seconds = latency_seconds
        self._port = port
        self._lock = threading.Lock()
        self._in_flight = threading.BoundedSemaphore(max_concurrent)
        self._events: queue.Queue = queue.Queue()
        self._poster = threading.Thread(target=self._post_loop, daemon=True)
        self.reset()

    def start(self) -> FakeTwilio:
        class _H(_TwilioHandler):
            pass

        _H.fake = self
        self._serve(_H, self._port)
        self._poster.start()
        return self

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def reset(self) -> None:
        with self._lock:
            self.messages: list[SmsMessage] = []
            self.rejected: list[dict] = []
            self.landlines: set[str] = set()
            self.unreachable: set[str] = set()
            self.injected: list[tuple[int, int, str]] = []
            self.callback_posts: list[tuple[int, dict]] = []
            self.bucket = Bucket(self.rps)
            self.peak_concurrency = 0
            self._concurrency = 0

    def set_landline(self, number: str) -> None:
        self.landlines.add(number)

    def set_unreachable(self, number: str) -> None:
        self.unreachable.add(number)

    def fail_next(self, code: int, http_status: int = 400, message: str = "Injected error", times: int = 1) -> None:
        with self._lock:
            self.injected += [(http_status, code, message)] * times

    def inbox(self, number: str) -> list[SmsMessage]:
        with self._lock:
            return [m for m in self.messages if m.to == number]

    def stats(self) -> dict:
        with self._lock:
            return {
                "accepted": len(self.messages),
                "rejected": len(self.rejected),
                "callbacks": len(self.callback_posts),
                "peak_concurrency": self.peak_concurrency,
            }

    def wait_idle(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self._events.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)

    def send_status(self, sid: str, status: str, error_code: int | None = None) -> int:
        with self._lock:
            message = next((m for m in self.messages if m.sid == sid), None)
            if message is not None:
                message.statuses.append(status)
        if message is None or not message.callback:
            return 0
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "From": message.sender,
            "MessageSid": sid,
            "MessageStatus": status,
            "SmsSid": sid,
            "SmsStatus": status,
            "To": message.to,
        }
        if error_code:
            params["ErrorCode"] = str(error_code)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": twilio_signature(message.callback, params, self.auth_token),
        }
        code = post(message.callback, urllib.parse.urlencode(params).encode(), headers)
        with self._lock:
            self.callback_posts.append((code, params))
        return code

    def _post_loop(self) -> None:
        while True:
            sid, statuses, error = self._events.get()
            try:
                for status in statuses:
                    self.send_status(sid, status, error if status == "undelivered" else None)
            finally:
                self._events.task_done()

    def _error(self, status: int, code: int, message: str) -> tuple[int, dict]:
        with self._lock:
            self.rejected.append({"status": status, "code": code})
        return status, {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }

    def handle_send(self, sid: str, authorization: str, form: dict[str, str]) -> tuple[int, dict]:
        if not self._in_flight.acquire(blocking=False):
            return self._error(429, 20429, "Too Many Requests")
        try:
            with self._lock:
                self._concurrency += 1
                self.peak_concurrency = max(self.peak_concurrency, self._concurrency)
            if self.latency_seconds:
                time.sleep(self.latency_seconds)
            return self._send(sid, authorization, form)
        finally:
            with self._lock:
                self._concurrency -= 1
            self._in_flight.release()

    def _send(self, sid: str, authorization: str, form: dict[str, str]) -> tuple[int, dict]:
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if sid != self.account_sid or not hmac.compare_digest(authorization, expected):
            return self._error(401, 20003, "Authenticate")
        with self._lock:
            injected = self.injected.pop(0) if self.injected else None
        if injected:
            return self._error(*injected)
        if not self.bucket.take():
            return self._error(429, 20429, "Too Many Requests")
        to, body = form.get("To", ""), form.get("Body", "")
        sender = form.get("From") or form.get("MessagingServiceSid") or ""
        if not to:
            return self._error(400, 21604, "A 'To' phone number is required.")
        if not _E164.match(to):
            return self._error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if to in self.landlines:
            return self._error(400, 21614, f"'To' number {to} is not a valid mobile number")
        if not body:
            return self._error(400, 21602, "Message body is required.")
        if not sender:
            return self._error(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required to send a message")
        message_sid = "SM" + secrets.token_hex(16)
        now = time.time()
        callback = form.get("StatusCallback", "")
        with self._lock:
            self.messages.append(SmsMessage(message_sid, to, sender, body, now, callback))
        if callback and self.auto_callbacks:
            if to in self.unreachable:
                self._events.put((message_sid, ["sent", "undelivered"], 30003))
            else:
                self._events.put((message_sid, ["sent", "delivered"], None))
        date = email.utils.formatdate(now, usegmt=True)
        segments = 1 if len(body) <= 160 else -(-len(body) // 153)
        return 201, {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": date,
            "date_sent": None,
            "date_updated": date,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": sender if not sender.startswith("MG") else None,
            "messaging_service_sid": sender if sender.startswith("MG") else None,
            "num_media": "0",
            "num_segments": str(segments),
            "price": None,
            "price_unit": "USD",
            "sid": message_sid,
            "status": "queued",
            "to": to,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{message_sid}.json",
        }

    def inbox_page(self) -> bytes:
        with self._lock:
            rows = [
                (time.strftime("%H:%M:%S", time.localtime(m.at)), m.to, m.body, ",".join(m.statuses) or "queued")
                for m in reversed(self.messages[-500:])
            ]
        return inbox_html("Fake Twilio SMS: inbox", rows)


class _TwilioHandler(Handler):
    fake: FakeTwilio

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        body = self.body()
        path = urllib.parse.urlsplit(self.path).path
        match = _PATH.match(path)
        if match:
            form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode(), keep_blank_values=True).items()}
            status, payload = self.fake.handle_send(match["sid"], self.headers.get("Authorization", ""), form)
            return self.reply(status, json.dumps(payload).encode(), "application/json")
        if path == "/__fake/reset":
            self.fake.reset()
            return self.reply(200, b"{}", "application/json")
        return self.reply(
            404, json.dumps({"code": 20404, "message": "Not Found", "status": 404}).encode(), "application/json"
        )

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        parts = urllib.parse.urlsplit(self.path)
        if parts.path == "/":
            return self.reply(200, self.fake.inbox_page(), "text/html; charset=utf-8")
        if parts.path == "/__fake/stats":
            return self.reply(200, json.dumps(self.fake.stats()).encode(), "application/json")
        if parts.path == "/__fake/messages":
            to = (urllib.parse.parse_qs(parts.query).get("to") or [""])[0]
            items = self.fake.inbox(to) if to else list(self.fake.messages)
            data = [{"sid": m.sid, "to": m.to, "body": m.body, "statuses": m.statuses} for m in items]
            return self.reply(200, json.dumps(data).encode(), "application/json")
        return self.reply(404, b"{}", "application/json")
