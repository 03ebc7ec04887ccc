"""manage.py rotate_pii_keys: re-encrypt and re-hash personal data with the current keys, in batches, resumable.

See sponsorship/people/services/key_rotation.py for the procedure (new keys first in the settings, the old ones
kept readable until a run reports nothing left to rotate).
"""

from django.core.management.base import BaseCommand, CommandError

from sponsorship.people.services.key_rotation import encrypted_models, pii_keys_rotate


class Command(BaseCommand):
    help = "Re-encrypt and re-hash personal data (NIK, phone, ...) with the current PII keys, in batches."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--dry-run", action="store_true", help="count what would change, write nothing")
        parser.add_argument("--only", help="one model, e.g. people.Worker")
        parser.add_argument(
            "--start-after",
            action="append",
            default=[],
            metavar="MODEL:PK",
            help="resume a table after this primary key (printed by an earlier run); repeatable",
        )

    def handle(self, *args, batch_size, dry_run, only, start_after, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        labels = {model._meta.label for model, _, _ in encrypted_models()}
        if only and only not in labels:
            raise CommandError(f"--only: {only} holds no encrypted data ({', '.join(sorted(labels))})")
        resume: dict[str, object] = {}
        for item in start_after:
            label, _, pk = item.rpartition(":")
            if label not in labels or not pk.isdigit():
                raise CommandError(f"--start-after {item!r}: expected MODEL:PK, e.g. people.Worker:1200")
            resume[label] = int(pk)

        def progress(table):
            self.stdout.write(
                f"{table.label}: {table.scanned} scanned, {table.rotated} rotated, up to pk {table.last_pk}"
            )

        report = pii_keys_rotate(
            batch_size=batch_size, start_after=resume, only=only, dry_run=dry_run, progress=progress
        )
        verb = "would rotate" if dry_run else "rotated"
        for table in report.tables:
            self.stdout.write(f"{table.label}: {table.scanned} rows scanned, {verb} {table.rotated}")
        self.stdout.write(self.style.SUCCESS(f"done: {verb} {report.rotated} rows"))
