"""Celery tasks of matching: each only fetches and calls a service."""

from celery import shared_task

from .services.runs import (
    matching_run_apply_queued,
    matching_run_notify,
    matching_run_solve_queued,
    matching_run_sweep,
)


@shared_task(name="sponsorship.tasks.notify_matching_run", acks_late=True, ignore_result=True)
def notify_matching_run(run_id: int) -> int:
    """Enqueued when a matching run's apply commits: one notification per sponsor (idempotent by dedupe key)."""
    return matching_run_notify(run_id=run_id)


@shared_task(name="sponsorship.matching.tasks.solve_matching_run", acks_late=True, ignore_result=True)
def solve_matching_run(run_id: int) -> str | None:
    """Solve a queued regency run (idempotent: a run another worker holds, or already solved, is skipped)."""
    return matching_run_solve_queued(run_id=run_id)


@shared_task(name="sponsorship.matching.tasks.apply_matching_run", acks_late=True, ignore_result=True)
def apply_matching_run(run_id: int, actor_id: int | None = None) -> int | None:
    """Apply a run whose apply was queued (idempotent: an applied run, or one another worker holds, is skipped)."""
    run = matching_run_apply_queued(run_id=run_id, actor_id=actor_id)
    return None if run is None else run.proposals_created


@shared_task(name="sponsorship.matching.tasks.sweep_matching_runs", ignore_result=True)
def sweep_matching_runs() -> int:
    return matching_run_sweep()
