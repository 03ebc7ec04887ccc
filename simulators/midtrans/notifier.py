"""HTTP notification (webhook) dispatcher with Midtrans' retry policy and a delivery log.

Policy [reference §5.2]: 2xx done; 500 -> 1 retry; 503 -> 4; 400/404 -> 2; 301/302/303 -> none;
307/308 -> follow (POST, same body, at most 5 hops); anything else, timeouts and connection errors
-> 5. Retry n waits RETRY_MINUTES[n-1] minutes x retry_scale, plus jitter. Notifications for one
order are sent one at a time, in the order they were queued; different orders go in parallel.
"""

from __future__ import annotations

import heapq
import http.client
import itertools
import json
import random
import threading
import time
import uuid
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urljoin, urlsplit

RETRY_MINUTES = (2, 10, 30, 90, 210)
MAX_REDIRECTS = 5
HEADERS = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": "Veritrans"}


def retries_allowed(status: int | None) -> int:
    """How many retries Midtrans makes after a response with this HTTP status (None = no response)."""
    if status is not None and 200 <= status < 300:
        return 0
    retries: dict[int | None, int] = {500: 1, 503: 4, 400: 2, 404: 2, 301: 0, 302: 0, 303: 0}
    return retries.get(status, 5)


class Chaos:
    """Notification chaos flags. Each value: None = off, -1 = always, n > 0 = the next n notifications."""

    FLAGS = ("duplicate", "out_of_order", "drop")

    def __init__(self):
        self.remaining: dict[str, int | None] = dict.fromkeys(self.FLAGS)

    def set(self, flag: str, value) -> None:
        if value is True:
            self.remaining[flag] = -1
        elif value in (False, None, 0):
            self.remaining[flag] = None
        else:
            self.remaining[flag] = int(value)

    def take(self, flag: str) -> bool:
        left = self.remaining[flag]
        if left is None:
            return False
        if left > 0:
            self.remaining[flag] = left - 1 if left > 1 else None
        return True

    def as_dict(self) -> dict:
        return {f: (True if v == -1 else v) for f, v in self.remaining.items()}


