from django.core.management.base import BaseCommand

from sponsorship.billing.services.remittance import remittance_import_results


class Command(BaseCommand):
    help = "Import KPJ numbers and registration results from BPJS (CSV with NIK, KPJ, Status[, Periode])."

    def add_arguments(self, parser):
        parser.add_argument("path")

    def handle(self, *args, path, **options):
        self.stdout.write(str(remittance_import_results(path=path)))
