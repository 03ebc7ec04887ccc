"""`manage.py backup --out FILE`: dump the database (pg_dump custom format) to FILE. See docs/backup.md."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from sponsorship.dashboard.services.backups import BackupError, backup_create


class Command(BaseCommand):
    help = "Dump the database to a file (pg_dump custom format, compressed); restore it with `manage.py restore`."

    def add_arguments(self, parser):
        parser.add_argument("--out", type=Path, required=True, help="The dump file to write")

    def handle(self, *args, out, **options):
        if out.exists():
            raise CommandError(f"{out} exists; choose a new file")
        try:
            seconds = backup_create(out=out)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{out}: {out.stat().st_size / 1e6:.1f} MB in {seconds:.1f} s")
