"""People's entries in the beat schedule (times in CELERY_TIMEZONE, Asia/Jakarta); each task is idempotent."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    "age-limit-check": {
        # Daily, before the billing run (00:30), so a worker aged out today is not in it; a worker already aged out
        # is skipped (their state moved on), so a repeated run does nothing.
        "task": "sponsorship.tasks.end_cover_at_age_limit",
        "schedule": crontab(minute=10, hour=0),
    },
}
