"""Celery tasks of the dashboard: each only fetches and calls a service."""

import datetime as dt

from celery import shared_task
from django.conf import settings

from .services.areas import area_figures_refresh
from .services.dtsen_reminders import dtsen_reminders_send
from .services.imports import import_apply_queued, import_applying_sweep
from .services.jobs import job_run, job_sweep
from .services.ledger import ledger_check_nightly


@shared_task(name="sponsorship.dashboard.tasks.remind_dtsen_round", ignore_result=True)
def remind_dtsen_round() -> int:
    return dtsen_reminders_send()


@shared_task(name="sponsorship.dashboard.tasks.check_ledger")
def check_ledger() -> dict[str, int]:
    """Nightly: every invariant per regency; records the result and alerts the regency admins when one breaks."""
    return ledger_check_nightly()


@shared_task(name="sponsorship.dashboard.tasks.apply_import_batch", acks_late=True, ignore_result=True)
def apply_import_batch(batch_id: int, actor_id: int | None = None, ip: str | None = None) -> dict | None:
    """Write a confirmed import's rows (idempotent: an applied batch, or one another worker holds, is skipped)."""
    return import_apply_queued(batch_id=batch_id, actor_id=actor_id, ip=ip)


@shared_task(name="sponsorship.dashboard.tasks.sweep_applying_imports", ignore_result=True)
def sweep_applying_imports() -> int:
    return import_applying_sweep()


@shared_task(name="sponsorship.dashboard.tasks.run_job", acks_late=True, ignore_result=True)
def run_job(job_id: int) -> str | None:
    """An export or the remittance file (idempotent: a finished job, or one another worker holds, is skipped)."""
    return job_run(job_id=job_id)


@shared_task(name="sponsorship.dashboard.tasks.sweep_jobs", ignore_result=True)
def sweep_jobs() -> int:
    return job_sweep()


@shared_task(name="sponsorship.dashboard.tasks.refresh_area_figures", ignore_result=True)
def refresh_area_figures() -> dict[str, int]:
    """Every AREA_FIGURES_EVERY_MINUTES: the province and national pages' per-regency rows older than that, oldest
    first, within AREA_FIGURES_BUDGET_SECONDS (what is left waits for the next run)."""
    every = getattr(settings, "AREA_FIGURES_EVERY_MINUTES", 15)
    return area_figures_refresh(
        stale_after=dt.timedelta(minutes=every - 1),
        budget_s=getattr(settings, "AREA_FIGURES_BUDGET_SECONDS", 600),
    )
