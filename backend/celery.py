"""The Celery app. Redis is the broker in production; without one, tasks run eagerly in-process."""

import os

from celery import Celery

# A production entry point: without DJANGO_SETTINGS_MODULE it runs production settings, which refuse to start
# without real secrets (never the dev settings with DEBUG, ALLOWED_HOSTS=* and published keys).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.production")

import backend.observability.celery  # noqa: E402,F401  (connects the request-id and timing signals)

app = Celery("pengampu")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def beat_schedule() -> dict:
    """The one beat schedule: every installed app's `schedule.BEAT_SCHEDULE`, merged.

    Each app owns its entries (billing: billing day, reconciliation, reminder scans; notifications: the outbox
    sweep). One beat process per deployment (see docs/notifications.md); `manage.py run_scheduler` follows the
    same schedule in-process where there is no broker.
    """
    from importlib import import_module
    from importlib.util import find_spec

    from django.conf import settings

    merged: dict = {}
    for app_name in settings.INSTALLED_APPS:
        module = f"{app_name}.schedule"
        if app_name.split(".")[0] not in ("django", "rest_framework") and find_spec(module) is not None:
            merged.update(import_module(module).BEAT_SCHEDULE)
    return merged


app.conf.beat_schedule = beat_schedule()


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
