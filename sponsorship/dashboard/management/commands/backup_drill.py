"""`manage.py backup_drill [--keep] [--json] [--dir DIR] [--no-ledger]`: prove the backup restores.

Dumps the database (pg_dump custom format, one snapshot), restores it into a fresh database, compares every table's
row count, runs the ledger invariants on the copy, drops it and prints the timings (docs/backup.md). Exit code 0 when
the copy is complete and the ledger holds, 1 otherwise.
"""

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand

from sponsorship.dashboard.services.backups import backup_drill


class Command(BaseCommand):
    help = "Dump, restore into a fresh database, check row counts and the ledger on the copy, drop it."

    def add_arguments(self, parser):
        parser.add_argument("--keep", action="store_true", help="Keep the restored copy (default: drop it)")
        parser.add_argument("--json", action="store_true", help="Print the report as JSON")
        parser.add_argument("--dir", type=Path, help="Write the dump here and keep it (default: a temporary directory)")
        parser.add_argument("--no-ledger", action="store_true", help="Skip the ledger invariants (row counts only)")

    def handle(self, *args, **options):
        report = backup_drill(keep=options["keep"], directory=options["dir"], ledger=not options["no_ledger"])
        if options["json"]:
            self.stdout.write(json.dumps(report.to_dict(), indent=2, ensure_ascii=False, default=str))
        else:
            self._print(report)
        if not report.ok:
            sys.exit(1)

    def _print(self, r) -> None:
        w = self.stdout.write
        w(f"Backup drill of {r.database} (copy {r.copy}, {r.tools or 'no pg_dump'}):")
        w(f"  dump      {r.dump_seconds:8.2f} s  {r.dump_bytes / 1e6:.1f} MB")
        w(f"  restore   {r.restore_seconds:8.2f} s  into {r.copy}")
        w(f"  counts    {r.count_seconds:8.2f} s  {r.tables} tables, {r.rows:,} rows")
        w(f"  ledger    {r.ledger_seconds:8.2f} s  " + ("ok" if r.ledger_ok else "BROKEN" if r.ledger else "-"))
        w(f"  total     {r.total_seconds:8.2f} s  copy {'dropped' if r.dropped else 'kept'}")
        for table, (before, after) in r.count_mismatches.items():
            w(self.style.ERROR(f"  {table}: {before} rows in the source, {after} in the copy"))
        for check in r.ledger.get("checks", []):
            if check.get("violations"):
                w(self.style.ERROR(f"  ledger {check['name']}: {check['violations']} violation(s)"))
        if r.error:
            w(self.style.ERROR(f"  error: {r.error}"))
        w(self.style.SUCCESS("Drill passed.") if r.ok else self.style.ERROR("Drill FAILED."))
