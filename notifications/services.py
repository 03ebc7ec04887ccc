"""Writes for notifications: notify() (the outbox), devices, preferences, read marks.

`notify` is the one entry point other areas call. It writes an outbox row in the caller's
transaction and enqueues the send only after commit, so a rolled-back event never pushes.
Sending itself lives in `notifications.sending`.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext_lazy

from backend.api.errors import ApplicationError

from .models import MANDATORY_KINDS, Device, Kind, Notification, NotificationPreference
from .texts import TEMPLATES, render, render_params

QUIET_START_HOUR = 21  # no push from 21:00 ...
QUIET_END_HOUR = 6  # ... until 06:00, in the recipient's regency time zone
SEND_TASK_CHUNK = 500

_collector = threading.local()
INSERT_CHUNK = 5000  # rows per INSERT statement in notify_bulk


def ids_in(ids):
    """Right-hand side for `field__in=` with many ids.

    One array parameter (`IN (SELECT unnest(%s::bigint[]))`) instead of 14,000 placeholders, which Django
    and psycopg spend seconds composing.
    """
    return RawSQL("SELECT unnest(%s::bigint[])", (list(ids),))


# -- time zones and quiet hours -------------------------------------------------------------------
# Who a recipient is (their regency's zone, their language) is known to the domain apps, not here: each
# registers a source in its AppConfig.ready(). A source takes a set of user ids and answers {user_id: value};
# later sources override earlier ones where they know a value.
_ZONE_SOURCES: list = []
_LANGUAGE_SOURCES: list = []


def register_recipient_source(*, zones=None, languages=None) -> None:
    """Add a function that tells the regency zone name and/or the language of some users."""
    if zones is not None and zones not in _ZONE_SOURCES:
        _ZONE_SOURCES.append(zones)
    if languages is not None and languages not in _LANGUAGE_SOURCES:
        _LANGUAGE_SOURCES.append(languages)


def timezones_for(user_ids) -> dict[int, ZoneInfo]:
    """Each user's regency zone (WIB/WITA/WIT) as the registered sources tell it, else DEFAULT_REGENCY_TIMEZONE."""
    user_ids = set(user_ids)
    names: dict[int, str | None] = {}
    for source in _ZONE_SOURCES:
        for uid, name in source(user_ids).items():
            names[uid] = name or names.get(uid)
    default = settings.DEFAULT_REGENCY_TIMEZONE
    return {uid: _zone(names.get(uid) or default) for uid in user_ids}


@functools.lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def recipient_timezone(user) -> ZoneInfo:
    return timezones_for([user.pk])[user.pk]


def languages_for(user_ids) -> dict[int, str]:
    """The language the registered sources tell (a profile's); else that of the user's most recently seen phone."""
    user_ids = set(user_ids)
    out: dict[int, str] = {}
    for source in _LANGUAGE_SOURCES:
        out.update({uid: lang for uid, lang in source(user_ids).items() if lang})
    missing = user_ids - set(out)
    if missing:
        for uid, language in (
            Device.objects.filter(user_id__in=ids_in(missing), active=True)
            .order_by("user_id", "last_seen_at")
            .values_list("user_id", "language")
        ):
            out[uid] = language
    return {uid: (out.get(uid) or "id") for uid in user_ids}


def user_language(user) -> str:
    return languages_for([user.pk])[user.pk]


def quiet_hours_end(now: dt.datetime, tz: ZoneInfo) -> dt.datetime | None:
    """When quiet hours end if `now` falls inside them in `tz`, else None."""
    # NOTIFICATION_QUIET_HOURS = (start, end) hours; None switches them off (tests of delivery at any wall-clock hour).
    hours = getattr(settings, "NOTIFICATION_QUIET_HOURS", (QUIET_START_HOUR, QUIET_END_HOUR))
    if hours is None:
        return None
    start, end = hours
    local = now.astimezone(tz)
    if local.hour >= start:
        day = local.date() + dt.timedelta(days=1)
    elif local.hour < end:
        day = local.date()
    else:
        return None
    return dt.datetime.combine(day, dt.time(end), tzinfo=tz)


