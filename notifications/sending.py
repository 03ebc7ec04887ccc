"""The sender: claim due outbox rows, push them through the configured provider, record outcomes.

Claiming is `SELECT … FOR UPDATE SKIP LOCKED` plus a conditional UPDATE to `sending`, so any number
of workers can run this at once and each row is pushed by one of them. A dedupe key is one row
(unique constraint), so it is never sent twice; devices that already accepted a row are remembered
(`delivered_device_ids`) so a retry only goes to the devices still missing it.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections import defaultdict
from dataclasses import dataclass, field
from typing import cast

from django.conf import settings
from django.core.signals import setting_changed
from django.db import transaction
from django.db.models import F, Q
from django.dispatch import receiver
from django.utils import timezone

from . import channel_sending
from .channels import configured_channels
from .models import Device, Notification
from .providers import DEACTIVATE, FAILED, RETRY, SENT, PushMessage, PushProvider, get_provider
from .providers.base import TargetKind
from .routing import allowed_channels, next_channel, routes_for
from .services import ids_in, quiet_hours_end, timezones_for

logger = logging.getLogger(__name__)

BATCH = 500  # rows per claim; the FCM provider also splits into send_each calls of <= 500
Status = Notification.Status
BACKLOG_GRACE = dt.timedelta(minutes=5)

_provider: PushProvider | None = None


def push_provider() -> PushProvider:
    """One provider per process (the FCM provider keeps one long-lived firebase App)."""
    global _provider
    if _provider is None:
        _provider = get_provider()
    return _provider


@receiver(setting_changed)
def _reset_provider(setting, **kwargs):
    global _provider
    if setting == "PUSH_PROVIDER" or setting.startswith("FCM_"):
        _provider = None


def _setting(name, default):
    return getattr(settings, name, default)


def backoff_seconds(attempts: int, retry_after: float | None = None) -> float:
    """Exponential backoff with 'equal jitter', never sooner than the server's Retry-After."""
    base = _setting("NOTIFICATIONS_BACKOFF_BASE_SECONDS", 30)
    cap = _setting("NOTIFICATIONS_BACKOFF_MAX_SECONDS", 3600)
    delay = min(cap, base * 2 ** max(0, attempts - 1))
    delay = delay / 2 + random.uniform(0, delay / 2)
    return max(delay, retry_after or 0)


@dataclass
class SendReport:
    claimed: int = 0
    sent: int = 0
    retry: int = 0
    failed: int = 0
    skipped: int = 0
    held: int = 0
    deactivated: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def add(self, other: SendReport) -> None:
        for name in ("claimed", "sent", "retry", "failed", "skipped", "held", "deactivated"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for code, count in other.errors.items():
            self.errors[code] = self.errors.get(code, 0) + count


def outbox_send(
    *,
    ids: list[int] | None = None,
    now: dt.datetime | None = None,
    provider: PushProvider | None = None,
    max_rows: int | None = None,
) -> SendReport:
    """Send due rows (only `ids` when given) until none is left or `max_rows` were claimed."""
    report = SendReport()
    provider = provider or push_provider()
    while max_rows is None or report.claimed < max_rows:
        fixed_now = now or timezone.now()
        limit = BATCH if max_rows is None else min(BATCH, max_rows - report.claimed)
        claimed = outbox_claim(ids=ids, now=fixed_now, limit=limit)
        if not claimed:
            break
        report.add(_deliver(claimed, provider=provider, now=fixed_now))
    return report


def outbox_claim(*, ids=None, now: dt.datetime, limit: int = BATCH) -> list[int]:
    """Claim up to `limit` due rows for this worker: two statements in one short transaction.

    `SELECT … FOR UPDATE SKIP LOCKED` picks rows no other worker holds (PostgreSQL re-checks the
    WHERE clause on the newest row version before locking, so a row another worker just sent is not
    picked), then one UPDATE marks them `sending`. Any number of processes can run this at once;
    each gets a disjoint batch.
    """
    stale = now - dt.timedelta(seconds=_setting("NOTIFICATIONS_CLAIM_TIMEOUT_SECONDS", 600))
    due = Q(status__in=[Status.PENDING, Status.HELD], next_attempt_at__lte=now) | Q(
        status=Status.SENDING, claimed_at__lt=stale
    )  # a worker died mid-send
    with transaction.atomic():
        if ids is not None:
            # Rows handed over by notify() are due the moment they were committed, whatever clock wrote them.
            due = due | Q(status=Status.PENDING, attempts=0)
            qs = Notification.objects.filter(due, pk__in=ids)
        else:
            qs = Notification.objects.filter(due)
        picked = list(
            qs.order_by("next_attempt_at", "pk")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:limit]
        )
        if not picked:
            return []
        updated = Notification.objects.filter(due, pk__in=picked).update(
            status=Status.SENDING, claimed_at=now, attempts=F("attempts") + 1
        )
    if updated == len(picked):
        return picked
    return list(
        Notification.objects.filter(pk__in=picked, status=Status.SENDING, claimed_at=now).values_list("pk", flat=True)
    )


