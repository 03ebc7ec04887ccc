"""Celery tasks of people: each only calls a service."""

from celery import shared_task

from .services.access_log import personal_data_retention_run


@shared_task(name="sponsorship.people.tasks.enforce_personal_data_retention", ignore_result=True)
def enforce_personal_data_retention() -> dict:
    return personal_data_retention_run()
