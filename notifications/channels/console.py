"""A channel that prints messages to the dev console (stdout) instead of sending them.

Development only: production settings refuse it. It writes with print(), never through `logging`, so a
sign-in code can never reach a log handler or a log file.
"""

from __future__ import annotations

import itertools
import sys
import threading

from .base import SENT, ChannelMessage, ChannelResult

_ids = itertools.count(1)
_lock = threading.Lock()


class ConsoleChannel:
    provider = "console"

    def __init__(self, name: str) -> None:
        self.name = name

    def send(self, message: ChannelMessage) -> ChannelResult:
        with _lock:
            message_id = f"console-{self.name}-{next(_ids)}"
        label = "WhatsApp" if self.name == "whatsapp" else "SMS"
        text = message.text or f"[template {message.template}] " + " | ".join(message.params)
        print(f"[{label} console] → {message.to}: {text}", file=sys.stdout, flush=True)  # noqa: T201
        return ChannelResult(SENT, provider_message_id=message_id)
