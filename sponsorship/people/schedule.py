"""People's entries in the beat schedule; each task is idempotent."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    "personal-data-retention": {
        # UU PDP retention: old access-log rows deleted, long-ended workers anonymised (services/access_log.py).
        "task": "sponsorship.people.tasks.enforce_personal_data_retention",
        "schedule": crontab(minute=40, hour=2),
    },
}
