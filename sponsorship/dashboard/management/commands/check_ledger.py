"""`manage.py check_ledger [--regency 35.02] [--json] [--gateway] [--check NAME]`: are the ledger's invariants true?

Read-only (one REPEATABLE READ READ ONLY transaction: a consistent snapshot, and PostgreSQL refuses any write), so
it is safe on production. Exit code 0 when every invariant holds, 1 when one is broken, 2 on bad arguments.
The invariants are in sponsorship/dashboard/invariants.py and docs/figures.md.
"""

import datetime as dt
import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from sponsorship.dashboard.invariants import CHECKS, GATEWAY_CHECK, LedgerReport, ledger_check
from sponsorship.regions.models import Region


class Command(BaseCommand):
    help = "Check the ledger's invariants (money, coverage, billing, worker status, dashboard figures). Read-only."

    def add_arguments(self, parser):
        parser.add_argument("--regency", help="Regency code (e.g. 35.02); default: every regency")
        parser.add_argument("--json", action="store_true", help="Print the report as JSON")
        parser.add_argument(
            "--gateway", action="store_true", help="Also compare paid/refunded amounts with the gateway's status API"
        )
        parser.add_argument("--check", action="append", choices=[*CHECKS, GATEWAY_CHECK], help="Only this check")
        parser.add_argument("--today", type=dt.date.fromisoformat, help="Judge as on this date (YYYY-MM-DD)")

    def handle(self, *args, **options):
        regency = None
        if options["regency"]:
            regency = Region.objects.filter(code=options["regency"], level=Region.Level.REGENCY).first()
            if regency is None:
                raise CommandError(f"unknown regency {options['regency']!r}")
        # Only an outermost transaction can still be made read-only (inside a caller's, e.g. a test, it is not).
        outermost = not connection.in_atomic_block
        with transaction.atomic():
            if outermost:
                with connection.cursor() as cur:
                    cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            report = ledger_check(
                regency=regency, today=options["today"], gateway=options["gateway"], only=options["check"]
            )
        if options["json"]:
            self.stdout.write(json.dumps(report.to_dict(), indent=2, ensure_ascii=False, default=str))
        else:
            self._print(report)
        if not report.ok:
            sys.exit(1)

    def _print(self, report: LedgerReport) -> None:
        self.stdout.write(f"Ledger check {report.regency or 'all regencies'} as of {report.today}:")
        for c in report.checks:
            state = self.style.SUCCESS("ok") if not c.count else self.style.ERROR(f"{c.count} violation(s)")
            self.stdout.write(f"  {c.name:<20} {state}  ({c.seconds * 1000:.0f} ms)")
            for v in c.violations[:20]:
                self.stdout.write(f"      {v.rows} {v.differs}")
            if c.count > 20:
                self.stdout.write(f"      … {c.count - 20} more (--json shows up to 200)")