# -- the outbox ---------------------------------------------------------------------------------------
def notify(
    *,
    user,
    kind: str,
    context: dict,
    dedupe_key: str,
    data: dict[str, str] | None = None,
    collapse_key: str | None = None,
    expires_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> Notification | None:
    """Queue one notification for `user`; None when the dedupe key exists or the user opted out.

    The row is written in the caller's transaction; the send task is enqueued after commit.
    Between 21:00 and 06:00 in the recipient's zone the row is held until 06:00.
    `now` exists for tests and scans that reason about a given moment.
    """
    if kind not in TEMPLATES:
        raise ValueError(f"unknown notification kind {kind!r}")
    now = now or timezone.now()
    if (
        kind not in MANDATORY_KINDS
        and NotificationPreference.objects.filter(user=user, kind=kind, enabled=False).exists()
    ):
        return None
    if Notification.objects.filter(dedupe_key=dedupe_key).exists():
        return None
    language = user_language(user)
    title, body = render(kind, context, language)
    release = quiet_hours_end(now, recipient_timezone(user))
    row = Notification(
        recipient=user,
        kind=kind,
        title=title[:200],
        body=body,
        language=language,
        data={str(k): str(v) for k, v in (data or {}).items()},
        dedupe_key=dedupe_key,
        status=Notification.Status.HELD if release else Notification.Status.PENDING,
        next_attempt_at=release or now,
        collapse_key=(collapse_key or "")[:100],
        expires_at=expires_at,
        created_at=now,
        params=render_params(kind, context, language),
    )
    try:
        with transaction.atomic():  # a savepoint: a lost dedupe race must not break the caller's transaction
            row.save(force_insert=True)
    except IntegrityError:
        if Notification.objects.filter(dedupe_key=dedupe_key).exists():
            return None
        raise
    if not release:
        _schedule_send(row.pk)
    return row


@dataclass(frozen=True)
class NotifyRequest:
    """One notify() call, for notify_bulk."""

    user_id: int
    kind: str
    context: dict
    dedupe_key: str
    data: dict | None = None
    collapse_key: str | None = None
    expires_at: dt.datetime | None = None


def notify_bulk(requests: list[NotifyRequest], *, now: dt.datetime | None = None) -> list[int]:
    """notify() for many recipients in a handful of statements: what scans and national runs use.

    Same rules (opt-out, dedupe, quiet hours, language); returns the ids of the rows it created.
    Rows are written in the caller's transaction and sent after commit, 500 per task.

    Statements for N requests, whatever N: one dedupe lookup, one opt-out lookup, the language and
    zone lookups (`languages_for`, `timezones_for`: 3-5 queries with one array parameter each), and
    on PostgreSQL one `INSERT … SELECT FROM unnest(arrays) ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING id, status` per 5,000 rows, so a key written concurrently by another scan is skipped
    and exactly the rows this call created come back.
    """
    now = now or timezone.now()
    for request in requests:
        if request.kind not in TEMPLATES:
            raise ValueError(f"unknown notification kind {request.kind!r}")
    first: dict[str, NotifyRequest] = {}
    for request in requests:  # the same key twice in one call: the first wins
        first.setdefault(request.dedupe_key, request)
    unique = list(first.values())
    if not unique:
        return []
    # Keys that already exist are dropped before rendering (a re-run of an hourly scan costs one query
    # and no sequence values); ON CONFLICT below covers the race with a concurrent writer.
    existing = _existing_keys([r.dedupe_key for r in unique])
    user_ids = {r.user_id for r in unique}
    opted_out = set(
        NotificationPreference.objects.filter(user_id__in=ids_in(user_ids), enabled=False)
        .exclude(kind__in=MANDATORY_KINDS)
        .values_list("user_id", "kind")
    )
    todo = [r for r in unique if r.dedupe_key not in existing and (r.user_id, r.kind) not in opted_out]
    if not todo:
        return []
    todo_users = {r.user_id for r in todo}
    languages = languages_for(todo_users)
    zones = timezones_for(todo_users)
    releases = {zone: quiet_hours_end(now, zone) for zone in set(zones.values())}  # one per zone, not per row
    rows = []
    for r in todo:
        language = languages[r.user_id]
        title, body = render(r.kind, r.context, language)
        release = releases[zones[r.user_id]]
        rows.append(
            (
                r.user_id,
                r.kind,
                title[:200],
                body,
                language,
                {str(k): str(v) for k, v in (r.data or {}).items()},
                r.dedupe_key,
                Notification.Status.HELD if release else Notification.Status.PENDING,
                release or now,
                (r.collapse_key or "")[:100],
                r.expires_at,
                json.dumps(render_params(r.kind, r.context, language), ensure_ascii=False),
            )
        )
    created = []
    for start in range(0, len(rows), INSERT_CHUNK):
        created += _insert_rows(rows[start : start + INSERT_CHUNK], now)
    to_send = sorted(pk for pk, status in created if status == Notification.Status.PENDING)
    if to_send:
        ids = getattr(_collector, "ids", None)
        if ids is not None:
            ids.extend(to_send)
        else:
            transaction.on_commit(lambda: enqueue_send(to_send))
    return sorted(pk for pk, _ in created)


@contextmanager
def _array_cursor():
    """A psycopg cursor with server-side parameter binding on Django's connection (same transaction).

    Django's psycopg backend binds client-side, quoting every array element in Python: for the
    arrays below that was 4 s of 14,000 rows; server-side binding ships them through psycopg's C
    dumpers in milliseconds.
    """
    import psycopg

    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        yield cursor


def _existing_keys(keys: list[str]) -> set[str]:
    with _array_cursor() as cursor:
        cursor.execute(f"SELECT dedupe_key FROM {Notification._meta.db_table} WHERE dedupe_key = ANY(%b)", [keys])  # noqa: S608 - only table names and ORM-compiled subqueries are interpolated; values are parameters
        return {key for (key,) in cursor.fetchall()}


_INSERT_COLUMNS = (
    "recipient_id",
    "kind",
    "title",
    "body",
    "language",
    "data",
    "dedupe_key",
    "status",
    "next_attempt_at",
    "collapse_key",
    "expires_at",
    "params",
)
_ARRAY_TYPES = (
    "bigint",
    "text",
    "text",
    "text",
    "text",
    "text",
    "text",
    "text",
    "timestamptz",
    "text",
    "timestamptz",
    "text",
)


def _insert_rows(rows: list[tuple], now: dt.datetime) -> list[tuple[int, str]]:
    """One INSERT for many rows: a column of values per array parameter, unnested server-side."""
    table = Notification._meta.db_table
    columns = [list(column) for column in zip(*rows, strict=True)]
    columns[5] = [json.dumps(data, ensure_ascii=False) for data in columns[5]]
    arrays = ", ".join(f"%b::{kind}[]" for kind in _ARRAY_TYPES)  # binary: no per-element escaping
    names = ", ".join(_INSERT_COLUMNS)
    sql = (
        f"INSERT INTO {table} ({names}, attempts, last_error, delivered_device_ids, created_at, "  # noqa: S608 - only table names and ORM-compiled subqueries are interpolated; values are parameters
        f"channel, channels_tried, provider_message_id, delivery_status) "
        f"SELECT recipient_id, kind, title, body, language, data::jsonb, dedupe_key, status, next_attempt_at, "
        f"collapse_key, expires_at, params::jsonb, 0, '', '[]'::jsonb, %s, '', '[]'::jsonb, '', '' "
        f"FROM unnest({arrays}) AS r({names}) "
        f"ON CONFLICT (dedupe_key) DO NOTHING RETURNING id, status"
    )
    with _array_cursor() as cursor:
        cursor.execute(sql, [now, *columns])  # in the order the placeholders appear
        return cursor.fetchall()


def _schedule_send(pk: int) -> None:
    ids = getattr(_collector, "ids", None)
    if ids is not None:
        ids.append(pk)
    else:
        transaction.on_commit(lambda: enqueue_send([pk]))


@contextmanager
def batched_sends():
    """Inside this block notify() collects ids; one send task per 500 is enqueued after commit.

    Scans use it so 14,000 reminders become 28 tasks rather than 14,000.
    """
    outer = getattr(_collector, "ids", None)
    if outer is not None:  # nested: the outer block flushes
        yield
        return
    _collector.ids = []
    try:
        yield
        ids = _collector.ids
    finally:
        _collector.ids = None
    if ids:
        transaction.on_commit(lambda: enqueue_send(ids))


def enqueue_send(ids: list[int]) -> None:
    from backend.celery import delay_or

    from .tasks import send_notifications

    for start in range(0, len(ids), SEND_TASK_CHUNK):
        # broker down: the periodic dispatch_due sweep sends these rows later
        delay_or(send_notifications, ids=ids[start : start + SEND_TASK_CHUNK], what=f"send of {len(ids)} notifications")


# -- devices -------------------------------------------------------------------------------------------
def device_register(
    *,
    user,
    token: str,
    platform: str = Device.Platform.ANDROID,
    app_version: str = "",
    language: str = "id",
    kind: str = Device.PushIdKind.TOKEN,
    now: dt.datetime | None = None,
) -> Device:
    """Register or refresh a push token for `user` (an upsert on the token).

    A token that belonged to another account moves to this one: the phone is now signed in as `user`,
    and the previous account's reminders must not show up on it.
    """
    now = now or timezone.now()
    device, _ = Device.objects.update_or_create(
        token=token,
        defaults={
            "user": user,
            "platform": platform,
            "app_version": app_version or "",
            "language": language or "id",
            "kind": kind,
            "active": True,
            "last_seen_at": now,
            "deactivated_at": None,
            "deactivation_reason": "",
        },
    )
    return device


def device_unregister(*, user, token: str) -> bool:
    """Forget a token (sign-out). Only the owner can; True when something was removed."""
    deleted, _ = Device.objects.filter(user=user, token=token).delete()
    return bool(deleted)


def devices_deactivate(*, device_ids, reason: str, now: dt.datetime | None = None) -> int:
    now = now or timezone.now()
    return Device.objects.filter(pk__in=list(device_ids), active=True).update(
        active=False, deactivated_at=now, deactivation_reason=reason[:64]
    )


def devices_prune_stale(*, days: int = 270, now: dt.datetime | None = None) -> int:
    """Deactivate tokens the app has not refreshed for `days` (FCM expires Android tokens after 270)."""
    now = now or timezone.now()
    return Device.objects.filter(active=True, last_seen_at__lt=now - dt.timedelta(days=days)).update(
        active=False, deactivated_at=now, deactivation_reason="stale"
    )


# -- preferences and the inbox ---------------------------------------------------------------------------
def preferences_set(*, user, changes: dict[str, bool]) -> None:
    for kind, enabled in changes.items():
        if kind not in Kind.values:
            raise ApplicationError(
                gettext_lazy("Unknown notification kind."), code="unknown_kind", extra={"kind": kind}
            )
        if kind in MANDATORY_KINDS and not enabled:
            raise ApplicationError(
                gettext_lazy("Payment receipts are always sent and cannot be switched off."),
                code="mandatory_kind",
                extra={"kind": kind},
            )
    with transaction.atomic():
        for kind, enabled in changes.items():
            NotificationPreference.objects.update_or_create(user=user, kind=kind, defaults={"enabled": bool(enabled)})


def notification_mark_read(*, user, pk: int, now: dt.datetime | None = None) -> Notification:
    from django.shortcuts import get_object_or_404

    row = get_object_or_404(Notification, pk=pk, recipient=user)
    if row.read_at is None:
        now = now or timezone.now()
        Notification.objects.filter(pk=row.pk, read_at__isnull=True).update(read_at=now)
        row.refresh_from_db(fields=["read_at"])
    return row


def notifications_mark_all_read(*, user, now: dt.datetime | None = None) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=now or timezone.now())
