"""What the WhatsApp and SMS fakes share: a loopback HTTP server on a thread, a pacing bucket, webhook posts."""

from __future__ import annotations

import html
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Bucket:
    """A token bucket: `rate` per second with a burst of one second's worth; take() False when empty."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.stamp = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> bool:
        if not self.rate:
            return True
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


def post(url: str, body: bytes, headers: dict[str, str], timeout: float = 10.0) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - loopback URLs
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake: Any = None  # set per server subclass

    def log_message(self, format, *args) -> None:  # noqa: A002 - stdlib signature
        pass

    def body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def reply(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)


def inbox_html(title: str, rows: list[tuple[str, str, str, str]], form: str = "") -> bytes:
    """rows: (time, to, text, status), newest first."""
    items = "".join(
        f"<tr><td>{html.escape(t)}</td><td>{html.escape(to)}</td><td><pre>{html.escape(text)}</pre></td>"
        f"<td>{html.escape(status)}</td></tr>"
        for t, to, text, status in rows
    )
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<meta http-equiv='refresh' content='5'><style>body{font-family:sans-serif;margin:2em}"
        "td,th{border-bottom:1px solid #ddd;padding:.4em;vertical-align:top}pre{white-space:pre-wrap;margin:0}"
        f"</style></head><body><h1>{html.escape(title)}</h1>{form}<table><tr><th>time</th><th>to</th>"
        f"<th>message</th><th>status</th></tr>{items}</table></body></html>"
    )
    return page.encode()


class Running:
    """start()/stop()/context manager around a Server bound to 127.0.0.1."""

    def _serve(self, handler_cls, port: int) -> None:
        self.server = Server(("127.0.0.1", port), handler_cls)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
