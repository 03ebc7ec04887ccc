"""Celery tasks: each only fetches and calls a service, and each is safe to run twice."""

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="notifications.tasks.send_notifications", ignore_result=True)
def send_notifications(ids=None):
    """Send the given outbox rows (enqueued by notify() after commit)."""
    from .sending import outbox_send

    return _summary(outbox_send(ids=ids))


@shared_task(name="notifications.tasks.dispatch_due", ignore_result=True)
def dispatch_due():
    """The sweep: rows released from quiet hours, due retries, sends whose enqueue was lost."""
    from .sending import outbox_send

    return _summary(outbox_send())


@shared_task(name="notifications.tasks.prune_devices", ignore_result=True)
def prune_devices():
    from .services import devices_prune_stale

    return devices_prune_stale()


def _summary(report):
    return {
        "claimed": report.claimed,
        "sent": report.sent,
        "retry": report.retry,
        "failed": report.failed,
        "skipped": report.skipped,
        "held": report.held,
        "deactivated": report.deactivated,
    }
