"""A local fake of Google's OAuth token endpoint and the FCM HTTP v1 send API.

The real `firebase-admin` client talks to it over real HTTP once three
overrides are in place (see /work/shared/reference/fcm.md, section 2):
`token_uri` in the service-account JSON, `_MessagingService.FCM_URL`, and the
google-auth Regional Access Boundary lookup switched off.

    with FakeFCM() as fake:
        fake.set_token_error("dead", "UNREGISTERED")
        ... send through firebase-admin using fake.service_account ...
        assert fake.sends()[0].message["notification"]["title"] == "..."

Only binds to 127.0.0.1. Stdlib only, apart from `cryptography` for the JWT.
"""

from __future__ import annotations

import json
import re
import secrets
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .credentials import DEFAULT_PROJECT_ID, JWTError, make_service_account, verify_rs256

FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
INVALID_TOKEN_MESSAGE = "The registration token is not a valid FCM registration token"

# errorCode -> (HTTP status, google.rpc status, default message).
# Statuses follow https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode
ERRORS: dict[str, tuple[int, str, str]] = {
    "UNREGISTERED": (404, "NOT_FOUND", "Requested entity was not found."),
    "INVALID_ARGUMENT": (400, "INVALID_ARGUMENT", INVALID_TOKEN_MESSAGE),
    "SENDER_ID_MISMATCH": (403, "PERMISSION_DENIED", "SenderId mismatch"),
    "QUOTA_EXCEEDED": (
        429,
        "RESOURCE_EXHAUSTED",
        "Quota exceeded for quota metric 'Send requests' of service fcm.googleapis.com.",
    ),
    "THIRD_PARTY_AUTH_ERROR": (401, "UNAUTHENTICATED", "Auth error from APNS or Web Push Service"),
    "INTERNAL": (500, "INTERNAL", "Internal error encountered."),
    "UNAVAILABLE": (503, "UNAVAILABLE", "The service is currently unavailable."),
}

_SEND_PATH = re.compile(r"^/v1/projects/(?P<pid>[^/]+)/messages:send$")


def error_body(code: str, message: str | None = None) -> tuple[int, dict]:
    """The documented FCM v1 error body for `code` (an FCM errorCode)."""
    status, rpc_status, default_message = ERRORS[code]
    return status, {
        "error": {
            "code": status,
            "message": message or default_message,
            "status": rpc_status,
            "details": [{"@type": FCM_ERROR_TYPE, "errorCode": code}],
        }
    }


@dataclass(frozen=True)
class Injected:
    code: str
    headers: dict[str, str] = field(default_factory=dict)
    message: str | None = None


@dataclass(frozen=True)
class SendRecord:
    """One POST to messages:send, successful or not."""

    project_id: str
    target: str | None  # token, fid or topic, whichever the message names
    message: dict
    validate_only: bool
    status: int
    error_code: str | None
    message_name: str | None
    at: float


