"""The outbox's entries in the beat schedule (times in CELERY_TIMEZONE, Asia/Jakarta).

Every app that runs periodic work has a `schedule.py` with `BEAT_SCHEDULE`; `backend.celery.beat_schedule()`
merges them for Celery beat in production and for `manage.py run_scheduler` in the embedded default. Every task
is idempotent (dedupe keys, conditional updates), so a run repeated after a crash or by a second scheduler does
no harm.
"""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    "outbox-dispatch": {
        "task": "notifications.tasks.dispatch_due",
        "schedule": crontab(minute="*"),
    },
    "prune-devices": {
        "task": "notifications.tasks.prune_devices",
        "schedule": crontab(minute=15, hour=3),
    },
}
