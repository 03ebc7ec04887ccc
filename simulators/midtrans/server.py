"""HTTP front of the simulator: routing, Basic auth, fault injection and Idempotency-Key.

Status-code conventions follow reference §4.3: Snap uses real HTTP codes with `error_messages`;
Core uses real HTTP codes for 400/401/404/500 and HTTP 200 with an error `status_code` in the
body for 402/406/412/414 (midtransclient raises on both, never on 407).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import socket
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from . import control, page
from .state import SimError, SnapError
from .validation import notification_urls

if TYPE_CHECKING:
    from .simulator import MidtransSimulator

SNAP_401 = [
    "Access denied due to unauthorized transaction, please check client or server key",
    "Visit https://snap-docs.midtrans.com/#request-headers for more details",
]
CORE_401 = "Transaction cannot be authorized with the current client/server key."
SNAP_500 = ["Sorry, we encountered internal server error. We will fix this soon."]

ROUTES: list[tuple[str, re.Pattern, str]] = [
    (m, re.compile(f"^{p}$"), name)
    for m, p, name in [
        ("POST", r"/snap/v1/transactions", "snap_create"),
        ("POST", r"/snap/v1/transactions/(?P<token>[^/]+)/cancel", "snap_cancel"),
        ("GET", r"/snap/v[1-4]/redirection/(?P<token>[^/]+)", "snap_page"),
        ("POST", r"/snap/v[1-4]/redirection/(?P<token>[^/]+)/(?P<action>choose|pay|fail)", "snap_page_action"),
        ("POST", r"/v2/charge", "core_charge"),
        ("GET", r"/v2/(?P<kind>qris|gopay|shopeepay)/(?P<tid>[^/]+)/qr-code", "qr_code"),
        ("GET", r"/v2/(?P<id>[^/]+)/status", "core_status"),
        ("POST", r"/v2/(?P<id>[^/]+)/(?P<action>cancel|expire|refund|approve|deny)", "core_action"),
        ("GET", r"/(?:_sim/ui/?)?", "ui_dashboard"),
        ("GET", r"/_sim/ui/tx/(?P<tid>[^/]+)", "ui_tx"),
        ("POST", r"/_sim/ui/tx/(?P<tid>[^/]+)/(?P<action>pay|fail)", "ui_tx_action"),
        ("POST", r"/_sim/ui/pay-code", "ui_pay_code"),
        ("GET", r"/_sim/(?P<name>[a-z_]+)", "sim_get"),
        ("POST", r"/_sim/(?P<name>[a-z_]+)", "sim_post"),
        ("DELETE", r"/_sim/faults", "sim_faults_clear"),
    ]
]
API_PREFIXES = ("/snap/v1/", "/v2/")  # Midtrans API paths: auth, idempotency
NO_AUTH = {"qr_code"}


class SimHTTPServer(ThreadingHTTPServer):
    """The HTTP server; carries the simulator its handlers serve."""

    sim: MidtransSimulator


def make_server(sim: MidtransSimulator, host: str, port: int) -> SimHTTPServer:
    server = SimHTTPServer((host, port), Handler)
    server.daemon_threads = True
    server.sim = sim
    return server


class Handler(BaseHTTPRequestHandler):
    server_version = "MidtransSimulator/1.0"
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # small responses otherwise wait ~40 ms for delayed ACKs

    def log_message(self, fmt, *args):  # keep test output clean
        pass

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_DELETE(self):
        self._dispatch("DELETE")

    # ---- plumbing ------------------------------------------------------------------------------
    @property
    def sim(self):
        return self.server.sim

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        path, self.query = url.path, {k: v[-1] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        self.raw = self.rfile.read(length) if length else b""
        is_api = path.startswith(API_PREFIXES)
        if not path.startswith("/_sim"):
            fault = self.sim.faults.take(method, path)
            if fault and self._apply_fault(fault, snap=path.startswith("/snap/")):
                return
        for route_method, pattern, name in ROUTES:  # noqa: B007 - name is read after the loop (break)
            match = pattern.match(path)
            if match and route_method == method:
                break
        else:
            self._send(
                404,
                {
                    "status_code": "404",
                    "status_message": "The requested resource is not found",
                    "id": str(uuid.uuid4()),
                },
            )
            return
        if is_api and name not in NO_AUTH and not self._authorized():
            snap = path.startswith("/snap/")
            self._send(
                401,
                {"error_messages": SNAP_401}
                if snap
                else {"status_code": "401", "status_message": CORE_401, "id": str(uuid.uuid4())},
            )
            return
        key = self.headers.get("Idempotency-Key")
        if not (is_api and method == "POST" and key and len(key) <= 46):
            self._send(*getattr(self, name)(**match.groupdict()))
            return
        cached = self.sim.idempotency.begin(key)
        if cached == "busy":
            self._send(202, {"status_code": "202", "status_message": "Request is still being processed"})
            return
        if cached:
            self._send(*cached)
            return
        response = getattr(self, name)(**match.groupdict())
        ok = response[0] < 400 and int(response[1].get("status_code", 200)) < 400
        self.sim.idempotency.finish(key, response if ok else None)
        self._send(*response)

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user = base64.b64decode(header[6:]).decode().split(":", 1)[0]
        except (binascii.Error, UnicodeDecodeError):
            return False
        return user == self.sim.server_key

    def _apply_fault(self, fault: dict, snap: bool) -> bool:
        """Returns True when the fault produced the response (delay only slows the request down)."""
        mode = fault["mode"]
        if mode == "delay":
            self.sim._stop.wait(fault["seconds"])
            return False
        if mode == "close":
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return True
        if mode == "http_502_html":
            self._send(502, "<html><body><h1>502 Bad Gateway</h1></body></html>")
        elif mode == "http_503":
            self._send(
                503,
                {"error_messages": ["Service temporarily unavailable"]}
                if snap
                else {
                    "status_code": "503",
                    "status_message": "Bank/partner is experiencing connection issue.",
                    "id": str(uuid.uuid4()),
                },
            )
        else:
            self._send(
                500,
                {"error_messages": SNAP_500}
                if snap
                else {
                    "status_code": "500",
                    "status_message": "Sorry. Our system is recovering from unexpected issues. Please retry.",
                    "id": str(uuid.uuid4()),
                },
            )
        return True

    def _send(self, status: int, body, headers: dict | None = None) -> None:
        headers = dict(headers or {})
        if isinstance(body, (dict, list)):
            data, ctype = json.dumps(body).encode(), "application/json"
        elif isinstance(body, str):
            data, ctype = body.encode(), "text/html; charset=utf-8"
        else:
            data, ctype = body or b"", headers.pop("Content-Type", "application/octet-stream")
        self.send_response(status)
        self.send_header("Content-Type", headers.pop("Content-Type", ctype))
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _json(self):
        try:
            return json.loads(self.raw or b"null")
        except (ValueError, UnicodeDecodeError):
            return None

    def _form(self) -> dict:
        return {k: v[-1] for k, v in parse_qs(self.raw.decode("utf-8", "replace")).items()}

    def _notify_headers(self) -> dict:
        return notification_urls(self.headers.get("X-Override-Notification"), self.headers.get("X-Append-Notification"))

    @staticmethod
    def _redirect(location: str):
        return 303, b"", {"Location": location}

    @staticmethod
    def _core_error(exc: SimError):
        return exc.http_status, {
            "status_code": exc.status_code,
            "status_message": exc.message,
            "id": str(uuid.uuid4()),
            **exc.extra,
        }

    # ---- Snap ------------------------------------------------------------------------------------
    def snap_create(self):
        try:
            session = self.sim.state.create_snap(self._json(), self._notify_headers())
        except SnapError as exc:
            return exc.http_status, {"error_messages": exc.messages}
        token = session["token"]
        return 201, {"token": token, "redirect_url": f"{self.sim.base_url}/snap/v4/redirection/{token}"}

    def snap_cancel(self, token):
        try:
            return 200, {"canceled_at": self.sim.state.cancel_snap(token)}
        except SnapError as exc:
            return exc.http_status, {"error_messages": exc.messages}

    def _snap_context(self, token):
        session = self.sim.state.session(token)
        if not session:
            return None, None, None
        attempt = self.sim.state.find(session["attempts"][-1]) if session["attempts"] else None
        return session, attempt, (self.sim.state.view(attempt, "status") if attempt else None)

    def snap_page(self, token):
        session, attempt, view = self._snap_context(token)
        if not session:
            return 404, page.message_page("Sesi pembayaran tidak ditemukan", "Payment session not found")
        problem = self.sim.state.session_problem(session)
        return 200, page.snap_page(session, problem, view, attempt["method"] if attempt else None)

    def snap_page_action(self, token, action):
        session, attempt, _ = self._snap_context(token)
        if not session:
            return 404, page.message_page("Sesi pembayaran tidak ditemukan", "Payment session not found")
        form, back = self._form(), f"/snap/v4/redirection/{token}"
        try:
            if action == "choose":
                self.sim.state.snap_attempt(token, form.get("method", ""))
            elif attempt and action == "pay":
                tx = self.sim.state.transition(attempt["transaction_id"], "settlement")
                if session.get("finish_url"):
                    return self._redirect(page.finish_link(session, self.sim.state.view(tx, "status")))
            elif attempt and action == "fail":
                outcome = "expire" if form.get("outcome") == "expire" else "deny"
                self.sim.state.transition(attempt["transaction_id"], outcome)
        except SnapError as exc:
            return 400, page.message_page("Tidak dapat diproses: " + "; ".join(exc.messages), "Cannot proceed", 400)
        except SimError:
            return 409, page.message_page("Status transaksi tidak dapat diubah", "Status cannot change", 409)
        return self._redirect(back)

    # ---- Core ------------------------------------------------------------------------------------
    def core_charge(self):
        try:
            tx = self.sim.state.charge(self._json(), self._notify_headers())
        except SimError as exc:
            return self._core_error(exc)
        return 200, self.sim.state.view(tx, "charge")

    def core_status(self, id):
        try:
            return 200, self.sim.state.view(self.sim.state.find(id), "status")
        except SimError as exc:
            return self._core_error(exc)

    def core_action(self, id, action):
        state = self.sim.state
        try:
            if action in ("cancel", "expire"):
                return 200, state.view(state.transition(id, action), action)
            if action == "refund":
                tx, refund = state.refund(id, self._json())
                out = state.view(tx, "status")
                out.update(
                    status_code="200",
                    status_message="Success, refund request is approved",
                    refund_chargeback_id=refund["refund_chargeback_id"],
                    refund_amount=f"{refund['amount']}.00",
                    refund_key=refund["refund_key"],
                )
                out.pop("signature_key", None)
                return 200, out
            state.find(id)  # approve/deny only apply to card challenges, which are not simulated
            raise SimError("412", "Merchant cannot modify the status of the transaction")
        except SimError as exc:
            return self._core_error(exc)

    def qr_code(self, kind, tid):
        try:
            self.sim.state.find(tid)
        except SimError as exc:
            return self._core_error(exc)
        return 200, page.qr_svg(tid).encode(), {"Content-Type": "image/svg+xml"}

    # ---- simulator UI and control ----------------------------------------------------------------
    def ui_dashboard(self):
        return 200, page.dashboard(self.sim.state.all()["transactions"])

    def ui_tx(self, tid):
        try:
            tx = self.sim.state.find(tid)
        except SimError:
            return 404, page.message_page("Transaksi tidak ditemukan", "Transaction not found")
        return 200, page.tx_page(self.sim.state.view(tx, "status"), tx["method"])

    def ui_tx_action(self, tid, action):
        outcome = "settlement" if action == "pay" else ("expire" if self._form().get("outcome") == "expire" else "deny")
        try:
            self.sim.state.transition(tid, outcome)
        except SimError:
            return 409, page.message_page("Status transaksi tidak dapat diubah", "Status cannot change", 409)
        return self._redirect(f"/_sim/ui/tx/{tid}")

    def ui_pay_code(self):
        try:
            _, body = control.pay(self.sim, {"payment_code": self._form().get("code", "").strip()})
        except control.ControlError as exc:
            return exc.http_status, page.message_page(exc.body["error"], "Cannot pay", exc.http_status)
        return self._redirect(f"/_sim/ui/tx/{body['transaction']['transaction_id']}")

    def sim_get(self, name):
        result = control.get(self.sim, name, self.query)
        return result or (404, {"error": f"unknown control endpoint {name}"})

    def sim_post(self, name):
        action = control.POST_ACTIONS.get(name)
        if not action:
            return 404, {"error": f"unknown control endpoint {name}"}
        body = self._json()
        if body is None:
            body = {}
        if not isinstance(body, dict):
            return 400, {"error": "body must be a JSON object"}
        try:
            return action(self.sim, body)
        except control.ControlError as exc:
            return exc.http_status, exc.body

    def sim_faults_clear(self):
        self.sim.faults.clear()
        return 200, {"faults": []}