def _deliver(ids: list[int], *, provider: PushProvider, now: dt.datetime) -> SendReport:
    report = SendReport(claimed=len(ids))
    console_fallback = str(_setting("PUSH_PROVIDER", "console")).lower() == "console" and _setting(
        "NOTIFICATIONS_CONSOLE_WITHOUT_DEVICE", False
    )
    rows_qs = Notification.objects.filter(pk__in=ids).defer("read_at").order_by("pk")
    rows = list(rows_qs.select_related("recipient") if console_fallback else rows_qs)
    recipients = {r.recipient_id for r in rows}
    devices: dict[int, list[Device]] = defaultdict(list)
    for device in (
        Device.objects.filter(user_id__in=ids_in(recipients), active=True)
        .only("pk", "user_id", "token", "kind")
        .order_by("pk")
    ):
        devices[device.user_id].append(device)
    zones = _LazyZones(recipients)  # needed only for late rows and retries: usually never queried
    # WhatsApp/SMS configured: each row follows its recipient's route (push only otherwise, as before).
    routes = routes_for(recipients) if configured_channels() else {}
    allowed: dict[int, tuple[str, ...]] = {}
    channel_jobs: list[tuple[Notification, str, str]] = []  # (row, channel, phone)
    messages: list[PushMessage] = []
    targets: list[tuple[Notification, Device | None]] = []  # None: console fallback, no device
    done: list[Notification] = []
    for row in rows:
        if row.expires_at and row.expires_at <= now:
            _finish(row, Status.SKIPPED, error="expired before it could be sent")
            report.skipped += 1
            done.append(row)
            continue
        # notify() already applied quiet hours and retries are scheduled around them; this catches rows
        # that waited in a backlog (written at 20:59, reached at 21:30).
        late = now - (row.created_at if row.attempts <= 1 else row.next_attempt_at) > BACKLOG_GRACE
        release = quiet_hours_end(now, zones[row.recipient_id]) if late else None
        if release:
            row.status, row.next_attempt_at, row.claimed_at = Status.HELD, release, None
            row.attempts = max(0, row.attempts - 1)  # holding is not an attempt
            report.held += 1
            done.append(row)
            continue
        route = routes.get(row.recipient_id)
        if route is not None:
            allowed[row.pk] = allowed_channels(route, row.kind)
            current = row.channel if row.channel in allowed[row.pk] else None
            current = current or next_channel(allowed[row.pk], row.channels_tried)
            if current is None and row.channels_tried:  # every channel the policy allows was tried
                _finish(row, Status.FAILED, error=row.last_error or "no channel reached the recipient")
                report.failed += 1
                done.append(row)
                continue
            if current is not None:
                row.channel = current
                if current != "push":
                    channel_jobs.append((row, current, route.phone or ""))
                    continue
        pending = [d for d in devices.get(row.recipient_id, []) if d.pk not in row.delivered_device_ids]
        if not pending:
            if row.delivered_device_ids:
                _finish(row, Status.SENT, now=now)
                report.sent += 1
            elif console_fallback:  # the embedded demo: show it in the console anyway
                messages.append(
                    PushMessage(
                        token=f"inbox:{row.recipient.get_username()}",
                        title=row.title,
                        body=row.body,
                        data={**row.data, "kind": row.kind, "notification_id": str(row.pk)},
                        collapse_key=row.collapse_key or None,
                        expires_at=row.expires_at,
                    )
                )
                targets.append((row, None))
                continue
            else:  # no phone registered: the inbox still shows it
                _finish(row, Status.SKIPPED, error="no active device")
                report.skipped += 1
            done.append(row)
            continue
        data = {**row.data, "kind": row.kind, "notification_id": str(row.pk)}
        for device in pending:
            messages.append(
                PushMessage(
                    # Device.kind is limited to PushIdKind's choices, which are exactly the TargetKind values.
                    token=device.token,
                    kind=cast(TargetKind, device.kind),
                    title=row.title,
                    body=row.body,
                    data=data,
                    collapse_key=row.collapse_key or None,
                    expires_at=row.expires_at,
                )
            )
            targets.append((row, device))

    results = provider.send(messages) if messages else []
    per_row: dict[int, list] = defaultdict(list)
    dead: dict[str, list[int]] = defaultdict(list)
    for (row, target_device), result in zip(targets, results, strict=True):
        per_row[row.pk].append((target_device, result))
        if target_device is None:
            continue
        if result.outcome == DEACTIVATE:
            dead[result.error_code or "deactivated"].append(target_device.pk)
        if result.outcome != SENT:
            code = result.error_code or result.outcome
            report.errors[code] = report.errors.get(code, 0) + 1
    for reason, device_ids in dead.items():
        report.deactivated += Device.objects.filter(pk__in=device_ids, active=True).update(
            active=False, deactivated_at=now, deactivation_reason=reason[:64]
        )

    max_attempts = _setting("NOTIFICATIONS_MAX_ATTEMPTS", 8)
    for row in {r.pk: r for r, _ in targets}.values():
        outcomes = per_row[row.pk]
        delivered = [d.pk for d, r in outcomes if r.outcome == SENT and d is not None]
        row.delivered_device_ids = list(row.delivered_device_ids) + delivered
        console_only = any(d is None and r.outcome == SENT for d, r in outcomes)
        retry = [r for _, r in outcomes if r.outcome == RETRY]
        errors = "; ".join(
            f"{r.error_code}: {(r.error_message or '')[:200]}"
            for _, r in outcomes
            if r.outcome in (RETRY, FAILED, DEACTIVATE)
        )
        if retry and row.attempts < max_attempts:
            retry_after = max((r.retry_after_seconds or 0) for r in retry)
            when = now + dt.timedelta(seconds=backoff_seconds(row.attempts, retry_after))
            release = quiet_hours_end(when, zones[row.recipient_id])
            row.status = Status.HELD if release else Status.PENDING
            row.next_attempt_at = release or when
            row.claimed_at = None
            row.last_error = errors
            report.retry += 1
        elif row.delivered_device_ids or console_only:
            _finish(row, Status.SENT, now=now, error=errors)
            if row.channel:
                row.channels_tried = [*row.channels_tried, row.channel]
                row.delivery_status = "sent"
            report.sent += 1
        elif row.channel and channel_sending.fall_back(row, allowed.get(row.pk, ()), error=errors, now=now):
            report.retry += 1
        else:
            _finish(row, Status.FAILED, error=errors or "no device accepted the message")
            report.failed += 1
        done.append(row)

    if channel_jobs:
        done += channel_sending.deliver(channel_jobs, allowed=allowed, now=now, report=report, zones=zones)
    _save(done)
    logger.info("outbox: %s", report)
    return report


