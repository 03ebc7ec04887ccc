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
