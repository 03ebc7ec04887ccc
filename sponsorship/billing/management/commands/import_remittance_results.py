from django.core.management.base import BaseCommand

from sponsorship.billing.services.remittance import remittance_import_results


class Command(BaseCommand):
    help = (
        "Import KPJ numbers and registration results from BPJS (CSV with NIK, KPJ, Status[, Periode, Alasan]); "
        "lists rejected registrations with the reason and what to do."
    )

    def add_arguments(self, parser):
        parser.add_argument("path")

    def handle(self, *args, path, **options):
        result = remittance_import_results(path=path)
        rejected = result.pop("rejected")
        self.stdout.write(f"{result}, rejected: {len(rejected)}")
        for r in rejected:  # masked NIK only: this output ends up in terminals and logs
            self.stdout.write(f"  line {r['line']} NIK {r['nik']}: {r['reason'] or '-'}\n    -> {r['advice']}")
