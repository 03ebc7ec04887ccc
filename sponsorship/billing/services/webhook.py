"""Accepting a Midtrans notification: store it as evidence, verify the signature, dedupe, answer at once;
processing (settlement.notification_process) runs in a Celery task after commit.

Rules (house style §7): every body is stored before it is acted on; the signature is checked in constant time
(the gateway's verify_notification); the database dedupes (unique dedupe_key); a failure to store answers 503
so Midtrans retries. The wake-up after commit is only a hint: a stored row the task never saw is picked up by
the sweep (reconciliation).
"""

import atexit
import functools
import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from backend.celery import delay_or
from sponsorship.billing import tasks
from sponsorship.billing.gateways import get_gateway
from sponsorship.billing.models import PaymentAttempt, PaymentNotification

logger = logging.getLogger(__name__)


# Accepting (synchronous, in the request) and processing (a Celery task after commit) are split, as the
# reference §5.4 says ("return 200 fast; do heavy work async"):
#   accept:  parse → verify the signature (403) → ONE insert of the raw row with its dedupe key and whether the
#            order exists (unknown → 404; a copy of a stored one → 200 "duplicate") → 200. A failure to store
#            answers 503, so Midtrans retries (4 times for a 503, once for a 500).
#   process: per-order lock → status API → payment_apply_status → row marked processed, only after success.
#            A failure leaves the row `failed` with its error; the sweep (beat) and `replay_notifications`
#            process it again. Processing is idempotent, so a second run of the same row is harmless.
@dataclass(frozen=True)
class WebhookAnswer:
    status: int
    body: dict = field(default_factory=dict)


N = PaymentNotification.State

# The hot path in one round trip: the dedupe key is UNIQUE, so ON CONFLICT DO NOTHING returning no row means a
# copy already exists; the order check rides along in the same statement.
_ACCEPT_SQL = """
WITH known AS (SELECT EXISTS (SELECT 1 FROM {attempt} WHERE order_id = %(order_id)s) AS yes)
INSERT INTO {note} (received_at, raw_body, headers, remote_ip, order_id, transaction_id, transaction_status,
                    status_code, gross_amount, signature_valid, dedupe_key, state, outcome, error, attempts,
                    processed_at)
SELECT %(now)s, %(raw_body)s, %(headers)s::jsonb, %(remote_ip)s::inet, %(order_id)s, %(transaction_id)s,
       %(transaction_status)s, %(status_code)s, %(gross_amount)s, true, %(dedupe_key)s,
       CASE WHEN known.yes THEN %(received)s ELSE %(unknown)s END,
       CASE WHEN known.yes THEN '' ELSE %(unknown)s END, '', 0,
       CASE WHEN known.yes THEN NULL ELSE %(now)s END
FROM known
ON CONFLICT (dedupe_key) DO NOTHING
RETURNING id, state
"""


def _payload_fields(payload: dict) -> dict:
    return {
        "order_id": str(payload.get("order_id", ""))[:64],
        "transaction_id": str(payload.get("transaction_id", ""))[:64],
        "transaction_status": str(payload.get("transaction_status", "")).lower()[:24],
        "status_code": str(payload.get("status_code", ""))[:8],
        "gross_amount": str(payload.get("gross_amount", ""))[:24],
    }


