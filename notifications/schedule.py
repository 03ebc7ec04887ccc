"""The one beat schedule: Celery beat uses it in production, `manage.py run_scheduler` in the embedded default.

Times are in CELERY_TIMEZONE (Asia/Jakarta). Every task is idempotent (dedupe keys, conditional
updates, one invoice per sponsor and period), so a run repeated after a crash or by a second
scheduler does no harm. Reminder scans run hourly rather than once a day so that WITA and WIT
regencies and a scheduler that was down at the usual hour still get their reminders; the per-day
dedupe key makes the extra runs no-ops.
"""
from celery.schedules import crontab

BEAT_SCHEDULE = {
    "billing-day": {
        # The money area decides whether today is a billing day; running daily is harmless.
        "task": "sponsorship.tasks.run_billing",
        "schedule": crontab(minute=30, hour=0),
    },
    "reconcile-payments": {
        "task": "sponsorship.tasks.reconcile_payments",
        "schedule": crontab(minute="*/15"),
    },
    "sweep-payment-notifications": {
        # Stored Midtrans notifications whose processing task never ran or failed (with backoff).
        "task": "sponsorship.tasks.sweep_payment_notifications",
        "schedule": crontab(minute="*"),
    },
    "reminder-scan": {
        "task": "notifications.tasks.scan_reminders",
        "schedule": crontab(minute=5),
    },
    "outbox-dispatch": {
        "task": "notifications.tasks.dispatch_due",
        "schedule": crontab(minute="*"),
    },
    "admin-digest": {
        "task": "notifications.tasks.send_admin_digests",
        "schedule": crontab(minute=0, hour=7),
    },
    "prune-devices": {
        "task": "notifications.tasks.prune_devices",
        "schedule": crontab(minute=15, hour=3),
    },
}
