"""Accepting a Midtrans notification: store it as evidence, verify the signature, dedupe, answer at once;
processing (settlement.notification_process) runs in a Celery task after commit.

Rules (house style §7): every body is stored before it is acted on; the signature is checked in constant time
(the gateway's verify_notification); the database dedupes (unique dedupe_key); a failure to store answers 503
so Midtrans retries. The wake-up after commit is only a hint: a stored row the task never saw is picked up by
the sweep (reconciliation).

What is refused and how (docs/money-rules.md, "Payments and the webhook"):
- before anything is read or stored: more than MIDTRANS_NOTIFICATION_RATE_PER_MINUTE requests a minute from one
  address → 429, a body over MIDTRANS_NOTIFICATION_MAX_BYTES → 413; only a small RefusedNotification row
  (address, reason, minute, count, size) is kept;
- not UTF-8 or not a JSON object → 400; a bad or missing signature → 403; signed but with identifiers that are
  not printable ASCII (a NUL, say) → 400. The exact bytes are kept either way (raw_bytes when they are not plain
  text), up to MIDTRANS_REJECTED_KEPT_PER_MINUTE rejected bodies a minute per address, then only a count;
- a signed notification for an order id without this deployment's prefix (MIDTRANS_ORDER_PREFIX) that we do not
  know → 200 "ignored", stored as `other_deployment`, never processed.
"""

import atexit
import functools
import hashlib
import json
import logging
import os
import re
import threading
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from backend.celery import delay_or
from sponsorship.billing import tasks
from sponsorship.billing.gateways import get_gateway
from sponsorship.billing.models import PaymentAttempt, PaymentNotification, RefusedNotification

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
R = RefusedNotification.Reason

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

# Midtrans order and transaction ids, statuses, codes and amounts are short printable ASCII.
_IDENTIFIER = re.compile(r"[\x20-\x7e]*")
_IDENTIFIER_FIELDS = ("order_id", "transaction_id", "transaction_status", "status_code", "gross_amount")


def _payload_fields(payload: dict) -> dict:
    return {
        "order_id": _printable(payload.get("order_id", ""))[:64],
        "transaction_id": _printable(payload.get("transaction_id", ""))[:64],
        "transaction_status": _printable(payload.get("transaction_status", "")).lower()[:24],
        "status_code": _printable(payload.get("status_code", ""))[:8],
        "gross_amount": _printable(payload.get("gross_amount", ""))[:24],
    }


def _printable(value) -> str:
    """For the searchable columns of a row kept as evidence: NUL and other control characters shown escaped."""
    text = value if isinstance(value, str) else str(value)
    if _IDENTIFIER.fullmatch(text):
        return text
    return text.encode("unicode_escape").decode("ascii")


def _bad_identifiers(payload: dict) -> list[str]:
    return [
        name
        for name in _IDENTIFIER_FIELDS
        if not isinstance(payload.get(name, ""), str) or not _IDENTIFIER.fullmatch(payload.get(name, ""))
    ]


def event_key(payload: dict) -> str:
    """What makes one notification a different event from another of the same order (the dedupe key).

    Two notifications are copies of one event only if they agree on the transaction, its status and status
    code, the gross amount, the fraud status, the total refunded and the refund list (each refund's id, key,
    amount and bank confirmation time). So a second partial refund of the same amount (a new entry in the
    list, a new total) and the bank's confirmation of a refund (bank_confirmed_at) are new events; Midtrans
    sending the same notification again is not.
    """
    refunds = payload.get("refunds")
    refund_state = [
        [str(r.get(k) or "") for k in ("refund_chargeback_id", "refund_key", "refund_amount", "bank_confirmed_at")]
        for r in (refunds if isinstance(refunds, list) else [])
        if isinstance(r, dict)
    ]
    parts = [
        *(str(payload.get(name, "")) for name in _IDENTIFIER_FIELDS),
        str(payload.get("fraud_status") or ""),
        str(payload.get("refund_amount") or ""),
        refund_state,
    ]
    digest = hashlib.sha256(json.dumps(parts, ensure_ascii=True).encode()).hexdigest()[:40]
    return f"{str(payload.get('order_id', ''))[:64]}|{str(payload.get('transaction_status', ''))[:24]}|{digest}"


