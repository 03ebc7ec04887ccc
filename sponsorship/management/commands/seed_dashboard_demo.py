"""Give the demo regency a year of billing history, so the HR dashboard shows real-looking figures.

Runs after `seed_demo` (dev.py start calls both). Idempotent with --if-empty: does nothing once invoices exist.
"""
from django.core.management.base import BaseCommand
from django.db import transaction

from sponsorship.demo.billing_history import generate
from sponsorship.models import Invoice, Region, Sponsor, VillageTarget, Worker


class Command(BaseCommand):
    help = "Seed 12 months of invoices, payments, coverage and remittances for the demo regency."

    def add_arguments(self, parser):
        parser.add_argument("--months", type=int, default=12)
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--if-empty", action="store_true", help="Skip when invoices already exist")

    def handle(self, *args, **opts):
        if Invoice.objects.exists():
            self.stdout.write("Billing history already present; nothing to do.")
            return
        if not Sponsor.objects.exists():
            self.stdout.write("No sponsors yet: run seed_demo first.")
            return
        demo = Sponsor.objects.filter(user__username="asn.demo").first()
        punctual = {demo.pk} if demo else set()
        with transaction.atomic():
            if demo:
                # The demo sponsor agreed to show their first name to their workers (see the worker status).
                Sponsor.objects.filter(pk=demo.pk).update(show_name_to_workers=True)
            counts = generate(months=opts["months"], seed=opts["seed"], punctual=punctual,
                              log=self.stdout.write)
            # Town kelurahan are bigger: a higher target than the regency default, as an admin would set.
            for village in Region.objects.filter(level=Region.Level.VILLAGE, village_kind="kelurahan",
                                                 workers__isnull=False).distinct()[:5]:
                VillageTarget.objects.get_or_create(village=village, defaults={"target": 150})
        self.stdout.write(self.style.SUCCESS(
            f"Billing history: {counts['invoices']} invoices, {counts['lines']} lines, {counts['paid']} paid, "
            f"{counts['coverage']} coverage months; workers {Worker.objects.count()}"))
