"""The dashboard's entries in the beat schedule (times in CELERY_TIMEZONE, Asia/Jakarta)."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    "dtsen-round-reminder": {
        # Daily; the dedupe key (admin, regency, due month) makes every run after the first a no-op.
        "task": "sponsorship.tasks.remind_dtsen_round",
        "schedule": crontab(minute=15, hour=7),
    },
}
