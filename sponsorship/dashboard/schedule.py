"""The dashboard's entries in the beat schedule; each task is idempotent."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    "sweep-applying-imports": {
        # Confirmed imports whose apply task was lost (broker down, worker killed) are queued again.
        "task": "sponsorship.dashboard.tasks.sweep_applying_imports",
        "schedule": crontab(minute="*/5"),
    },
}
