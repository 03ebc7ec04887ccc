"""People's entries in the beat schedule; each task is idempotent."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    "personal-data-retention": {
        # UU PDP retention: old access-log rows deleted, long-ended workers anonymised (services/access_log.py).
        "task": "sponsorship.people.tasks.enforce_personal_data_retention",
        "schedule": crontab(minute=40, hour=2),
    },
    "age-limit-check": {
        # Daily, before the billing run (00:30), so a worker aged out today is not in it; a worker already aged out
        # is skipped (their state moved on), so a repeated run does nothing.
        "task": "sponsorship.people.tasks.end_cover_at_age_limit",
        "schedule": crontab(minute=10, hour=0),
    },
}
