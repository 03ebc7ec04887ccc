"""Matching's entries in the beat schedule; each task is idempotent."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    "sweep-matching-runs": {
        # Regency runs whose solve or apply task was lost (broker down, worker killed) are queued again.
        "task": "sponsorship.matching.tasks.sweep_matching_runs",
        "schedule": crontab(minute="*/5"),
    },
}
