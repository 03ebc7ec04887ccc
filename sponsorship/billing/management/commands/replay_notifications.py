from django.core.management.base import BaseCommand

from sponsorship.billing.services.reconciliation import notifications_replay


class Command(BaseCommand):
    help = "Process now the stored Midtrans notifications that failed or were never finished (no backoff)."

    def add_arguments(self, parser):
        parser.add_argument("ids", nargs="*", type=int, help="Only these notification ids")

    def handle(self, *args, ids, **options):
        counts = notifications_replay(ids=ids or None)
        self.stdout.write(f"replayed: {counts or 'nothing to replay'}")
