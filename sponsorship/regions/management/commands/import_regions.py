import time

from django.core.management.base import BaseCommand, CommandError

from sponsorship.regions.services import RegionFileError, import_regions


class Command(BaseCommand):
    help = "Import Kemendagri regions from a kode,nama CSV (idempotent; never deletes)."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--only", help="Only this code and below, e.g. 35.02 (its ancestors are kept)")

    def handle(self, *args, path, only=None, **options):
        started = time.perf_counter()
        try:
            report = import_regions(path, only=only)
        except FileNotFoundError:
            raise CommandError(f"File tidak ditemukan / file not found: {path}") from None
        except RegionFileError as exc:
            lines = "\n".join(exc.problems[:50])
            more = f"\n… dan {len(exc.problems) - 50} masalah lain" if len(exc.problems) > 50 else ""
            raise CommandError(
                f"Tidak ada yang diimpor; perbaiki berkas ini dulu / nothing imported:\n{lines}{more}"
            ) from None
        elapsed = time.perf_counter() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"{report.read} rows read: {report.created} created, {report.updated} renamed, "
                f"{report.unchanged} unchanged in {elapsed:.1f} s (per level: {report.by_level})"
            )
        )
