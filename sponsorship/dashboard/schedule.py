"""The dashboard's entries in the beat schedule (times in CELERY_TIMEZONE, Asia/Jakarta); each task is idempotent."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    "refresh-area-figures": {
        # The province/national pages' per-regency rows (dashboard/services/areas.py); stale rows only, oldest
        # first, within a time budget, so a run never overlaps the next. Keep in step with AREA_FIGURES_EVERY_MINUTES.
        "task": "sponsorship.dashboard.tasks.refresh_area_figures",
        "schedule": crontab(minute="*/15"),
    },
    "dtsen-round-reminder": {
        # Daily; the dedupe key (admin, regency, due month) makes every run after the first a no-op.
        "task": "sponsorship.dashboard.tasks.remind_dtsen_round",
        "schedule": crontab(minute=15, hour=7),
    },
    "check-ledger": {
        # After the day's payments and the billing run (00:30), before admins start work; read-only apart from
        # its audit row and the alerts (one per admin per day).
        "task": "sponsorship.dashboard.tasks.check_ledger",
        "schedule": crontab(minute=15, hour=2),
    },
    "sweep-applying-imports": {
        # Confirmed imports whose apply task was lost (broker down, worker killed) are queued again.
        "task": "sponsorship.dashboard.tasks.sweep_applying_imports",
        "schedule": crontab(minute="*/5"),
    },
    "sweep-jobs": {
        # Background jobs (exports, remittance) whose message was lost or whose worker died are queued again.
        "task": "sponsorship.dashboard.tasks.sweep_jobs",
        "schedule": crontab(minute="*/5"),
    },
}
