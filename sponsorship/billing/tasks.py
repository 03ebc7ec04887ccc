"""Celery tasks of billing: each only fetches and calls a service.

Task names are explicit and predate the domain layout: messages already queued under them keep working.
"""

from celery import shared_task

from .reminders import admin_digests_send, reminders_scan
from .services.billing import billing_run, invoices_notify_issued, periods_to_bill
from .services.payroll import consents_end_due
from .services.payroll import payroll_lists_due as lists_due
from .services.payroll_settle import payroll_fallback_send
from .services.reconciliation import (
    notifications_replay,
    notifications_sweep,
    payments_reconcile,
    payments_reconcile_returns,
)
from .services.settlement import notifications_process


@shared_task(name="sponsorship.tasks.notify_invoices_issued", acks_late=True)
def notify_invoices_issued(batch: str) -> int:
    return invoices_notify_issued(batch=batch)


@shared_task(name="sponsorship.tasks.run_billing")
def run_billing() -> int:
    """Daily: this month (late additions) and next month once within the issue window."""
    return sum(billing_run(period=period).invoices for period in periods_to_bill())


@shared_task(name="sponsorship.tasks.reconcile_payments")
def reconcile_payments() -> dict:
    return payments_reconcile()


@shared_task(name="sponsorship.tasks.reconcile_payment_returns")
def reconcile_payment_returns() -> dict:
    """Nightly: refunds, chargebacks and reversals at the gateway that we have not booked."""
    return payments_reconcile_returns()


@shared_task(name="sponsorship.tasks.replay_notifications")
def replay_notifications() -> dict:
    return notifications_replay()


@shared_task(name="sponsorship.tasks.process_payment_notifications", acks_late=True, ignore_result=True)
def process_payment_notifications(note_ids: list[int]) -> dict:
    """Enqueued after the webhook stored notifications. Failures stay on the rows (the sweep retries them)."""
    return notifications_process(note_ids=note_ids)


@shared_task(name="sponsorship.tasks.sweep_payment_notifications")
def sweep_payment_notifications() -> dict:
    return notifications_sweep()


@shared_task(name="notifications.tasks.scan_reminders", ignore_result=True)
def scan_reminders():
    return reminders_scan()


@shared_task(name="notifications.tasks.send_admin_digests", ignore_result=True)
def send_admin_digests():
    return admin_digests_send()


@shared_task(name="sponsorship.tasks.payroll_lists_due")
def payroll_lists_due() -> dict:
    """From each regency's list day on: next month's deduction list of every agency with consenting ASN."""
    consents_end_due()
    return lists_due()


@shared_task(name="sponsorship.tasks.payroll_fallback_links", acks_late=True)
def payroll_fallback_links(row_ids: list[int]) -> dict:
    """Deductions not (fully) made: a Snap payment link to each ASN."""
    counts: dict[str, int] = {}
    for row_id in row_ids:
        outcome = payroll_fallback_send(row_id=row_id)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts
