"""A per-process pace for provider calls, so a burst stays under the provider's documented rate.

WhatsApp Cloud API: 80 messages per second per business phone number by default (up to 1,000 after Meta's
automatic upgrade), error 130429 beyond it. Twilio: a limit on concurrent API requests per account (error 20429)
and a per-sender pace at which queued messages leave (the queue holds up to 4 hours of them). One process
sends through one limiter per channel; run several senders and divide the rate among them.
"""

from __future__ import annotations

import threading
import time


class RateLimiter:
    """At most `rate` acquisitions per second, evenly spaced (no bursts above the rate)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate and rate > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        delay = start - now
        if delay > 0:
            time.sleep(delay)
