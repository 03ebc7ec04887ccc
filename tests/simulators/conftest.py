"""Fixtures: a running simulator, a tiny webhook receiver, and real midtransclient clients.

No Django here: these tests run with `-p no:django`.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import midtransclient
import pytest
import requests
from midtransclient.config import ApiConfig

from simulators.midtrans import MidtransSimulator

SERVER_KEY = "SB-Mid-server-LOCALTEST"


class LocalApiConfig(ApiConfig):
    """Reference §8.7 (B): point midtransclient at the simulator regardless of is_production."""

    def __init__(self, base_url: str, **kwargs):
        super().__init__(**kwargs)
        self._base = base_url.rstrip("/")

    def get_core_api_base_url(self):
        return self._base

    def get_snap_base_url(self):
        return self._base + "/snap/v1"


class TimeoutSession(requests.Session):
    """midtransclient passes no timeout; inject one (reference §8.3)."""

    def __init__(self, timeout: float):
        super().__init__()
        self.trust_env = False  # never route 127.0.0.1 through a proxy from the environment
        self._timeout = timeout

    def request(self, *args, **kwargs):
        kwargs.setdefault("timeout", self._timeout)
        return super().request(*args, **kwargs)


def make_client(cls, base_url: str, server_key: str = SERVER_KEY, timeout: float = 5.0, headers=None):
    client = cls(is_production=False, server_key=server_key, custom_headers=dict(headers or {}))
    client.api_config = LocalApiConfig(
        base_url, is_production=False, server_key=server_key, custom_headers=dict(headers or {})
    )
    client.http_client.http_client = TimeoutSession(timeout)
    return client


class Receiver:
    """A merchant notification endpoint: records every POST and answers with scripted codes."""

    def __init__(self):
        self.received: list[dict] = []
        self.status = 200  # default answer
        self.script: list[int] = []  # answers consumed first, one per request
        self.redirect_to: str | None = None  # Location for 3xx answers
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._cond:
                    code = receiver.script.pop(0) if receiver.script else receiver.status
                    receiver.received.append(
                        {"path": self.path, "headers": dict(self.headers), "json": json.loads(body), "answered": code}
                    )
                    receiver._cond.notify_all()
                self.send_response(code)
                if 300 <= code < 400 and receiver.redirect_to:
                    self.send_header("Location", receiver.redirect_to)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notify"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.received) < count and time.monotonic() < deadline:
                self._cond.wait(deadline - time.monotonic())
            return list(self.received)

    def bodies(self, path: str | None = None) -> list[dict]:
        with self._cond:
            return [r["json"] for r in self.received if path is None or r["path"] == path]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def sim(receiver):
    with MidtransSimulator(
        server_key=SERVER_KEY,
        notification_url=receiver.url,
        retry_scale=0.0,
        jitter=0.0,
        notification_timeout=2.0,
        sweep_interval=0.05,
    ) as s:
        yield s


@pytest.fixture
def snap(sim):
    return make_client(midtransclient.Snap, sim.base_url)


@pytest.fixture
def core(sim):
    return make_client(midtransclient.CoreApi, sim.base_url)


@pytest.fixture(name="make_client")
def make_client_fixture():
    """make_client(cls, base_url, server_key=SERVER_KEY, timeout=5.0, headers=None) -> configured client."""
    return make_client


@pytest.fixture(name="server_key")
def server_key_fixture():
    return SERVER_KEY


@pytest.fixture
def http():
    session = requests.Session()
    session.trust_env = False
    yield session
    session.close()
