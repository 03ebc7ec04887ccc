"""Billing's figures for /metrics, read from the database at scrape time (backend/observability/metrics.py).

Counts only, labelled by state: no order id, amount or person. Every query is served by an index on status.
"""

import datetime as dt

from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from sponsorship.billing.models import PaymentAttempt, PaymentNotification

A = PaymentAttempt.Status
N = PaymentNotification.State
_LIVE_OR_REVIEW = (A.CREATING, A.OPEN, A.PENDING, A.FLAGGED)


def collect():
    now = timezone.now()
    since = now - dt.timedelta(hours=24)
    live = GaugeMetricFamily(
        "pengampu_payment_attempts_open",
        "Payment attempts still open (creating, open, pending) or waiting for an admin (flagged), by status.",
        labels=["status"],
    )
    for status in _LIVE_OR_REVIEW:
        live.add_metric([status], PaymentAttempt.objects.filter(status=status).count())
    yield live
    recent = GaugeMetricFamily(
        "pengampu_payment_attempts_changed_24h",
        "Payment attempts whose status last changed in the past 24 hours, by that status.",
        labels=["status"],
    )
    for status in A.values:
        recent.add_metric([status], PaymentAttempt.objects.filter(status=status, updated_at__gte=since).count())
    yield recent
    backlog = GaugeMetricFamily(
        "pengampu_webhook_backlog",
        "Stored Midtrans notifications not processed yet (received) or to be retried (failed).",
        labels=["state"],
    )
    oldest = None
    for state in (N.RECEIVED, N.FAILED):
        rows = PaymentNotification.objects.filter(state=state)
        backlog.add_metric([state], rows.count())
        if state == N.RECEIVED:
            oldest = rows.order_by("received_at").values_list("received_at", flat=True).first()
    yield backlog
    yield GaugeMetricFamily(
        "pengampu_webhook_oldest_unprocessed_age_seconds",
        "Age of the oldest notification still waiting to be processed (0: none).",
        value=(now - oldest).total_seconds() if oldest else 0.0,
    )
