"""MidtransSimulator: wires state, notifier and HTTP server together; the Python API for tests."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from .notifier import Notifier
from .state import SimState

if TYPE_CHECKING:
    from .server import SimHTTPServer


class Faults:
    """Injected gateway faults: each rule matches a path prefix and fires `count` times (None = forever)."""

    MODES = ("http_500", "http_503", "http_502_html", "delay", "close")

    def __init__(self):
        self._lock = threading.Lock()
        self._rules: list[dict] = []

    def add(self, rule: dict) -> dict:
        mode = rule.get("mode")
        if mode not in self.MODES:
            raise ValueError(f"mode must be one of {', '.join(self.MODES)}")
        clean = {
            "path_prefix": str(rule.get("path_prefix", "/")),
            "mode": mode,
            "seconds": float(rule.get("seconds", 0)),
            "method": (rule.get("method") or "").upper() or None,
            "count": (int(rule["count"]) if rule["count"] is not None else None) if "count" in rule else 1,
        }
        with self._lock:
            self._rules.append(clean)
        return dict(clean)

    def take(self, method: str, path: str) -> dict | None:
        with self._lock:
            for rule in self._rules:
                if path.startswith(rule["path_prefix"]) and rule["method"] in (None, method):
                    if rule["count"] is not None:
                        rule["count"] -= 1
                        if rule["count"] <= 0:
                            self._rules.remove(rule)
                    return dict(rule)
        return None

    def list(self) -> list[dict]:
        with self._lock:
            return [dict(r) for r in self._rules]

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()


class IdempotencyCache:
    """Idempotency-Key: successful responses replayed for 5 minutes, regardless of body [reference §1]."""

    TTL = 300

    def __init__(self):
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, object]] = {}

    def begin(self, key: str):
        """Returns a cached (status, body), "busy" while the first request runs, or None (go ahead)."""
        with self._lock:
            now = time.monotonic()
            entry = self._entries.get(key)
            if entry and entry[0] > now:
                return entry[1]
            self._entries[key] = (now + self.TTL, "busy")
            return None

    def finish(self, key: str, response: tuple[int, dict] | None) -> None:
        with self._lock:
            if response is None:
                self._entries.pop(key, None)  # failures are not stored: a retry runs again
            else:
                self._entries[key] = (time.monotonic() + self.TTL, response)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class MidtransSimulator:
    """A local Midtrans (Snap + Core + webhooks) on 127.0.0.1.

    >>> with MidtransSimulator(server_key="SB-Mid-server-TEST", retry_scale=0.0) as sim:
    ...     sim.base_url  # Core base URL; Snap base URL is sim.snap_base_url
    """

    def __init__(
        self,
        *,
        server_key: str = "SB-Mid-server-LOCAL",
        notification_url: str | list[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        retry_scale: float = 1.0,
        state_file: str | None = None,
        notification_timeout: float = 15.0,
        jitter: float = 0.1,
        merchant_id: str = "G000000000",
        sweep_interval: float = 1.0,
    ):
        if isinstance(notification_url, str):
            notification_url = [u.strip() for u in notification_url.split(",") if u.strip()]
        self.notification_urls: list[str] = list(notification_url or [])
        self.host, self.port = host, port
        self.server_key = server_key
        self.sweep_interval = sweep_interval
        self.notifier = Notifier(retry_scale=retry_scale, timeout=notification_timeout, jitter=jitter)
        self.state = SimState(
            server_key=server_key, merchant_id=merchant_id, state_file=state_file, on_change=self._on_change
        )
        self.faults = Faults()
        self.idempotency = IdempotencyCache()
        self._server: SimHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()

    # ---- lifecycle ---------------------------------------------------------------------------
    def start(self) -> MidtransSimulator:
        from .server import make_server

        server = self._server = make_server(self, self.host, self.port)
        self.port = server.server_address[1]
        self.state.base_url = self.base_url
        self._threads = [
            threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="midtrans-sim-http", daemon=True
            ),
            threading.Thread(target=self._sweep, name="midtrans-sim-expiry", daemon=True),
        ]
        for t in self._threads:
            t.start()
        return self

    def serve_forever(self) -> None:
        """Start and block (used by `python -m simulators.midtrans`)."""
        self.start()
        try:
            while not self._stop.wait(0.5):
                pass
        finally:
            self.stop()

    def stop(self) -> None:
        self._stop.set()
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self.notifier.stop()

    def __enter__(self) -> MidtransSimulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """Root URL = Core API base URL (`ApiConfig.get_core_api_base_url()`)."""
        return f"http://{self.host}:{self.port}"

    @property
    def snap_base_url(self) -> str:
        """Snap API base URL (`ApiConfig.get_snap_base_url()`)."""
        return f"{self.base_url}/snap/v1"

    def _sweep(self) -> None:
        while not self._stop.wait(self.sweep_interval):
            self.state.expire_due()

    # ---- notifications -------------------------------------------------------------------------
    def urls_for(self, tx: dict) -> list[str]:
        notify = tx.get("notify") or {}
        if notify.get("override"):
            return list(notify["override"])
        return self.notification_urls + [u for u in notify.get("append", []) if u not in self.notification_urls]

    def _on_change(self, tx: dict) -> None:
        self.notifier.notify(self.state.view(tx, "notification"), self.urls_for(tx))

    def resend(self, ident: str, urls: list[str] | None = None) -> str:
        tx = self.state.find(ident)
        return self.notifier.notify(self.state.view(tx, "notification"), urls or self.urls_for(tx))

    # ---- conveniences for tests (same operations as the /_sim endpoints) ------------------------
    def deliveries(self, order_id: str | None = None) -> list[dict]:
        return self.notifier.deliveries(order_id)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        return self.notifier.wait_idle(timeout)

    def add_fault(self, **rule) -> dict:
        return self.faults.add(rule)

    def set_chaos(self, **flags) -> dict:
        for flag, value in flags.items():
            self.notifier.chaos.set(flag, value)
        if not self.notifier.chaos.remaining["out_of_order"]:
            self.notifier.release_held()
        return self.notifier.chaos.as_dict()

    def reset(self) -> None:
        self.state.reset()
        self.notifier.reset()
        self.faults.clear()
        self.idempotency.clear()
