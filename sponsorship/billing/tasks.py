"""Celery tasks of billing: each only fetches and calls a service.

Task names are explicit and predate the domain layout: messages already queued under them keep working.
"""

import datetime as dt

from celery import shared_task

from .protection_reminders import protection_clock_scan
from .reminders import admin_digests_send, reminders_scan
from .services.billing import billing_run, invoices_notify_issued, periods_to_bill
from .services.bridge import bridge_scan, pool_statements_send
from .services.payroll import consents_end_due
from .services.payroll import payroll_lists_due as lists_due
from .services.payroll_settle import (
    payroll_applying_sweep,
    payroll_confirmation_apply_queued,
    payroll_fallback_send,
    payroll_supplementary_link_send,
)
from .services.reconciliation import (
    notifications_replay,
    notifications_sweep,
    payments_reconcile,
    payments_reconcile_returns,
)
from .services.scheduled import (
    billing_dispatch,
    billing_run_for_regency,
    payday_dispatch,
    payday_wave_for_regency,
    reminder_scan_dispatch,
)
from .services.settlement import notifications_process


@shared_task(name="sponsorship.tasks.notify_invoices_issued", acks_late=True)
def notify_invoices_issued(batch: str) -> int:
    return invoices_notify_issued(batch=batch)


@shared_task(name="sponsorship.tasks.run_billing")
def run_billing() -> int:
    """Hourly: enqueue the billing run of each regency whose local billing hour has come (once a local day);
    each bills this month (late additions) and next month once within the issue window."""
    return len(billing_dispatch())


@shared_task(name="sponsorship.tasks.run_billing_regency", acks_late=True)
def run_billing_regency(regency_id: int, local_date: str) -> dict | None:
    return billing_run_for_regency(regency_id=regency_id, local_date=dt.date.fromisoformat(local_date))


@shared_task(name="sponsorship.tasks.run_billing_all")
def run_billing_all() -> int:
    """Every regency at once, as before the per-regency schedule (an operator's catch-up; not scheduled)."""
    return sum(billing_run(period=period).invoices for period in periods_to_bill())


@shared_task(name="notifications.tasks.dispatch_payday_reminders", ignore_result=True)
def dispatch_payday_reminders() -> int:
    return len(payday_dispatch())


@shared_task(name="notifications.tasks.send_payday_reminders", acks_late=True, ignore_result=True)
def send_payday_reminders(regency_id: int, local_date: str) -> dict | None:
    return payday_wave_for_regency(regency_id=regency_id, local_date=dt.date.fromisoformat(local_date))


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
    """Every regency at once on the deployment's date, as before the per-regency scan (an operator's catch-up,
    a single-regency deployment; not scheduled)."""
    return reminders_scan()


@shared_task(name="notifications.tasks.dispatch_reminder_scans", ignore_result=True)
def dispatch_reminder_scans() -> int:
    """Hourly: one reminder scan per regency, spread over the hour by its slot."""
    return len(reminder_scan_dispatch())


@shared_task(name="notifications.tasks.scan_reminders_regency", acks_late=True, ignore_result=True)
def scan_reminders_regency(regency_id: int) -> dict:
    """One regency's reminder scan on its local date (computed when the task runs, not when it was queued)."""
    return reminders_scan(regency_id=regency_id)


@shared_task(name="notifications.tasks.send_admin_digests", ignore_result=True)
def send_admin_digests():
    return admin_digests_send()


@shared_task(name="sponsorship.billing.tasks.scan_protection_clock")
def scan_protection_clock() -> dict:
    """Hourly: budget cohorts offered before their funding ends, reminders by days of protection left."""
    return protection_clock_scan()


@shared_task(name="sponsorship.tasks.run_bridge_scan")
def run_bridge_scan() -> dict:
    return vars(bridge_scan())


@shared_task(name="sponsorship.tasks.send_bridge_statements")
def send_bridge_statements() -> int:
    return pool_statements_send()


@shared_task(name="sponsorship.tasks.payroll_lists_due")
def payroll_lists_due() -> dict:
    """From each regency's list day on: next month's deduction list of every agency with consenting ASN."""
    consents_end_due()
    return lists_due()


@shared_task(name="sponsorship.tasks.payroll_fallback_links", acks_late=True)
def payroll_fallback_links(row_ids: list[int], supplementary_invoice_ids: list[int] | None = None) -> dict:
    """Deductions not (fully) made, and the listed ASN's supplementary invoices: a Snap payment link to each ASN."""
    counts: dict[str, int] = {}
    for row_id in row_ids:
        outcome = payroll_fallback_send(row_id=row_id)
        counts[outcome] = counts.get(outcome, 0) + 1
    for invoice_id in supplementary_invoice_ids or []:
        outcome = "supplementary_" + payroll_supplementary_link_send(invoice_id=invoice_id)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


@shared_task(name="sponsorship.tasks.payroll_confirmation_apply", acks_late=True, ignore_result=True)
def payroll_confirmation_apply_task(confirmation_id: int) -> dict | None:
    """Settle a confirmed payroll file's rows (resumable; a file done, or held by another worker, is skipped)."""
    return payroll_confirmation_apply_queued(confirmation_id=confirmation_id)


@shared_task(name="sponsorship.tasks.payroll_applying_sweep", ignore_result=True)
def sweep_applying_payroll_confirmations() -> int:
    return payroll_applying_sweep()