def notification_receive(*, raw_body: bytes, headers: dict, remote_ip: str | None, gateway=None) -> WebhookAnswer:
    """Accept a Midtrans notification: store it as evidence, answer at once; processing happens after commit."""
    text = raw_body.decode("utf-8", "replace")
    evidence = {"raw_body": text, "headers": headers, "remote_ip": remote_ip}
    fields = {"order_id": ""}
    try:
        try:
            payload = json.loads(text)
            if not isinstance(payload, dict):
                raise ValueError("not an object")
        except ValueError:
            PaymentNotification.objects.create(
                **evidence, state=N.REJECTED, outcome="invalid_json", processed_at=timezone.now()
            )
            return WebhookAnswer(400, {"status": "invalid_json"})
        fields = _payload_fields(payload)
        if not (gateway or get_gateway()).verify_notification(payload):
            PaymentNotification.objects.create(
                **evidence,
                **fields,
                signature_valid=False,
                state=N.REJECTED,
                outcome="bad_signature",
                processed_at=timezone.now(),
            )
            logger.warning("rejected notification: bad signature (order %s)", fields["order_id"])
            return WebhookAnswer(403, {"status": "invalid_signature"})
        key = "|".join(
            [
                fields["order_id"],
                fields["transaction_id"],
                fields["transaction_status"],
                fields["status_code"],
                fields["gross_amount"],
            ]
        )[:160]
        with connection.cursor() as cursor:
            cursor.execute(
                _ACCEPT_SQL.format(note=_table(PaymentNotification), attempt=_table(PaymentAttempt)),
                {
                    **fields,
                    "raw_body": text,
                    "headers": json.dumps(headers),
                    "remote_ip": remote_ip or None,
                    "dedupe_key": key,
                    "now": timezone.now(),
                    "received": N.RECEIVED,
                    "unknown": N.UNKNOWN_ORDER,
                },
            )
            row = cursor.fetchone()
        if row is None:
            return _accept_duplicate(key=key, evidence=evidence, fields=fields)
        note_id, state = row
        if state == N.UNKNOWN_ORDER:
            logger.warning("notification %s for unknown order %r", note_id, fields["order_id"])
            return WebhookAnswer(404, {"status": "unknown_order"})
        transaction.on_commit(lambda: _enqueue_processing(note_id), robust=True)
        return WebhookAnswer(200, {"status": "accepted"})
    except DatabaseError:
        # Not stored means not safe to acknowledge: a 503 makes Midtrans send it again (up to 4 times).
        logger.exception("could not store a Midtrans notification (order %r)", fields["order_id"])
        return WebhookAnswer(503, {"status": "retry_later"})


def _accept_duplicate(*, key: str, evidence: dict, fields: dict) -> WebhookAnswer:
    original = PaymentNotification.objects.filter(dedupe_key=key).values_list("pk", "state").first()
    original_id, original_state = original or (None, "")
    PaymentNotification.objects.create(
        **evidence,
        **fields,
        signature_valid=True,
        duplicate_of_id=original_id,
        state=N.DUPLICATE,
        outcome=f"duplicate_of_{original_id}",
        processed_at=timezone.now(),
    )
    if original_state == N.UNKNOWN_ORDER:
        return WebhookAnswer(404, {"status": "duplicate"})
    if original_state == N.FAILED and original_id is not None:  # FAILED comes from a stored original
        # Midtrans (or an admin in its dashboard) sent it again: a good moment to try the original once more.
        transaction.on_commit(lambda: _enqueue_processing(original_id), robust=True)
    return WebhookAnswer(200, {"status": "duplicate"})


class _WakeUps:
    """The processing wake-ups of one web process, coalesced: one Celery message per window
    (PAYMENT_WAKEUP_WINDOW_MS, default 100 ms), not one per request.

    Publishing a Celery message costs about as much CPU as the rest of the request (measured: ~1.3-1.9 ms), so
    a burst of notifications is enqueued as a few `process_payment_notifications([ids])` tasks by a daemon
    thread. The wake-up is not what makes a notification safe: the row is committed before the 200, and if
    this process dies before flushing (or the broker is down) the row stays `received` and the sweep
    processes it. With eager Celery (dev, tests) the task runs at once, in the request.
    """

    def __init__(self, window_seconds: float | None = None):
        self._window = window_seconds
        self._ids: list[int] = []
        self._cond = threading.Condition()
        self._pid: int | None = None

    @property
    def window(self) -> float:
        if self._window is None:
            self._window = settings.PAYMENT_WAKEUP_WINDOW_MS / 1000
        return self._window

    def add(self, note_id: int) -> None:
        if _celery_eager():
            _enqueue([note_id])
            return
        with self._cond:
            if self._pid != os.getpid():  # first use in this (possibly forked) process
                self._ids, self._pid = [], os.getpid()
                threading.Thread(target=self._run, name="payment-wakeups", daemon=True).start()
                atexit.register(self.flush)
            self._ids.append(note_id)
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._ids:
                    self._cond.wait()
            time.sleep(self.window)  # let the rest of a burst join this message
            self.flush()

    def flush(self) -> None:
        with self._cond:
            ids, self._ids = self._ids, []
        if ids:
            _enqueue(ids)


@functools.cache
def _celery_eager() -> bool:
    """Read once per process (a Celery setting lookup costs ~0.1 ms, on every request otherwise)."""
    return bool(tasks.process_payment_notifications.app.conf.task_always_eager)


def _enqueue(note_ids: list[int]) -> None:
    # the stored rows are the source of truth; the sweep recovers them
    delay_or(
        tasks.process_payment_notifications,
        note_ids,
        what=f"processing of notifications {note_ids[:20]}; the sweep will",
    )


_wakeups = _WakeUps()


def _enqueue_processing(note_id: int) -> None:
    """After commit."""
    _wakeups.add(note_id)


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)
