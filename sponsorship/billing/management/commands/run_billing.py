import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from sponsorship.billing.services.billing import billing_run, periods_to_bill


class Command(BaseCommand):
    help = (
        "Issue the monthly invoices (idempotent; safe to run twice). Default: this month (worker-months added "
        "since its invoice) and next month once within the issue window."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--period", help="YYYY-MM to bill (default: this month, and next month once within the issue window)"
        )
        parser.add_argument("--no-notify", action="store_true")

    def handle(self, *args, period, no_notify, **options):
        if period:
            try:
                months = [dt.datetime.strptime(period, "%Y-%m").date()]  # noqa: DTZ007 - a calendar date: .date() keeps no time or zone
            except ValueError:
                raise CommandError("--period must be YYYY-MM") from None
        else:
            months = periods_to_bill()
        for month in months:
            result = billing_run(period=month, notify=not no_notify)
            self.stdout.write(
                f"{month:%Y-%m}: {result.invoices} invoices, {result.lines} lines, "
                f"Rp {result.amount_idr:,} (batch {result.batch})"
            )
