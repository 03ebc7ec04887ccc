"""Give the demo regency a year of billing history, so the HR dashboard shows real-looking figures.

Runs after `seed_demo` (dev.py start calls both). Idempotent with --if-empty: does nothing once invoices exist.
Ends with the real billing run for next month, so every sponsor (the demo sponsor `asn.demo` included) has an
issued invoice to pay through the Midtrans simulator, whatever the day of the month.
"""

import math

from django.core.management.base import BaseCommand
from django.db import transaction

from sponsorship.billing.models import Invoice
from sponsorship.billing.services.billing import billing_run
from sponsorship.core.periods import add_months, local_today, month_start
from sponsorship.dashboard.demo.billing_history import generate
from sponsorship.dashboard.models import VillageTarget
from sponsorship.people.models import Sponsor, Worker
from sponsorship.regions.models import RegencyConfig, Region


class Command(BaseCommand):
    help = "Seed 12 months of invoices, payments, coverage and remittances for the demo regency."

    def add_arguments(self, parser):
        parser.add_argument("--months", type=int, default=12)
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--if-empty", action="store_true", help="Skip when invoices already exist")
        parser.add_argument(
            "--no-upcoming",
            action="store_true",
            help="Do not issue next month's invoices (the billing run) after the history",
        )

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
            counts = generate(months=opts["months"], seed=opts["seed"], punctual=punctual, log=self.stdout.write)
            # Village targets sized to the demo (a real regency sets e.g. 100 per village; the demo has only a
            # few hundred workers, which against 100 per village would draw empty coverage charts).
            villages = Region.objects.filter(level=Region.Level.VILLAGE, parent__parent__agencies__isnull=False)
            n_villages = villages.distinct().count() or 1
            default_target = max(2, math.ceil(1.5 * Worker.objects.count() / n_villages))
            RegencyConfig.objects.filter(regency__agencies__isnull=False).update(village_target=default_target)
            # Town kelurahan are bigger: a higher target than the regency default, as an admin would set.
            for village in villages.filter(village_kind="kelurahan", workers__isnull=False).distinct()[:5]:
                VillageTarget.objects.get_or_create(village=village, defaults={"target": 3 * default_target})
        if not opts["no_upcoming"]:
            # The real billing service (what the scheduler's billing day does), so the demo sponsor has an
            # invoice to pay now; the history above leaves a punctual sponsor's current month already paid.
            upcoming = add_months(month_start(local_today()), 1)
            run = billing_run(period=upcoming)
            self.stdout.write(
                f"  {upcoming:%Y-%m}: {run.invoices} invoices issued by the billing run "
                f"(due {Invoice.objects.filter(batch=run.batch).values_list('due_date', flat=True).first()})"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Billing history: {counts['invoices']} invoices, {counts['lines']} lines, {counts['paid']} paid, "
                f"{counts['coverage']} coverage months; workers {Worker.objects.count()}"
            )
        )
