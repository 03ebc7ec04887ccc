"""Celery tasks of matching: each only fetches and calls a service."""

from celery import shared_task

from .services.runs import matching_run_notify


@shared_task(name="sponsorship.tasks.notify_matching_run", acks_late=True, ignore_result=True)
def notify_matching_run(run_id: int) -> int:
    """Enqueued when a matching run's apply commits: one notification per sponsor (idempotent by dedupe key)."""
    return matching_run_notify(run_id=run_id)
