"""Reads for notifications. Every role sees only its own devices, inbox and preferences."""
from django.db.models import Q, QuerySet

from sponsorship.selectors.scoping import register_scope, scope

from .models import MANDATORY_KINDS, Device, Kind, Notification, NotificationPreference

_OWN_INBOX = {role: (lambda p, u: Q(recipient=u)) for role in ("sponsor", "worker", "agency_admin", "regency_admin")}
_OWN_ROWS = {role: (lambda p, u: Q(user=u)) for role in ("sponsor", "worker", "agency_admin", "regency_admin")}
register_scope(Notification, **_OWN_INBOX)
register_scope(Device, **_OWN_ROWS)
register_scope(NotificationPreference, **_OWN_ROWS)

# Held rows wait for the end of quiet hours; the inbox shows them once they go out, like the push.
INBOX_HIDDEN = [Notification.Status.HELD]


def inbox_for(user) -> QuerySet:
    """The caller's own notifications, newest first (even a superuser sees only their own here)."""
    return scope(Notification.objects.all(), user).filter(recipient=user).exclude(status__in=INBOX_HIDDEN)


def unread_count(user) -> int:
    return inbox_for(user).filter(read_at__isnull=True).count()


def preferences_for(user) -> list[dict]:
    stored = dict(NotificationPreference.objects.filter(user=user).values_list("kind", "enabled"))
    return [{"kind": kind, "label": label, "enabled": True if kind in MANDATORY_KINDS else stored.get(kind, True),
             "mandatory": kind in MANDATORY_KINDS} for kind, label in Kind.choices]
