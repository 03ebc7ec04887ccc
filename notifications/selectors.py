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
