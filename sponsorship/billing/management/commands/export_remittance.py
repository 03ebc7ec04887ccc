import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from backend.api.errors import ApplicationError
from sponsorship.billing.services.remittance import remittance_export


class Command(BaseCommand):
    help = "Export paid, not yet remitted worker-months of a month (CSV + XLSX) and mark them remitted (audited)."

    def add_arguments(self, parser):
        parser.add_argument("period", help="YYYY-MM")
        parser.add_argument("--out-dir", default=None)

    def handle(self, *args, period, out_dir, **options):
        try:
            month = dt.datetime.strptime(period, "%Y-%m").date()  # noqa: DTZ007 - a calendar date: .date() keeps no time or zone
            result = remittance_export(period=month, out_dir=out_dir)
        except ValueError:
            raise CommandError("period must be YYYY-MM") from None
        except ApplicationError as exc:
            raise CommandError(str(exc.message)) from None
        batch = result.batch
        reclaimed = f", {batch.clawback_rows} reclaimed (-Rp {batch.clawback_idr:,})" if batch.clawback_rows else ""
        self.stdout.write(
            f"{batch.rows} rows, Rp {batch.total_idr:,}{reclaimed}: {result.csv_path}, {result.xlsx_path}"
        )
