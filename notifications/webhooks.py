"""Provider webhooks: delivery receipts and inbound messages, stored as evidence before they are trusted.

Each event is one ChannelEvent row whose unique `key` dedupes it (the provider's message id + status, or the
inbound message id), inserted in a savepoint: a retried webhook finds the key taken and changes nothing. A
body with a bad signature is refused (403) and kept as an `invalid` row (its size and hash, not its content).
Receipts move the outbox row's delivery status only forward (sent → delivered → read); a failure receipt
sends the row on to the next channel of its route. Personal data is kept out of the evidence: no phone number,
no message text beyond the command word.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from .channel_sending import fall_back
from .channels import sms as twilio
from .channels import whatsapp
from .models import ChannelEvent, Notification
from .routing import allowed_channels, routes_for

logger = logging.getLogger(__name__)
Status = Notification.Status

RANK = {"sent": 1, "delivered": 2, "read": 3}
TWILIO_STATUS = {
    "queued": "sent",
    "accepted": "sent",
    "sending": "sent",
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "undelivered": "failed",
    "failed": "failed",
}


@dataclass(frozen=True)
class WebhookResult:
    status_code: int
    new: int = 0
    duplicates: int = 0


def _invalid(provider: str, body: bytes, now) -> WebhookResult:
    ChannelEvent.objects.create(
        provider=provider,
        key=f"invalid:{uuid.uuid4()}",
        kind="invalid",
        payload={"size": len(body), "sha256": hashlib.sha256(body).hexdigest()},
        valid=False,
        received_at=now,
        outcome="bad signature",
    )
    return WebhookResult(403)


def _record(provider: str, key: str, kind: str, payload: dict, now) -> ChannelEvent | None:
    try:
        with transaction.atomic():
            return ChannelEvent.objects.create(provider=provider, key=key, kind=kind, payload=payload, received_at=now)
    except IntegrityError:
        return None


def whatsapp_webhook_receive(*, body: bytes, signature: str | None, now: dt.datetime | None = None) -> WebhookResult:
    now = now or timezone.now()
    if not whatsapp.verify_signature(body, signature, settings.WHATSAPP_APP_SECRET):
        return _invalid("meta", body, now)
    try:
        payload = json.loads(body)
    except ValueError:
        return WebhookResult(400)
    new = dup = 0
    with transaction.atomic():
        for event in whatsapp.parse_webhook(payload):
            if isinstance(event, whatsapp.StatusEvent):
                row = _record(
                    "meta",
                    f"meta:{event.provider_message_id}:{event.status}",
                    "status",
                    {"id": event.provider_message_id, "status": event.status, "error": event.error_code},
                    now,
                )
                if row is None:
                    dup += 1
                    continue
                at = dt.datetime.fromtimestamp(event.timestamp, tz=dt.UTC) if event.timestamp else now
                row.outcome = receipt_apply(
                    provider_message_id=event.provider_message_id,
                    status=event.status,
                    at=at,
                    error=f"{event.error_code} {event.error_title}".strip(),
                )
            else:
                from .inbound import inbound_handle

                word = (event.text.strip().split() or [""])[0][:20]
                row = _record("meta", f"meta-in:{event.message_id}", "inbound", {"command": word}, now)
                if row is None:
                    dup += 1
                    continue
                row.outcome = inbound_handle(sender=event.sender, text=event.text)
            row.processed_at = now
            row.save(update_fields=["outcome", "processed_at"])
            new += 1
    return WebhookResult(200, new, dup)


def twilio_status_receive(
    *, url: str, params: dict[str, str], signature: str | None, now: dt.datetime | None = None
) -> WebhookResult:
    now = now or timezone.now()
    if not twilio.verify_signature(url, params, signature, settings.TWILIO_AUTH_TOKEN):
        return _invalid("twilio", json.dumps(params, sort_keys=True).encode(), now)
    sid, status = params.get("MessageSid", ""), params.get("MessageStatus", "")
    if not sid or not status:
        return WebhookResult(400)
    with transaction.atomic():
        row = _record(
            "twilio",
            f"twilio:{sid}:{status}",
            "status",
            {"id": sid, "status": status, "error": params.get("ErrorCode", "")},
            now,
        )
        if row is None:
            return WebhookResult(200, 0, 1)
        row.outcome = receipt_apply(
            provider_message_id=sid,
            status=TWILIO_STATUS.get(status, ""),
            at=now,
            error=f"twilio {params.get('ErrorCode', '')}".strip(),
        )
        row.processed_at = now
        row.save(update_fields=["outcome", "processed_at"])
    return WebhookResult(200, 1, 0)


def receipt_apply(*, provider_message_id: str, status: str, at: dt.datetime, error: str = "") -> str:
    """Move the outbox row the provider message belongs to; returns what happened (for the evidence row)."""
    if not provider_message_id or not status:
        return "ignored"
    row = (
        Notification.objects.select_for_update()
        .filter(provider_message_id=provider_message_id)
        .exclude(provider_message_id="")
        .first()
    )
    if row is None:
        return "unknown message"
    if status in RANK:
        if RANK[status] <= RANK.get(row.delivery_status, 0):
            return "stale"
        row.delivery_status = status
        fields = ["delivery_status"]
        if status in ("delivered", "read") and row.delivered_at is None:
            row.delivered_at = at
            fields.append("delivered_at")
        if status == "read" and row.read_at is None:
            row.read_at = at
            fields.append("read_at")
        row.save(update_fields=fields)
        return status
    if status == "failed":
        if row.delivery_status in ("delivered", "read"):
            return "stale"
        route = routes_for([row.recipient_id])[row.recipient_id]
        row.delivery_status = "failed"
        if fall_back(
            row, allowed_channels(route, row.kind), error=f"{row.channel} receipt: {error}", now=timezone.now()
        ):
            row.save()
            pk = row.pk
            from .services import enqueue_send

            transaction.on_commit(lambda: enqueue_send([pk]))
            return f"failed; falling back to {row.channel}"
        row.status = Status.FAILED
        row.last_error = ((row.last_error + "; ") if row.last_error else "") + f"receipt: {error}"[:500]
        row.save()
        return "failed; no channel left"
    return "ignored"
