"""The README's first command on a fresh machine: migrate and seed the demo on SQLite (no server at all).

The rest of the suite runs on PostgreSQL, so SQL that only PostgreSQL accepts (``FOR UPDATE OF``, advisory locks)
can slip into a path the demo seeding takes; this runs the same management commands as ``python3 dev.py start``
in a subprocess with the dev settings and a throw-away SQLite file, then bills the next month again (nothing new)
and previews a matching run in both distance modes.
"""
import os
import subprocess
import sys
from pathlib import Path

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
from sponsorship.billing.services.billing import add_months, local_today, month_start
upcoming = add_months(month_start(local_today()), 1)
again = billing_run(period=upcoming)
regency = Region.objects.filter(level=Region.Level.REGENCY, agencies__isnull=False).distinct().first()
fast, _ = matching_run_preview(regency=regency, distance="fast")
exact, _ = matching_run_preview(regency=regency, distance="exact")
print("OK", Invoice.objects.filter(period=upcoming).count(), again.invoices,
      fast.preview["covered_total"], exact.preview["covered_total"], MatchingRun.objects.count())
"""


def test_first_run_seeds_the_demo_on_sqlite(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(DJANGO_SETTINGS_MODULE="backend.settings.dev", DATABASE_URL=f"sqlite:///{tmp_path / 'first.sqlite3'}",
               REDIS_URL="", CELERY_BROKER_URL="memory://", PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    line = [x for x in out.stdout.splitlines() if x.startswith("OK ")][-1].split()
    issued, again, fast_cov, exact_cov, runs = map(int, line[1:])
    assert issued > 0 and again == 0  # the seed billed next month; a second run finds nothing new
    assert fast_cov == exact_cov and runs == 2
