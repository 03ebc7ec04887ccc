"""`manage.py restore FILE --database NAME`: restore a dump into a new database NAME on the same server.

It never overwrites: NAME must not exist. Point DATABASE_URL at NAME to run the service on the restored copy
(docs/backup.md), and run `manage.py check_ledger` there first.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from sponsorship.dashboard.services.backups import BackupError, backup_restore


class Command(BaseCommand):
    help = "Restore a dump made by `manage.py backup` into a new database on the same server."

    def add_arguments(self, parser):
        parser.add_argument("dump", type=Path)
        parser.add_argument("--database", required=True, help="The new database's name")
        parser.add_argument("--jobs", type=int, default=2, help="Parallel restore jobs (default 2)")

    def handle(self, *args, dump, database, jobs, **options):
        if not dump.is_file():
            raise CommandError(f"{dump} is not a file")
        try:
            seconds = backup_restore(dump=dump, database=database, jobs=jobs)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"restored {dump} into {database} in {seconds:.1f} s")
