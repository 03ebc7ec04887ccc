"""Reads for notifications. Every role sees only its own devices, inbox and preferences."""

from django.db.models import QuerySet

from .models import MANDATORY_KINDS, Kind, Notification, NotificationPreference

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
