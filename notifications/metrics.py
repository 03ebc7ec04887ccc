"""The outbox's figures for /metrics, read from the database at scrape time (backend/observability/metrics.py).

Depth and age only, never a recipient or a text. Pending and held rows are the partial index notif_due_idx.
"""

from django.db.models import Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from notifications.models import Notification

S = Notification.Status
_QUEUED = (S.PENDING, S.HELD)


def collect():
    now = timezone.now()
    depth = GaugeMetricFamily(
        "pengampu_outbox_depth", "Notifications waiting to be sent (pending, held for quiet hours).", labels=["status"]
    )
    for status in _QUEUED:
        depth.add_metric([status], Notification.objects.filter(status=status).count())
    yield depth
    queued = Notification.objects.filter(status__in=_QUEUED)
    due = queued.filter(next_attempt_at__lte=now).aggregate(first=Min("next_attempt_at"))["first"]
    yield GaugeMetricFamily(
        "pengampu_outbox_oldest_due_age_seconds",
        "How long the most overdue notification has been due (0: nothing overdue). Grows when the sender lags.",
        value=(now - due).total_seconds() if due else 0.0,
    )
    created = queued.aggregate(first=Min("created_at"))["first"]
    yield GaugeMetricFamily(
        "pengampu_outbox_oldest_age_seconds",
        "Age of the oldest notification still waiting (held ones included; 0: none).",
        value=(now - created).total_seconds() if created else 0.0,
    )
