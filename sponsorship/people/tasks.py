"""Celery tasks of people: each only fetches and calls a service."""

from celery import shared_task

from .services.access_log import personal_data_retention_run
from .services.life_events import workers_end_cover_at_age_limit


@shared_task(name="sponsorship.people.tasks.enforce_personal_data_retention", ignore_result=True)
def enforce_personal_data_retention() -> dict:
    return personal_data_retention_run()


@shared_task(name="sponsorship.people.tasks.end_cover_at_age_limit", acks_late=True, ignore_result=True)
def end_cover_at_age_limit() -> int:
    """Daily: workers who reached their regency's age limit this month are aged out (a life event)."""
    return workers_end_cover_at_age_limit()