def _readable(raw_body: bytes) -> tuple[str, bytes | None]:
    """(text for raw_body, exact bytes or None): the bytes are kept apart only when text cannot hold them."""
    try:
        text = raw_body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and "\x00" not in text:
        return text, None
    shown = raw_body.decode("utf-8", "backslashreplace").replace("\x00", "\\x00")
    return shown, bytes(raw_body)


def _clean_headers(headers: dict) -> dict:
    """jsonb cannot hold NUL either."""
    return {str(k).replace("\x00", "\\x00"): str(v).replace("\x00", "\\x00") for k, v in headers.items()}


def _parse(raw_body: bytes) -> tuple[dict | None, str]:
    try:
        text = raw_body.decode("utf-8")
    except UnicodeDecodeError:
        return None, "invalid_encoding"
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError):
        return None, "invalid_json"
    if not isinstance(payload, dict):
        return None, "invalid_json"
    return payload, ""


# ---- refusing before anything is stored --------------------------------------------------------------------
def _minute(now) -> int:
    return int(now.timestamp()) // 60


def _count(key: str) -> int:
    """This request's number in its minute for this key, shared by every process through the cache.

    On Redis one round trip (INCR + EXPIRE pipelined: Django's incr alone costs two, after an add); a Redis
    outage answers 0, i.e. no limit for a while, like every throttle here (backend/cache.py logs it)."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        import redis

        full = backend.make_and_validate_key(key)
        try:
            with backend._cache.get_client(full, write=True).pipeline(transaction=False) as pipe:
                pipe.incr(full)
                pipe.expire(full, 120)
                seen, _ = pipe.execute()
            return int(seen)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError):
            logger.error("cache unavailable: the webhook's rate limit is off for now")
            return 0
    backend.add(key, 0, timeout=120)
    try:
        return int(backend.incr(key))
    except ValueError:  # expired between add and incr
        backend.set(key, 1, timeout=120)
        return 1


def notification_refusal(*, remote_ip: str | None, declared_bytes: int | None) -> WebhookAnswer | None:
    """Before the body is read: too many requests from this address this minute (429), or a body larger than a
    notification can be (413). None: go ahead. Every refusal is counted in a small RefusedNotification row."""
    now = timezone.now()
    ip = remote_ip or ""
    seen = _count(f"mtwh:rate:{ip}:{_minute(now)}")
    over = seen - settings.MIDTRANS_NOTIFICATION_RATE_PER_MINUTE
    if over > 0:
        _refusal_record(ip=ip, reason=R.RATE_LIMITED, now=now, nth=over, size=declared_bytes or 0)
        return WebhookAnswer(429, {"status": "rate_limited"})
    if declared_bytes is not None and declared_bytes > settings.MIDTRANS_NOTIFICATION_MAX_BYTES:
        return notification_too_large(remote_ip=ip, size=declared_bytes, now=now)
    return None


def notification_too_large(*, remote_ip: str | None, size: int, now=None) -> WebhookAnswer:
    now = now or timezone.now()
    ip = remote_ip or ""
    nth = _count(f"mtwh:large:{ip}:{_minute(now)}")
    _refusal_record(ip=ip, reason=R.TOO_LARGE, now=now, nth=nth, size=size)
    logger.warning("refused a %d-byte notification body from %s", size, ip or "?")
    return WebhookAnswer(413, {"status": "too_large"})


_REFUSAL_SQL = """
INSERT INTO {table} (remote_ip, reason, window_start, count, largest_bytes, first_at, last_at)
VALUES (%(ip)s, %(reason)s, %(window)s, %(count)s, %(size)s, %(now)s, %(now)s)
ON CONFLICT (remote_ip, reason, window_start) DO UPDATE
SET count = GREATEST({table}.count, EXCLUDED.count), largest_bytes = GREATEST({table}.largest_bytes,
    EXCLUDED.largest_bytes), last_at = EXCLUDED.last_at
