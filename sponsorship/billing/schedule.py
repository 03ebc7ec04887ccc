"""Billing's entries in the beat schedule (times in CELERY_TIMEZONE, Asia/Jakarta); each task is idempotent."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    "billing-day": {
        # The billing service decides whether today is a billing day; running daily is harmless.
        "task": "sponsorship.tasks.run_billing",
        "schedule": crontab(minute=30, hour=0),
    },
    "reconcile-payments": {
        "task": "sponsorship.tasks.reconcile_payments",
        "schedule": crontab(minute="*/15"),
    },
    "reconcile-payment-returns": {
        # Money gone back at the gateway (refund, chargeback, reversal) whose notification we never processed.
        "task": "sponsorship.tasks.reconcile_payment_returns",
        "schedule": crontab(minute=40, hour=2),
    },
    "sweep-payment-notifications": {
        # Stored Midtrans notifications whose processing task never ran or failed (with backoff).
        "task": "sponsorship.tasks.sweep_payment_notifications",
        "schedule": crontab(minute="*"),
    },
    "payroll-lists": {
        # Payroll deduction (docs/payroll.md): each regency's list day decides; a produced list is left alone.
        "task": "sponsorship.tasks.payroll_lists_due",
        "schedule": crontab(minute=45, hour=1),
    },
    "reminder-scan": {
        # Hourly rather than daily so WITA/WIT regencies and a scheduler that was down still get their reminders;
        # the per-day dedupe key makes the extra runs no-ops.
        "task": "notifications.tasks.scan_reminders",
        "schedule": crontab(minute=5),
    },
    "admin-digest": {
        "task": "notifications.tasks.send_admin_digests",
        "schedule": crontab(minute=0, hour=7),
    },
}
