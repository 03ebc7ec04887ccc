from django.core.management.base import BaseCommand

from sponsorship.billing.services.reconciliation import payments_reconcile, payments_reconcile_returns


class Command(BaseCommand):
    help = (
        "Ask Midtrans about payment attempts that have waited too long for a notification; with --returns-days, "
        "also compare refunded / charged-back amounts of payments settled within that many days."
    )

    def add_arguments(self, parser):
        parser.add_argument("--older-than-minutes", type=int, default=None)
        parser.add_argument("--returns-days", type=int, default=None, help="also check money gone back (days)")

    def handle(self, *args, older_than_minutes, returns_days, **options):
        self.stdout.write(f"reconciled: {payments_reconcile(older_than_minutes=older_than_minutes)}")
        if returns_days is not None:
            self.stdout.write(f"money returned: {payments_reconcile_returns(days=returns_days)}")
