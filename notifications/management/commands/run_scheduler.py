"""The embedded scheduler: the same beat schedule as Celery beat, run in-process with eager tasks.

    python manage.py run_scheduler                  # follow the schedule (dev.py starts this)
    python manage.py run_scheduler --once           # run every entry once and exit (cron-friendly)
    python manage.py run_scheduler --demo-interval 20  # run every entry every 20 s (a quick demo)

No broker and no server: each due entry's task is executed locally with `task.apply()`. Every task
is idempotent, so entries also run once at start-up (catching up what a stopped laptop missed).
Use Celery beat + workers instead when a broker exists (docs/notifications.md); never both.
"""

import importlib
import logging
import signal
import time

from django.apps import apps
from django.core.management.base import BaseCommand
from django.utils import timezone

from backend.celery import app, beat_schedule

logger = logging.getLogger(__name__)


def import_task_modules() -> None:
    """Register every installed app's tasks (as a Celery worker's autodiscovery does): a task's name does not always
    name its module (the kept legacy names "sponsorship.tasks.*"), so importing by name alone missed some."""
    for config in apps.get_app_configs():
        module = f"{config.name}.tasks"
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


class Command(BaseCommand):
    help = "Run the beat schedule in-process with eager tasks (the embedded default; no broker needed)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run every entry once, then exit")
        parser.add_argument(
            "--demo-interval", type=float, default=0, help="Ignore the crontab and run every entry every N seconds"
        )
        parser.add_argument("--tick", type=float, default=5, help="Seconds between schedule checks")
        parser.add_argument("--no-startup-run", action="store_true", help="Do not run every entry at start")
        parser.add_argument("--only", nargs="*", help="Entry names to run (default: all)")

    def handle(self, *args, **opts):
        import_task_modules()
        entries = {name: e for name, e in beat_schedule().items() if not opts["only"] or name in opts["only"]}
        self._stop = False
        signal.signal(signal.SIGTERM, lambda *a: setattr(self, "_stop", True))
        self.stdout.write(f"Scheduler: {len(entries)} entries ({', '.join(entries)}); tasks run in-process.")
        last_run = {}
        if not opts["no_startup_run"] or opts["once"]:
            for name, entry in entries.items():
                self._run(name, entry)
                last_run[name] = timezone.now()
        if opts["once"]:
            return
        try:
            while not self._stop:
                now = timezone.now()
                for name, entry in entries.items():
                    if self._due(entry, last_run.get(name), now, opts["demo_interval"]):
                        last_run[name] = now
                        self._run(name, entry)
                time.sleep(min(opts["tick"], opts["demo_interval"] or opts["tick"]))
        except KeyboardInterrupt:
            pass

    def _due(self, entry, last, now, demo_interval) -> bool:
        if last is None:
            return True
        if demo_interval:
            return (now - last).total_seconds() >= demo_interval
        schedule = entry["schedule"]
        due, _next = schedule.is_due(last)
        return due

    def _run(self, name, entry):
        module = entry["task"].rsplit(".", 1)[0]
        try:
            importlib.import_module(module)  # registers the task (autodiscovery is lazy)
        except ImportError:
            pass
        task = app.tasks.get(entry["task"])
        if task is None:
            logger.warning("scheduler: task %s (%s) is not installed; skipped", entry["task"], name)
            return
        started = time.monotonic()
        result = task.apply(args=entry.get("args", ()), kwargs=entry.get("kwargs", {}))
        if result.failed():
            logger.error("scheduler: %s failed: %s", name, result.result)
        else:
            logger.info("scheduler: %s done in %.2fs: %s", name, time.monotonic() - started, result.result)