class Notifier:
    def __init__(
        self,
        *,
        retry_scale: float = 1.0,
        timeout: float = 15.0,
        jitter: float = 0.1,
        max_workers: int = 8,
        log_size: int = 5000,
    ):
        self.retry_scale, self.timeout, self.jitter = retry_scale, timeout, jitter
        self.chaos = Chaos()
        self._cond = threading.Condition()
        self._heap: list = []  # (due, seq, job)
        self._seq = itertools.count()
        self._queues: dict[str, deque] = {}  # order_id -> due jobs waiting for that order's sender
        self._held: dict[str, list] = {}  # out_of_order: notifications held back per order
        self._outstanding = 0  # jobs scheduled or running; 0 = idle
        self._log: deque = deque(maxlen=log_size)
        self._stopping = False
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="midtrans-sim-notify")
        self._thread = threading.Thread(target=self._run, name="midtrans-sim-dispatch", daemon=True)
        self._thread.start()

    # ---- public ----------------------------------------------------------------------------
    def notify(self, payload: dict, urls: list[str]) -> str:
        """Queue one notification (one status change) for every url; returns its notification id."""
        note: dict[str, Any] = {
            "notification_id": str(uuid.uuid4()),
            "order_id": payload.get("order_id"),
            "transaction_id": payload.get("transaction_id"),
            "transaction_status": payload.get("transaction_status"),
            "payload": payload,
            "urls": list(urls),
        }
        with self._cond:
            if not urls:
                self._record(note, None, 0, outcome="no_url")
                return note["notification_id"]
            if self.chaos.take("drop"):
                for url in urls:
                    self._record(note, url, 0, outcome="dropped")
                return note["notification_id"]
            copies = 2 if self.chaos.take("duplicate") else 1
            batch = [note] * copies
            order = note["order_id"]
            if self.chaos.take("out_of_order"):
                self._held.setdefault(order, []).extend(batch)  # released after the next notification
                return note["notification_id"]
            for held in [*batch, *self._held.pop(order, [])]:
                for url in held["urls"]:
                    self._schedule({"note": held, "url": url, "attempt": 0}, 0.0)
        return note["notification_id"]

    def release_held(self) -> None:
        with self._cond:
            for notes in self._held.values():
                for note in notes:
                    for url in note["urls"]:
                        self._schedule({"note": note, "url": url, "attempt": 0}, 0.0)
            self._held.clear()

    def deliveries(self, order_id: str | None = None) -> list[dict]:
        with self._cond:
            return [dict(e) for e in self._log if order_id is None or e["order_id"] == order_id]

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Block until nothing is scheduled or in flight (held out-of-order notes don't count)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._outstanding:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def reset(self) -> None:
        with self._cond:
            self._outstanding -= len(self._heap) + sum(len(q) for q in self._queues.values())
            self._heap.clear()
            for q in self._queues.values():
                q.clear()
            self._held.clear()
            self._log.clear()
            self.chaos = Chaos()
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(timeout=2)
        self._pool.shutdown(wait=False, cancel_futures=True)

    # ---- scheduling ------------------------------------------------------------------------
    def _schedule(self, job: dict, delay: float) -> None:
        self._outstanding += 1
        heapq.heappush(self._heap, (time.monotonic() + delay, next(self._seq), job))
        self._cond.notify_all()

    def _run(self) -> None:
        with self._cond:
            while not self._stopping:
                now = time.monotonic()
                while self._heap and self._heap[0][0] <= now:
                    job = heapq.heappop(self._heap)[2]
                    order = job["note"]["order_id"]
                    queue = self._queues.get(order)
                    if queue is None:  # no sender active for this order: start one
                        self._queues[order] = deque([job])
                        self._pool.submit(self._drain, order)
                    else:
                        queue.append(job)
                wait = self._heap[0][0] - now if self._heap else None
                self._cond.wait(wait)

    def _drain(self, order: str) -> None:
        while True:
            with self._cond:
                queue = self._queues.get(order)
                if not queue:
                    self._queues.pop(order, None)
                    return
                job = queue.popleft()
            try:
                self._deliver(job)
            finally:
                with self._cond:
                    self._outstanding -= 1
                    self._cond.notify_all()

    def _deliver(self, job: dict) -> None:
        note, attempt = job["note"], job["attempt"]
        started = time.monotonic()
        status, error, final_url = self._post(job["url"], json.dumps(note["payload"]).encode())
        allowed = retries_allowed(status)
        outcome = "delivered" if status is not None and 200 <= status < 300 else "failed"
        next_delay = None
        if outcome == "failed" and attempt < min(allowed, len(RETRY_MINUTES)):
            base = RETRY_MINUTES[attempt] * 60 * self.retry_scale
            next_delay = base * (1 + random.uniform(0, self.jitter))
            outcome = "retry_scheduled"
        elif outcome == "failed":
            outcome = "gave_up"
        with self._cond:
            self._record(
                note,
                job["url"],
                attempt,
                outcome=outcome,
                response_status=status,
                error=error,
                final_url=final_url,
                duration_ms=round((time.monotonic() - started) * 1000, 1),
                next_retry_in_s=next_delay,
            )
            if next_delay is not None and not self._stopping:
                self._schedule({**job, "attempt": attempt + 1}, next_delay)

    def _post(self, url: str, body: bytes) -> tuple[int | None, str | None, str]:
        """POST once, following 307/308; returns (status or None, error text, final url)."""
        for _ in range(MAX_REDIRECTS + 1):
            parts = urlsplit(url)
            if not parts.hostname:  # e.g. a bare word in X-Override-Notification, or a bad Location
                return None, f"InvalidURL: no host in {url!r}", url
            conn_cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
            try:
                conn = conn_cls(parts.hostname, parts.port, timeout=self.timeout)
                path = parts.path or "/"
                conn.request("POST", path + (f"?{parts.query}" if parts.query else ""), body=body, headers=HEADERS)
                resp = conn.getresponse()
                resp.read()
                location = resp.getheader("Location")
                conn.close()
            except (OSError, http.client.HTTPException) as exc:
                return None, f"{type(exc).__name__}: {exc}", url
            if resp.status in (307, 308) and location:
                url = urljoin(url, location)
                continue
            return resp.status, None, url
        return None, "too many redirects", url

    def _record(self, note: dict, url: str | None, attempt: int, **fields) -> None:
        self._log.append(
            {
                "notification_id": note["notification_id"],
                "order_id": note["order_id"],
                "transaction_id": note["transaction_id"],
                "transaction_status": note["transaction_status"],
                "status_code": note["payload"].get("status_code"),
                "url": url,
                "attempt": attempt,
                "at": time.time(),
                "response_status": None,
                "error": None,
                **fields,
                "payload": note["payload"],
            }
        )
