"""A local fake of Meta's WhatsApp Cloud API: send messages, receipts and inbound messages by signed webhook.

    with FakeWhatsApp(access_token="t", app_secret="s", webhook_url=WEBHOOK) as fake:
        ... POST {fake.base_url}/v21.0/{fake.phone_number_id}/messages ...
        fake.inbox("+6281234567890")        # what that phone received (templates rendered)
        fake.send_inbound("+6281234567890", "STATUS")   # the person writes to us

What it checks and answers, as the real API does:
* ``Authorization: Bearer <token>``: else 401, error code 190 (OAuthException).
* ``messaging_product: whatsapp``, ``to`` (digits), ``type`` template|text; a template must be approved here
  (`templates`), with as many body parameters as its text has placeholders: else 400 with code 132001 (name
  does not exist in the language) or 132000 (parameter count mismatch); a free-form ``text`` message only
  inside 24 hours after the person wrote to us: else 400 code 131047 (re-engagement message).
* Throughput: `mps` messages per second per phone number (default 80): beyond it 400 with code 130429
  ("Rate limit hit"), as Meta answers.
* 200: ``{"messaging_product": "whatsapp", "contacts": [{"input", "wa_id"}], "messages": [{"id": "wamid.…"}]}``.
* Receipts: when a webhook URL is set, "sent" and "delivered" (and "read" with `auto_read`) are posted for each
  accepted message, signed ``X-Hub-Signature-256: sha256=HMAC-SHA256(app secret, body)``. A number marked
  with `set_not_on_whatsapp` is accepted and then gets a "failed" receipt with error 131026, as Meta does.
* `fail_next(code, http_status)` injects errors; `/` shows the inbox in a browser (dev.py prints the URL);
  `/__fake/messages`, `/__fake/stats`, `/__fake/reset`, `/__fake/inbound` are the control API.

Stdlib only; binds 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import queue
import re
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

from .._fakehttp import Bucket, Handler, Running, inbox_html, post

# Approved templates (name -> body text per language). Authentication templates have Meta's preset text.
DEFAULT_TEMPLATES: dict[str, str] = {
    "pengampu_kode_masuk": "*{{1}}* adalah kode verifikasi Anda. Demi keamanan, jangan bagikan kode ini.",
}
_PATH = re.compile(r"^/(?P<version>v\d+\.\d+)/(?P<pid>[^/]+)/messages$")


@dataclass
class SentMessage:
    id: str
    to: str  # E.164 with "+"
    type: str
    template: str | None
    params: list[str]
    text: str  # what the phone shows
    at: float
    statuses: list[str] = field(default_factory=list)


class FakeWhatsApp(Running):
    def __init__(
        self,
        *,
        port: int = 0,
        access_token: str = "fake-whatsapp-token",
        app_secret: str = "fake-app-secret",
        phone_number_id: str = "100000000000001",
        webhook_url: str | None = None,
        mps: float = 80.0,
        auto_receipts: bool = True,
        auto_read: bool = False,
        templates: dict[str, str] | None = None,
        accept_any_template: bool = True,
    ) -> None:
        self.access_token = access_token
        self.app_secret = app_secret
        self.phone_number_id = phone_number_id
        self.webhook_url = webhook_url
        self.mps = mps
        self.auto_receipts = auto_receipts
        self.auto_read = auto_read
        self.templates = dict(DEFAULT_TEMPLATES, **(templates or {}))
        # pengampu_<kind> reminders are approved in Meta's Business Manager; with this flag any pengampu_* name
        # counts as approved and its parameters are shown as they are.
        self.accept_any_template = accept_any_template
        self._lock = threading.Lock()
        self._port = port
        self.reset()
        self._events: queue.Queue = queue.Queue()
        self._poster = threading.Thread(target=self._post_loop, daemon=True)

    # -- lifecycle ------------------------------------------------------------------------------------------
    def start(self) -> FakeWhatsApp:
        fake = self

        class _H(_WhatsAppHandler):
            pass

        _H.fake = fake
        self._serve(_H, self._port)
        self._poster.start()
        return self

    def __enter__(self) -> FakeWhatsApp:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def reset(self) -> None:
        with self._lock:
            self.messages: list[SentMessage] = []
            self.rejected: list[dict] = []
            self.not_on_whatsapp: set[str] = set()
            self.injected: list[tuple[int, int, str]] = []
            self.windows: dict[str, float] = {}  # number -> last inbound time (24 h window)
            self.webhook_posts: list[tuple[int, dict]] = []
            self.bucket = Bucket(self.mps)
            self._ids = itertools.count(1)

    # -- control --------------------------------------------------------------------------------------------
    def set_not_on_whatsapp(self, number: str) -> None:
        self.not_on_whatsapp.add(_e164(number))

    def fail_next(self, code: int, http_status: int = 400, message: str = "Injected error", times: int = 1) -> None:
        with self._lock:
            self.injected += [(http_status, code, message)] * times

    def inbox(self, number: str) -> list[SentMessage]:
        number = _e164(number)
        with self._lock:
            return [m for m in self.messages if m.to == number]

    def last_code(self, number: str) -> str | None:
        for message in reversed(self.inbox(number)):
            if message.template and message.template in self.templates and "kode" in message.template:
                return message.params[0] if message.params else None
        return None

    def stats(self) -> dict:
        with self._lock:
            return {"accepted": len(self.messages), "rejected": len(self.rejected), "webhooks": len(self.webhook_posts)}

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Until every queued receipt was posted."""
        deadline = time.monotonic() + timeout
        while self._events.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)

    # -- webhooks -------------------------------------------------------------------------------------------
    def signed(self, payload: dict) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(payload, separators=(",", ":")).encode()
        sig = "sha256=" + hmac.new(self.app_secret.encode(), body, hashlib.sha256).hexdigest()
        return body, {"Content-Type": "application/json", "X-Hub-Signature-256": sig}

    def _envelope(self, value: dict) -> dict:
        value = {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "6281100000000", "phone_number_id": self.phone_number_id},
            **value,
        }
        return {
            "object": "whatsapp_business_account",
            "entry": [{"id": "WABA-FAKE", "changes": [{"value": value, "field": "messages"}]}],
        }

    def status_payload(self, message_id: str, status: str, error_code: int | None = None) -> dict:
        with self._lock:
            message = next((m for m in self.messages if m.id == message_id), None)
            if message is not None:
                message.statuses.append(status)
        item: dict[str, object] = {
            "id": message_id,
            "status": status,
            "timestamp": str(int(time.time())),
            "recipient_id": (message.to.lstrip("+") if message else ""),
        }
        if status in ("sent", "delivered"):
            item["pricing"] = {"billable": True, "pricing_model": "PMP", "category": "utility"}
        if error_code:
            item["errors"] = [{"code": error_code, "title": "Message undeliverable."}]
        return self._envelope({"statuses": [item]})

    def send_status(self, message_id: str, status: str, error_code: int | None = None) -> int:
        """Post one receipt now (synchronously); returns the webhook's HTTP status."""
        return self._post(self.status_payload(message_id, status, error_code))

    def send_inbound(self, number: str, text: str, message_id: str | None = None) -> int:
        """The person writes to us: post the signed inbound webhook now; returns its HTTP status."""
        return self._post(self.inbound_payload(number, text, message_id))

    def inbound_payload(self, number: str, text: str, message_id: str | None = None) -> dict:
        """The webhook body of an inbound text message (opens the 24-hour window for free-form replies)."""
        number = _e164(number)
        with self._lock:
            self.windows[number] = time.time()
        message = {
            "from": number.lstrip("+"),
            "id": message_id or f"wamid.IN{secrets.token_hex(12)}",
            "timestamp": str(int(time.time())),
            "type": "text",
            "text": {"body": text},
        }
        contacts = [{"profile": {"name": "Pekerja"}, "wa_id": number.lstrip("+")}]
        return self._envelope({"contacts": contacts, "messages": [message]})

    def _post(self, payload: dict) -> int:
        if not self.webhook_url:
            return 0
        body, headers = self.signed(payload)
        status = post(self.webhook_url, body, headers)
        with self._lock:
            self.webhook_posts.append((status, payload))
        return status

    def _post_loop(self) -> None:
        while True:
            message_id, statuses, error = self._events.get()
            try:
                for status in statuses:
                    self.send_status(message_id, status, error if status == "failed" else None)
            finally:
                self._events.task_done()

    # -- the API ----------------------------------------------------------------------------------------------
    def handle_send(self, pid: str, authorization: str, body: bytes) -> tuple[int, dict]:
        if authorization != f"Bearer {self.access_token}":
            return self._reject(
                401, 190, "Error validating access token: Invalid OAuth access token.", "OAuthException"
            )
        if pid != self.phone_number_id:
            return self._reject(400, 100, f"Unsupported post request. Object with ID '{pid}' does not exist")
        with self._lock:
            injected = self.injected.pop(0) if self.injected else None
        if injected:
            return self._reject(injected[0], injected[1], injected[2])
        if not self.bucket.take():
            return self._reject(
                400, 130429, "(#130429) Rate limit hit", details="Cloud API message throughput has been reached."
            )
        try:
            data = json.loads(body)
        except ValueError:
            return self._reject(400, 100, "Invalid parameter", details="body is not JSON")
        to = str(data.get("to", ""))
        if data.get("messaging_product") != "whatsapp" or not to.lstrip("+").isdigit():
            return self._reject(400, 100, "(#100) Invalid parameter", details="messaging_product/to")
        number = _e164(to)
        kind = data.get("type", "text")
        template_name, params = None, []
        if kind == "template":
            template = data.get("template") or {}
            template_name = template.get("name")
            for component in template.get("components") or []:
                if component.get("type") == "body":
                    params = [str(p.get("text", "")) for p in component.get("parameters") or []]
            known = self.templates.get(template_name or "")
            if known is None and not (self.accept_any_template and str(template_name).startswith("pengampu_")):
                return self._reject(
                    404,
                    132001,
                    "(#132001) Template name does not exist in the translation",
                    details=f"template name ({template_name}) does not exist in {_language(template)}",
                )
            if known is not None and len(params) != len(re.findall(r"\{\{\d+\}\}", known)):
                return self._reject(
                    400, 132000, "(#132000) Number of parameters does not match the expected number of params"
                )
            text = _fill(known, params) if known else f"[{template_name}] " + " | ".join(params)
        elif kind == "text":
            with self._lock:
                opened = self.windows.get(number)
            if opened is None or time.time() - opened > 24 * 3600:
                return self._reject(
                    400,
                    131047,
                    "Re-engagement message",
                    details="More than 24 hours have passed since the recipient last replied",
                )
            text = str((data.get("text") or {}).get("body", ""))
        else:
            return self._reject(400, 100, "(#100) Invalid parameter", details=f"type {kind} not supported by this fake")
        message_id = f"wamid.HBgN{secrets.token_hex(16).upper()}"
        with self._lock:
            self.messages.append(SentMessage(message_id, number, kind, template_name, params, text, time.time()))
        if self.webhook_url and self.auto_receipts:
            if number in self.not_on_whatsapp:
                self._events.put((message_id, ["failed"], 131026))
            else:
                self._events.put((message_id, ["sent", "delivered", *(["read"] if self.auto_read else [])], None))
        return 200, {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": number.lstrip("+")}],
            "messages": [{"id": message_id, **({"message_status": "accepted"} if kind == "template" else {})}],
        }

    def _reject(
        self, status: int, code: int, message: str, type_: str = "OAuthException", details: str = ""
    ) -> tuple[int, dict]:
        error = {"message": message, "type": type_, "code": code, "fbtrace_id": secrets.token_urlsafe(8)}
        if details:
            error["error_data"] = {"messaging_product": "whatsapp", "details": details}
        with self._lock:
            self.rejected.append({"status": status, "code": code})
        return status, {"error": error}

    def inbox_page(self) -> bytes:
        with self._lock:
            rows = [
                (time.strftime("%H:%M:%S", time.localtime(m.at)), m.to, m.text, ",".join(m.statuses) or "accepted")
                for m in reversed(self.messages[-500:])
            ]
        form = (
            "<form method='post' action='/__fake/inbound'><b>Send as a worker:</b> "
            "<input name='from' placeholder='+62812…'> <input name='text' value='STATUS'> "
            "<button>Send to Pengampu</button></form><p></p>"
        )
        return inbox_html("Fake WhatsApp: inbox", rows, form)