"""


def _refusal_record(*, ip: str, reason: str, now, nth: int, size: int) -> None:
    """Written for the 1st, 2nd, 4th, 8th... refusal of a minute: a flood costs a handful of writes, and the row
    still says how many (to within a factor of two) and from where."""
    if nth < 1 or nth & (nth - 1):
        return
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                _REFUSAL_SQL.format(table=_table(RefusedNotification)),
                {
                    "ip": ip[:45],
                    "reason": reason,
                    "window": now.replace(second=0, microsecond=0),
                    "count": nth,
                    "size": min(size, 2**62),
                    "now": now,
                },
            )
    except DatabaseError:
        logger.exception("could not record a refused notification (%s from %s)", reason, ip)


def _keep_rejected(ip: str) -> bool:
    """Rejected bodies are kept in full up to MIDTRANS_REJECTED_KEPT_PER_MINUTE a minute per address."""
    now = timezone.now()
    over = _count(f"mtwh:rejected:{ip}:{_minute(now)}") - settings.MIDTRANS_REJECTED_KEPT_PER_MINUTE
    if over > 0:
        _refusal_record(ip=ip, reason=R.REJECTED_NOT_STORED, now=now, nth=over, size=0)
        return False
    return True


# ---- accepting -------------------------------------------------------------------------------------------------
def notification_receive(*, raw_body: bytes, headers: dict, remote_ip: str | None, gateway=None) -> WebhookAnswer:
    """Accept a Midtrans notification: store it as evidence, answer at once; processing happens after commit."""
    if len(raw_body) > settings.MIDTRANS_NOTIFICATION_MAX_BYTES:  # a body sent without a Content-Length
        return notification_too_large(remote_ip=remote_ip, size=len(raw_body))
    text, exact = _readable(raw_body)
    headers = _clean_headers(headers)
    evidence = {"raw_body": text, "raw_bytes": exact, "headers": headers, "remote_ip": remote_ip}
    fields = {"order_id": ""}
    try:
        payload, problem = _parse(raw_body)
        if payload is None:
            _reject(evidence, outcome=problem)
            return WebhookAnswer(400, {"status": problem})
        fields = _payload_fields(payload)
        if not (gateway or get_gateway()).verify_notification(payload):
            _reject(evidence, outcome="bad_signature", signature_valid=False, **fields)
            logger.warning("rejected notification: bad signature (order %s)", fields["order_id"])
            return WebhookAnswer(403, {"status": "invalid_signature"})
        bad = _bad_identifiers(payload)
        if bad:
            _reject(evidence, outcome="invalid_fields", signature_valid=True, error=", ".join(bad), **fields)
            logger.warning("rejected signed notification: unreadable %s (order %s)", bad, fields["order_id"])
            return WebhookAnswer(400, {"status": "invalid_fields", "fields": bad})
        if exact is not None:  # defensive: JSON cannot carry a raw NUL or invalid UTF-8, so this is never reached
            _reject(evidence, outcome="invalid_body", signature_valid=True, **fields)
            return WebhookAnswer(400, {"status": "invalid_body"})
        if _other_deployment(fields["order_id"]):
            PaymentNotification.objects.create(
                **evidence,
                **fields,
                signature_valid=True,
                state=N.OTHER_DEPLOYMENT,
                outcome="other_deployment",
                processed_at=timezone.now(),
            )
            logger.info(
                "ignored notification for %r: not this deployment's order prefix %r",
                fields["order_id"],
                settings.MIDTRANS_ORDER_PREFIX,
            )
            return WebhookAnswer(200, {"status": "ignored"})
        key = event_key(payload)
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


def _reject(evidence: dict, *, outcome: str, **fields) -> None:
    """Keep a rejected body as evidence (within the per-address allowance) in its own savepoint."""
    if not _keep_rejected(evidence["remote_ip"] or ""):
        return
    with transaction.atomic():
        PaymentNotification.objects.create(
            **evidence, state=N.REJECTED, outcome=outcome, processed_at=timezone.now(), **fields
        )


def _other_deployment(order_id: str) -> bool:
    """Not our prefix and not one of our (older, unprefixed) orders."""
    if order_id.startswith(f"{settings.MIDTRANS_ORDER_PREFIX}-"):
        return False
    return not PaymentAttempt.objects.filter(order_id=order_id).exists()


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
