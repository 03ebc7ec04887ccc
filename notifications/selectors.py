"""Reads for notifications. Every role sees only its own devices, inbox and preferences."""

from django.db.models import QuerySet

from .models import MANDATORY_KINDS, Channel, ContactChannel, Kind, Notification, NotificationPreference

# Held rows wait for the end of quiet hours; the inbox shows them once they go out, like the push.
INBOX_HIDDEN = [Notification.Status.HELD]


def inbox_for(user) -> QuerySet:
    """The caller's own notifications, newest first (even a superuser sees only their own here)."""
    if not getattr(user, "is_authenticated", False):
        return Notification.objects.none()
    return Notification.objects.filter(recipient=user).exclude(status__in=INBOX_HIDDEN)


def unread_count(user) -> int:
    return inbox_for(user).filter(read_at__isnull=True).count()


def preferences_for(user) -> list[dict]:
    stored = dict(NotificationPreference.objects.filter(user=user).values_list("kind", "enabled"))
    return [
        {
            "kind": kind,
            "label": label,
            "enabled": True if kind in MANDATORY_KINDS else stored.get(kind, True),
            "mandatory": kind in MANDATORY_KINDS,
        }
        for kind, label in Kind.choices
    ]


def contact_channels_for(user) -> list[dict]:
    """The caller's own channels: consent (with when and from where) and whether it is the preferred one."""
    rows = {row.channel: row for row in ContactChannel.objects.filter(user=user)}
    out = []
    for channel, label in Channel.choices:
        row = rows.get(channel)
        active = bool(row and row.granted and row.withdrawn_at is None)
        out.append(
            {
                "channel": channel,
                "label": str(label),
                "consent": True if channel == Channel.PUSH else active,
                "consent_at": row.consent_at if row else None,
                "consent_source": row.consent_source if row else "",
                "withdrawn_at": row.withdrawn_at if row else None,
                "preferred": bool(row and row.rank == 0),
            }
        )
    return out


def reach_by_channel(user_ids, *, since) -> list[dict]:
    """Messages to these users since `since`, per channel: accepted, delivered, read, failed (HR dashboard)."""
    from django.db.models import Count, Q

    from .services import ids_in

    rows = (
        Notification.objects.filter(recipient_id__in=ids_in(user_ids), created_at__gte=since)
        .exclude(channel="")
        .values("channel")
        .annotate(
            sent=Count("pk", filter=Q(status=Notification.Status.SENT)),
            delivered=Count("pk", filter=Q(delivery_status__in=["delivered", "read"])),
            read=Count("pk", filter=Q(delivery_status="read")),
            failed=Count("pk", filter=Q(status=Notification.Status.FAILED)),
        )
    )
    found = {row["channel"]: row for row in rows}
    out = []
    for channel, label in Channel.choices:
        row = found.get(channel, {"sent": 0, "delivered": 0, "read": 0, "failed": 0})
        out.append(
            {"channel": channel, "label": str(label), **{k: row[k] for k in ("sent", "delivered", "read", "failed")}}
        )
    return out


def users_last_message_failed(user_ids, *, since) -> set[int]:
    """Users whose latest routed message since `since` failed on every channel its route allowed."""
    from .services import ids_in

    latest = (
        Notification.objects.filter(recipient_id__in=ids_in(user_ids), created_at__gte=since)
        .exclude(channel="")
        .order_by("recipient_id", "-created_at", "-id")
        .distinct("recipient_id")
        .values_list("recipient_id", "status")
    )
    return {uid for uid, status in latest if status == Notification.Status.FAILED}
