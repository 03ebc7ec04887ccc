"""The README's first command on a fresh machine: migrate and seed the demo on an empty PostgreSQL database.

The rest of the suite runs on a database pytest-django migrated once, so a management command the demo seeding
needs can break unnoticed; this runs the same management commands as ``python3 dev.py start`` in a subprocess with
the dev settings against a throw-away database on the suite's server (the embedded one, or DATABASE_URL's), then
bills the next month again (nothing new) and previews a matching run in both distance modes.
"""

import os
import secrets
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import psycopg
from django.db import connection
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = r"""
import django, os
django.setup()
from django.core.management import call_command
from io import StringIO
for cmd in (("migrate", "--noinput"), ("seed_demo", "--if-empty"), ("seed_dashboard_demo", "--if-empty")):
    call_command(*cmd, stdout=StringIO())
from sponsorship.billing.models import Invoice
from sponsorship.matching.models import MatchingRun
from sponsorship.regions.models import Region
from sponsorship.billing.services.billing import billing_run
from sponsorship.matching.services.runs import matching_run_preview
from sponsorship.core.periods import add_months, local_today, month_start
upcoming = add_months(month_start(local_today()), 1)
again = billing_run(period=upcoming)
regency = Region.objects.filter(level=Region.Level.REGENCY, agencies__isnull=False).distinct().first()
fast, _ = matching_run_preview(regency=regency, distance="fast")
exact, _ = matching_run_preview(regency=regency, distance="exact")
print("OK", Invoice.objects.filter(period=upcoming).count(), again.invoices,
      fast.preview["covered_total"], exact.preview["covered_total"], MatchingRun.objects.count())
"""


def database_url(name: str) -> str:
    """A URL of database `name` on the server of the suite's connection (TCP host, or a unix-socket directory)."""
    db = connection.settings_dict
    user, password, host = quote(db["USER"] or "postgres"), quote(db["PASSWORD"] or ""), db["HOST"] or "127.0.0.1"
    if host.startswith("/"):
        port = f"&port={db['PORT']}" if db["PORT"] else ""
        return f"postgresql://{user}:{password}@/{name}?host={quote(host)}{port}"
    return f"postgresql://{user}:{password}@{host}:{db['PORT'] or 5432}/{name}"


def server():
    db = connection.settings_dict
    return psycopg.connect(
        dbname="postgres",
        user=db["USER"] or "postgres",
        password=db["PASSWORD"] or None,
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        autocommit=True,
    )


def test_first_run_seeds_the_demo_on_a_fresh_database():
    name = f"pengampu_first_run_{os.getpid()}_{secrets.token_hex(3)}"
    with server() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
        env.update(
            DJANGO_SETTINGS_MODULE="backend.settings.dev",
            DATABASE_URL=database_url(name),
            REDIS_URL="",
            CELERY_BROKER_URL="memory://",
            PYTHONPATH=str(ROOT),
        )
        out = subprocess.run(
            [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
        )
    finally:
        with server() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    assert out.returncode == 0, out.stderr[-3000:]
    line = [x for x in out.stdout.splitlines() if x.startswith("OK ")][-1].split()
    issued, again, fast_cov, exact_cov, runs = map(int, line[1:])
    assert issued > 0 and again == 0  # the seed billed next month; a second run finds nothing new
    assert fast_cov == exact_cov and runs == 2