def _language(template: dict) -> str:
    return str((template.get("language") or {}).get("code"))


def _fill(text: str, params: list[str]) -> str:
    return re.sub(
        r"\{\{(\d+)\}\}", lambda m: params[int(m.group(1)) - 1] if int(m.group(1)) <= len(params) else "", text
    )


def _e164(number: str) -> str:
    digits = re.sub(r"\D", "", str(number))
    return f"+{digits}"


class _WhatsAppHandler(Handler):
    fake: FakeWhatsApp

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        body = self.body()
        path = urllib.parse.urlsplit(self.path).path
        match = _PATH.match(path)
        if match:
            status, payload = self.fake.handle_send(match["pid"], self.headers.get("Authorization", ""), body)
            return self.reply(status, json.dumps(payload).encode(), "application/json")
        if path == "/__fake/reset":
            self.fake.reset()
            return self.reply(200, b"{}", "application/json")
        if path == "/__fake/inbound":
            form = urllib.parse.parse_qs(body.decode())
            number, text = (form.get("from") or [""])[0], (form.get("text") or [""])[0]
            if self.headers.get("Content-Type", "").startswith("application/json"):
                data = json.loads(body or b"{}")
                number, text = data.get("from", ""), data.get("text", "")
            status = self.fake.send_inbound(number, text)
            if "json" in self.headers.get("Content-Type", ""):
                return self.reply(200, json.dumps({"webhook_status": status}).encode(), "application/json")
            self.send_response(303)
            self.send_header("Location", "/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        return self.reply(404, b'{"error": {"message": "Unknown path", "code": 100}}', "application/json")

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        parts = urllib.parse.urlsplit(self.path)
        if parts.path == "/":
            return self.reply(200, self.fake.inbox_page(), "text/html; charset=utf-8")
        if parts.path == "/__fake/stats":
            return self.reply(200, json.dumps(self.fake.stats()).encode(), "application/json")
        if parts.path == "/__fake/messages":
            to = (urllib.parse.parse_qs(parts.query).get("to") or [""])[0]
            items = self.fake.inbox(to) if to else list(self.fake.messages)
            data = [
                {"id": m.id, "to": m.to, "template": m.template, "text": m.text, "statuses": m.statuses} for m in items
            ]
            return self.reply(200, json.dumps(data).encode(), "application/json")
        return self.reply(404, b"{}", "application/json")
