"""Celery tasks: each only fetches and calls a service."""
from celery import shared_task


@shared_task(acks_late=True)
def notify_invoices_issued(batch: str) -> int:
    from sponsorship.services.billing import invoices_notify_issued
    return invoices_notify_issued(batch=batch)


@shared_task
def run_billing() -> int:
    """Daily: this month (late additions) and next month once within the issue window."""
    from sponsorship.services.billing import billing_run, periods_to_bill
    return sum(billing_run(period=period).invoices for period in periods_to_bill())


@shared_task
def reconcile_payments() -> dict:
    from sponsorship.services.payments import payments_reconcile
    return payments_reconcile()


@shared_task
def replay_notifications() -> dict:
    from sponsorship.services.payments import notifications_replay
    return notifications_replay()


@shared_task(acks_late=True, ignore_result=True)
def process_payment_notifications(note_ids: list[int]) -> dict:
    """Enqueued after the webhook stored notifications. Failures stay on the rows (the sweep retries them)."""
    from sponsorship.services.payments import notifications_process
    return notifications_process(note_ids=note_ids)


@shared_task
def sweep_payment_notifications() -> dict:
    from sponsorship.services.payments import notifications_sweep
    return notifications_sweep()


@shared_task(acks_late=True, ignore_result=True)
def notify_matching_run(run_id: int) -> int:
    """Enqueued when a matching run's apply commits: one notification per sponsor (idempotent by dedupe key)."""
    from sponsorship.services.matching_runs import matching_run_notify
    return matching_run_notify(run_id=run_id)
