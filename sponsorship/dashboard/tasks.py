"""Celery tasks of the dashboard: each only calls a service."""

from celery import shared_task

from .services.dtsen_reminders import dtsen_reminders_send
from .services.ledger import ledger_check_nightly


@shared_task(name="sponsorship.tasks.remind_dtsen_round", ignore_result=True)
def remind_dtsen_round() -> int:
    return dtsen_reminders_send()


@shared_task(name="sponsorship.dashboard.tasks.check_ledger")
def check_ledger() -> dict[str, int]:
    """Nightly: every invariant per regency; records the result and alerts the regency admins when one breaks."""
    return ledger_check_nightly()
