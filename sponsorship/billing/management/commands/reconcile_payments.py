from django.core.management.base import BaseCommand

from sponsorship.billing.services.reconciliation import payments_reconcile


class Command(BaseCommand):
    help = "Ask Midtrans about payment attempts that have waited too long for a notification."

    def add_arguments(self, parser):
        parser.add_argument("--older-than-minutes", type=int, default=None)

    def handle(self, *args, older_than_minutes, **options):
        self.stdout.write(f"reconciled: {payments_reconcile(older_than_minutes=older_than_minutes)}")
