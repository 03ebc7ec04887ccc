"""A provider that prints notifications instead of sending them (dev, demos)."""

from __future__ import annotations

import itertools
import logging
import sys
import threading
from collections.abc import Sequence
from typing import TextIO

from .base import SENT, PushMessage, PushResult

logger = logging.getLogger(__name__)


class ConsoleProvider:
    """Writes one readable block per message to `stream` and reports 'sent'."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def send(self, messages: Sequence[PushMessage]) -> list[PushResult]:
        results = []
        with self._lock:
            for message in messages:
                message_id = f"console/{next(self._ids)}"
                self.stream.write(render(message, message_id))
                results.append(PushResult(message.token, SENT, message_id=message_id))
            self.stream.flush()
        logger.debug("console push: %d messages", len(results))
        return results


def render(message: PushMessage, message_id: str) -> str:
    token = message.token[:12] + ("…" if len(message.token) > 12 else "")
    lines = [
        f"── push {message_id} → {message.kind} {token}",
        f"   {message.title}",
        f"   {message.body}",
    ]
    if message.collapse_key:
        lines.append(f"   collapse: {message.collapse_key}")
    if message.data:
        lines.append("   data: " + ", ".join(f"{k}={v}" for k, v in message.data.items()))
    return "\n".join(lines) + "\n"