class FakeFCM:
    """Context manager running the fake on 127.0.0.1 in a background thread."""

    # Set in reset(); declared here because the error-injection knobs above it assign them first.
    _fail_next_error: Injected | None
    _global_error: Injected | None

    def __init__(
        self,
        *,
        port: int = 0,
        project_id: str = DEFAULT_PROJECT_ID,
        token_errors: dict[str, str] | None = None,
        latency_seconds: float = 0.0,
    ) -> None:
        self.project_id = project_id
        self.latency_seconds = latency_seconds
        self._port = port
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.service_account: dict = {}
        self.public_key_pem: bytes = b""
        self._issued: set[str] = set()
        self.reset()
        for token, code in (token_errors or {}).items():
            self.set_token_error(token, code)

    # -- lifecycle ---------------------------------------------------------
    def start(self) -> FakeFCM:
        self._httpd = _Server(("127.0.0.1", self._port), _Handler)
        self._httpd.fake = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-fcm", daemon=True)
        self._thread.start()
        self.service_account, self.public_key_pem = make_service_account(self.token_uri, self.project_id)
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeFCM:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -- addresses ---------------------------------------------------------
    @property
    def port(self) -> int:
        assert self._httpd is not None, "FakeFCM is not running"
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def token_uri(self) -> str:
        return f"{self.base_url}/token"

    @property
    def fcm_url_template(self) -> str:
        """Value for `firebase_admin.messaging._MessagingService.FCM_URL`."""
        return f"{self.base_url}/v1/projects/{{0}}/messages:send"

    # -- behaviour knobs ---------------------------------------------------
    def set_token_error(
        self,
        token: str,
        code: str,
        headers: dict[str, str] | None = None,
        message: str | None = None,
    ) -> None:
        """Answer every send to `token` with the FCM error `code`."""
        if code not in ERRORS:
            raise ValueError(f"unknown FCM error code {code!r}; known: {sorted(ERRORS)}")
        with self._lock:
            self._token_errors[token] = Injected(code, dict(headers or {}), message)

    def fail_next(
        self,
        n: int,
        code: str = "UNAVAILABLE",
        headers: dict[str, str] | None = None,
        message: str | None = None,
    ) -> None:
        """Answer the next `n` sends (any token) with `code`, then recover."""
        if code not in ERRORS:
            raise ValueError(f"unknown FCM error code {code!r}")
        with self._lock:
            self._fail_next = n
            self._fail_next_error = Injected(code, dict(headers or {}), message)

    def set_global_error(self, code: str | None, headers: dict[str, str] | None = None) -> None:
        """Answer every send with `code` (e.g. SENDER_ID_MISMATCH for a wrong project); None clears."""
        if code is not None and code not in ERRORS:
            raise ValueError(f"unknown FCM error code {code!r}")
        with self._lock:
            self._global_error = Injected(code, dict(headers or {})) if code else None

    def reset(self) -> None:
        """Forget recorded traffic and all injected errors (issued tokens stay valid)."""
        with self._lock:
            self._token_errors: dict[str, Injected] = {}
            self._fail_next = 0
            self._fail_next_error = None
            self._global_error = None
            self._records: list[SendRecord] = []
            self._token_requests: list[dict] = []
            self._rejected_auth = 0
            self._counter = 0

    # -- inspection --------------------------------------------------------
    def sends(self) -> list[SendRecord]:
        """Messages accepted (HTTP 200), in arrival order."""
        with self._lock:
            return [r for r in self._records if r.status == 200]

    def attempts(self, target: str | None = None) -> list[SendRecord]:
        """Every POST to messages:send, including the ones answered with an error."""
        with self._lock:
            return [r for r in self._records if target is None or r.target == target]

    def token_requests(self) -> list[dict]:
        """Verified JWT claims of each successful /token exchange."""
        with self._lock:
            return list(self._token_requests)

    @property
    def rejected_auth(self) -> int:
        """Sends refused because the bearer token was not issued by this fake."""
        with self._lock:
            return self._rejected_auth

    def stats(self) -> dict:
        with self._lock:
            ok = sum(1 for r in self._records if r.status == 200)
            return {
                "attempts": len(self._records),
                "sent": ok,
                "token_requests": len(self._token_requests),
                "rejected_auth": self._rejected_auth,
            }

    # -- request handling (called from handler threads) ----------------------
    def _issue_token(self, form: dict[str, list[str]]) -> tuple[int, dict]:
        if form.get("grant_type", [""])[0] != JWT_BEARER:
            return 400, {"error": "unsupported_grant_type"}
        try:
            claims = verify_rs256(form.get("assertion", [""])[0], self.public_key_pem)
        except JWTError as exc:
            return 400, {"error": "invalid_grant", "error_description": str(exc)}
        if claims.get("iss") != self.service_account.get("client_email"):
            return 400, {"error": "invalid_grant", "error_description": "unknown issuer"}
        token = "ya29.fake-" + secrets.token_urlsafe(24)
        with self._lock:
            self._issued.add(token)
            self._token_requests.append(claims)
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 3599}

    def _send(self, project_id: str, authorization: str, body: bytes):
        """Return (status, json body, extra headers)."""
        bearer = authorization[7:] if authorization.startswith("Bearer ") else ""
        with self._lock:
            authorised = bearer in self._issued
            if not authorised:
                self._rejected_auth += 1
        if not authorised:
            return (
                401,
                {
                    "error": {
                        "code": 401,
                        "message": "Request had invalid authentication credentials.",
                        "status": "UNAUTHENTICATED",
                    }
                },
                {},
            )
        try:
            payload = json.loads(body)
            message = payload["message"]
        except (ValueError, KeyError, TypeError):
            return (
                400,
                {"error": {"code": 400, "message": "Invalid JSON payload received.", "status": "INVALID_ARGUMENT"}},
                {},
            )
        target = message.get("token") or message.get("fid") or message.get("topic")
        if self.latency_seconds:
            time.sleep(self.latency_seconds)
        with self._lock:
            injected = self._global_error
            if injected is None and self._fail_next > 0:
                self._fail_next -= 1
                injected = self._fail_next_error
            if injected is None:
                injected = self._token_errors.get(target)
            name = None
            if injected is None:
                self._counter += 1
                name = f"projects/{project_id}/messages/{self._counter}"
                status, out, headers = 200, {"name": name}, {}
            else:
                status, out = error_body(injected.code, injected.message)
                headers = injected.headers
            self._records.append(
                SendRecord(
                    project_id=project_id,
                    target=target,
                    message=message,
                    validate_only=bool(payload.get("validate_only")),
                    status=status,
                    error_code=injected.code if injected else None,
                    message_name=name,
                    at=time.monotonic(),
                )
            )
        return status, out, headers


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024  # the SDK opens hundreds of connections at once
    fake: FakeFCM


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real endpoint
    wbufsize = -1  # buffer headers + body into one write; flushed per request
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args) -> None:  # noqa: A002 - stdlib signature
        pass

    def _reply(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        fake = self.server.fake
        body = self._body()
        if self.path == "/token":
            status, out = fake._issue_token(urllib.parse.parse_qs(body.decode()))
            return self._reply(status, out)
        match = _SEND_PATH.match(self.path)
        if match:
            status, out, headers = fake._send(match["pid"], self.headers.get("Authorization", ""), body)
            return self._reply(status, out, headers)
        if self.path == "/__fake/reset":
            fake.reset()
            return self._reply(200, {"ok": True})
        if self.path == "/__fake/token-errors":
            spec = json.loads(body or b"{}")
            fake.set_token_error(spec["token"], spec["code"], spec.get("headers"), spec.get("message"))
            return self._reply(200, {"ok": True})
        self._reply(404, {"error": {"code": 404, "message": "Not found", "status": "NOT_FOUND"}})

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        if self.path == "/__fake/stats":
            return self._reply(200, self.server.fake.stats())
        self._reply(404, {"error": {"code": 404, "message": "Not found", "status": "NOT_FOUND"}})
