"""The in-process scheduler (manage.py run_scheduler, the newcomer's Celery beat) finds every scheduled task."""

from backend.celery import app, beat_schedule
from notifications.management.commands.run_scheduler import import_task_modules


def test_every_beat_entry_names_a_registered_task():
    """Before: `dtsen-round-reminder` was skipped as "not installed" on `dev.py start` (its task's module was only
    imported by a later entry)."""
    import_task_modules()
    missing = {name: e["task"] for name, e in beat_schedule().items() if e["task"] not in app.tasks}
    assert missing == {}
