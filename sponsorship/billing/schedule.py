"""Billing's entries in the beat schedule (times in CELERY_TIMEZONE, Asia/Jakarta); each task is idempotent.

The billing run and the payday reminder wave are per regency at the regency's local hour (WIB/WITA/WIT,
RegencyConfig.billing_hour / reminder_hour): beat fires a dispatcher hourly, which enqueues each due regency once
a local day, spread over the hour by a stable slot (regions/scheduling.py, docs/scheduling.md). The reminder scan
is per regency too, every hour, each on the regency's local date.
"""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    "billing-day": {
        # Hourly dispatcher: each regency's run at its local billing hour (default 00:30 + its slot), once a day;
        # the billing service decides whether that local date bills a month.
        "task": "sponsorship.tasks.run_billing",
        "schedule": crontab(minute=30),
    },
    "payday-reminders": {
        # Hourly dispatcher: each regency's payday wave at its local reminder hour (default 07:10 + its slot).
        "task": "notifications.tasks.dispatch_payday_reminders",
        "schedule": crontab(minute=10),
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
    "payroll-applying-sweep": {
        # Confirmed payroll files whose apply task was lost (broker down, worker killed) are queued again; the
        # apply resumes at the first row not yet settled.
        "task": "sponsorship.tasks.payroll_applying_sweep",
        "schedule": crontab(minute="*/5"),
    },
    "reminder-scan": {
        # Hourly dispatcher: one reminder scan per regency (its slot as delay), each on the regency's local date;
        # hourly so a payment or a match is told within the hour and a scheduler that was down catches up; the
        # per-day dedupe keys make the extra runs no-ops. notifications.tasks.scan_reminders (all regencies on
        # the deployment's date) stays for catch-up by hand.
        "task": "notifications.tasks.dispatch_reminder_scans",
        "schedule": crontab(minute=5),
    },
    "protection-clock": {
        # Days of protection left (billing/protection_reminders.py): hourly, each regency in its own time zone;
        # the outbox keys and CohortMember.offered_at make the extra runs no-ops.
        "task": "sponsorship.billing.tasks.scan_protection_clock",
        "schedule": crontab(minute=20),
    },
    "admin-digest": {
        "task": "notifications.tasks.send_admin_digests",
        "schedule": crontab(minute=0, hour=7),
    },
    "bridge-scan": {
        # The bridge fund pays coming months before protection ends; the rest are handed over to self-pay.
        "task": "sponsorship.tasks.run_bridge_scan",
        "schedule": crontab(minute=50, hour=0),
    },
    "bridge-statements": {
        "task": "sponsorship.tasks.send_bridge_statements",
        "schedule": crontab(minute=0, hour=8, day_of_month=1),
    },
}
