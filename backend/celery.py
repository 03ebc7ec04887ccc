"""The Celery app. Redis is the broker in production; without one, tasks run eagerly in-process."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.dev")

app = Celery("pengampu")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# NOTIFICATIONS: the beat schedule (billing day, reminder scans, payment reconciliation, outbox sweep).
# One beat process per deployment; as many workers as needed (see docs/notifications.md).
from notifications.schedule import BEAT_SCHEDULE  # noqa: E402

app.conf.beat_schedule = BEAT_SCHEDULE


def delay_or(task, *args, what: str, fallback=None, **kwargs) -> bool:
    """`task.delay(...)`, or, when the broker cannot take it (Redis down), log and run `fallback()` (if any).

    Every enqueue after a commit goes through here: the committed rows are the source of truth, so a dead
    broker never turns a finished request into a 500. Without a fallback a periodic sweep picks the rows up.
    """
    import logging

    try:
        task.delay(*args, **kwargs)
        return True
    except Exception:  # noqa: BLE001 - any broker/connection error
        logging.getLogger("backend.celery").exception("could not enqueue %s", what)
        if fallback is not None:
            fallback()
        return False
