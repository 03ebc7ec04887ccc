"""Installs the dashboard's money summary again from sponsorship/dashboard/sql/*.sql (idempotent), then rebuilds it.

Use after restoring a database without its functions or triggers, or when in doubt whether the summary matches the
files. Safe to run on a live database: one transaction; writers to invoices and coverage wait for it.
"""

from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, connections

from sponsorship.dashboard.summary_sql import SQL_FILES, install_summary_sql


class Command(BaseCommand):
    help = "Install the dashboard summary table, functions and triggers from the .sql files, then rebuild it."

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)
        parser.add_argument(
            "--no-rebuild",
            action="store_true",
            help="Leave the table's rows as they are (by default they are recomputed).",
        )

    def handle(self, *args, database, no_rebuild, **options):
        install_summary_sql(connections[database], rebuild=not no_rebuild)
        done = ", ".join(SQL_FILES) + ("" if no_rebuild else "; table rebuilt")
        self.stdout.write(self.style.SUCCESS(f"Installed {done}."))
