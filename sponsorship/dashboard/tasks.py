"""Background work of the dashboard app."""

from celery import shared_task

from .services.dtsen_reminders import dtsen_reminders_send


@shared_task(name="sponsorship.tasks.remind_dtsen_round", ignore_result=True)
def remind_dtsen_round() -> int:
    return dtsen_reminders_send()
