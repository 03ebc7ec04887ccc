"""The push provider interface: plain data in, plain data out, no Django models.

Callers (the notifications outbox) build `PushMessage`s with texts already
rendered in Indonesian, call `provider.send(messages)` from a worker, and act on
each `PushResult.outcome`:

* ``sent``       - accepted by the push service; store `message_id`.
* ``retry``      - transient (quota, 5xx, network); re-queue with backoff,
                   no sooner than `retry_after_seconds` when it is set.
* ``deactivate`` - the token is dead (unregistered, invalid, other project);
                   mark the device inactive.
* ``failed``     - permanent for this message but not the token's fault
                   (payload bug, APNs auth, misconfigured project); log, alert.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

Outcome = Literal["sent", "retry", "deactivate", "failed"]
Priority = Literal["normal", "high"]
TargetKind = Literal["token", "fid"]

SENT: Outcome = "sent"
RETRY: Outcome = "retry"
DEACTIVATE: Outcome = "deactivate"
FAILED: Outcome = "failed"

# Must match a channel the Android app creates; override per message.
DEFAULT_CHANNEL_ID = "reminders"


@dataclass(frozen=True)
class PushMessage:
    """One notification to one device.

    `token` is the opaque push id: an FCM registration token (kind='token') or
    a Firebase Installation ID (kind='fid'). `collapse_key` makes a newer
    message replace an undelivered or displayed older one (also used as the
    Android notification tag and the APNs collapse id). `ttl_seconds` wins over
    `expires_at` for Android; when only one is given the other is derived.
    """

    token: str
    title: str
    body: str
    data: dict[str, str] = field(default_factory=dict)
    collapse_key: str | None = None
    ttl_seconds: int | None = None
    expires_at: datetime | None = None
    priority: Priority = "normal"
    channel_id: str | None = DEFAULT_CHANNEL_ID
    kind: TargetKind = "token"


@dataclass(frozen=True)
class PushResult:
    """What happened to one `PushMessage`; results keep the input order."""

    token: str
    outcome: Outcome
    message_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    retry_after_seconds: float | None = None


@runtime_checkable
class PushProvider(Protocol):
    def send(self, messages: Sequence[PushMessage]) -> list[PushResult]:
        """Send each message; never raises for per-message failures.

        Returns one result per message, in the same order.
        """
        ...