class _LazyZones:
    """recipient id -> zone, looked up (3 queries) on first use only."""

    def __init__(self, user_ids):
        self._user_ids = user_ids
        self._zones = None

    def __getitem__(self, user_id):
        if self._zones is None:
            self._zones = timezones_for(self._user_ids)
        return self._zones[user_id]


def _save(rows: list[Notification]) -> None:
    """Write outcomes. Finished rows share a few (status, error, sent_at) values, so one UPDATE per
    group replaces the 500-way CASE that bulk_update builds (10x slower). Rows going round again
    (retry, held) are few and keep their per-row state, so they are saved one by one."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    routed = [row for row in rows if row.channel]
    if routed:  # rows that went through a route carry per-row channel state
        accepted = [r for r in routed if r.status == Status.SENT and r.channel != "push"]
        if accepted:  # the common case: one UPDATE … FROM unnest(arrays), not a 500-way CASE per column
            channel_sending.save_accepted(accepted)
        others = [r for r in routed if not (r.status == Status.SENT and r.channel != "push")]
        if others:
            Notification.objects.bulk_update(others, channel_sending.SAVED_FIELDS, batch_size=500)
    for row in rows:
        if row.channel:
            continue
        if row.status in (Status.SENT, Status.FAILED, Status.SKIPPED):
            groups[(row.status, row.last_error, row.sent_at)].append(row.pk)
        else:
            row.save(
                update_fields=[
                    "status",
                    "next_attempt_at",
                    "claimed_at",
                    "attempts",
                    "last_error",
                    "delivered_device_ids",
                ]
            )
    for (status, error, sent_at), pks in groups.items():
        Notification.objects.filter(pk__in=pks, status=Status.SENDING).update(
            status=status, last_error=error, sent_at=sent_at, claimed_at=None
        )


def _finish(row: Notification, status: str, *, now=None, error: str = "") -> None:
    row.status = status
    row.claimed_at = None
    row.last_error = error[:2000]
    if status == Status.SENT:
        row.sent_at = now
