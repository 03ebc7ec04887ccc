"""The outbox's WhatsApp and SMS leg: send claimed rows through their channel, fall back along the route.

Called by `sending._deliver` for rows whose current channel is WhatsApp or SMS. Calls run on a small thread
pool (CHANNEL_SEND_CONCURRENCY) paced per channel by a RateLimiter (WHATSAPP_MAX_PER_SECOND,
SMS_MAX_PER_SECOND). Outcomes:

* sent: the row is sent on that channel, with the provider's message id; receipts update it later
  (notifications.webhooks);
* retry: the same channel again after a backoff (quiet hours respected), until NOTIFICATIONS_MAX_ATTEMPTS;
* unreachable / failed, or retries exhausted: the next channel of the route, at once; none left: failed.
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings

from .channels import FAILED, RETRY, SENT, ChannelMessage, ChannelResult, get_channel
from .channels.ratelimit import RateLimiter
from .models import Notification
from .routing import next_channel

Status = Notification.Status
SAVED_FIELDS = [
    "status",
    "next_attempt_at",
    "claimed_at",
    "attempts",
    "last_error",
    "delivered_device_ids",
    "sent_at",
    "channel",
    "channels_tried",
    "provider_message_id",
    "delivery_status",
]
_limiters: dict[tuple[str, float], RateLimiter] = {}


def limiter(channel: str) -> RateLimiter:
    rate = float(getattr(settings, f"{channel.upper()}_MAX_PER_SECOND", 0) or 0)
    key = (channel, rate)
    if key not in _limiters:
        _limiters[key] = RateLimiter(rate)
    return _limiters[key]


def message_for(row: Notification, channel: str, phone: str) -> ChannelMessage:
    text = f"{row.title}\n{row.body}" if channel == "whatsapp" else f"Pengampu: {row.body}"
    return ChannelMessage(
        to=phone,
        text=text,
        template=f"{settings.WHATSAPP_TEMPLATE_PREFIX}{row.kind}" if channel == "whatsapp" else None,
        params=tuple(str(p) for p in (row.params or [])),
        language=row.language or "id",
        reference=f"notification/{row.pk}",
    )


def _send(channel_name: str, message: ChannelMessage) -> ChannelResult:
    channel = get_channel(channel_name)
    if channel is None:
        return ChannelResult(FAILED, error_code="not_configured", error_message=f"{channel_name} is switched off")
    limiter(channel_name).acquire()
    try:
        return channel.send(message)
    except Exception as exc:  # a provider bug must not lose the batch's other outcomes
        return ChannelResult(RETRY, error_code="exception", error_message=type(exc).__name__)


def deliver(jobs, *, allowed, now: dt.datetime, report, zones) -> list[Notification]:
    from .sending import backoff_seconds, quiet_hours_end

    messages = [message_for(row, channel, phone) for row, channel, phone in jobs]
    workers = max(1, int(getattr(settings, "CHANNEL_SEND_CONCURRENCY", 8)))
    if workers == 1 or len(jobs) == 1:
        results = [_send(channel, msg) for (_, channel, _), msg in zip(jobs, messages, strict=True)]
    else:
        with ThreadPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
            results = list(pool.map(_send, [channel for _, channel, _ in jobs], messages))
    max_attempts = getattr(settings, "NOTIFICATIONS_MAX_ATTEMPTS", 8)
    done = []
    for (row, channel, _), result in zip(jobs, results, strict=True):
        if result.outcome == SENT:
            row.status, row.sent_at, row.claimed_at = Status.SENT, now, None
            row.provider_message_id = result.provider_message_id or ""
            row.delivery_status = "sent"
            row.channels_tried = [*row.channels_tried, channel]
            report.sent += 1
        else:
            code = f"{channel}:{result.error_code or result.outcome}"
            report.errors[code] = report.errors.get(code, 0) + 1
            error = f"{channel} {result.error_code}: {(result.error_message or '')[:200]}"
            if result.outcome == RETRY and row.attempts < max_attempts:
                when = now + dt.timedelta(seconds=backoff_seconds(row.attempts, result.retry_after_seconds))
                release = quiet_hours_end(when, zones[row.recipient_id])
                row.status = Status.HELD if release else Status.PENDING
                row.next_attempt_at, row.claimed_at, row.last_error = release or when, None, error
                report.retry += 1
            elif fall_back(row, allowed.get(row.pk, ()), error=error, now=now):
                report.retry += 1
            else:
                row.status, row.claimed_at, row.last_error = Status.FAILED, None, error[:2000]
                row.channels_tried = [*row.channels_tried, channel]
                report.failed += 1
        done.append(row)
    return done


def fall_back(row: Notification, allowed: tuple[str, ...], *, error: str, now: dt.datetime) -> bool:
    """Move `row` to the next channel of its route (pending, due now); False when none is left."""
    tried = [*row.channels_tried, row.channel] if row.channel else list(row.channels_tried)
    nxt = next_channel(allowed, tried)
    if nxt is None:
        row.channels_tried = tried
        return False
    row.channels_tried = tried
    row.channel = nxt
    row.status, row.next_attempt_at, row.claimed_at = Status.PENDING, now, None
    row.provider_message_id, row.delivery_status = "", ""
    row.last_error = ((row.last_error + "; ") if row.last_error else "") + error[:500]
    return True


def save_accepted(rows: list[Notification]) -> None:
    """Record rows a provider accepted: one statement with a column of values per array parameter."""
    import json

    from .services import _array_cursor

    table = Notification._meta.db_table
    sql = (
        f"UPDATE {table} AS t SET status = 'sent', claimed_at = NULL, delivery_status = 'sent', "  # noqa: S608 - only the table name is interpolated
        "sent_at = r.sent_at, provider_message_id = r.mid, channel = r.ch, channels_tried = r.tried::jsonb, "
        "last_error = r.err FROM unnest(%b::bigint[], %b::text[], %b::text[], %b::text[], %b::text[], "
        "%b::timestamptz[]) AS r(id, mid, ch, tried, err, sent_at) WHERE t.id = r.id"
    )
    with _array_cursor() as cursor:
        cursor.execute(
            sql,
            [
                [r.pk for r in rows],
                [r.provider_message_id for r in rows],
                [r.channel for r in rows],
                [json.dumps(list(r.channels_tried)) for r in rows],
                [r.last_error or "" for r in rows],
                [r.sent_at for r in rows],
            ],
        )
