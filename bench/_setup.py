"""Shared bench setup: a dedicated PostgreSQL database (default pengampu_money_bench), migrated."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BENCH_DB = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pengampu_money_bench")


def django_setup(settings_module="backend.settings.test"):
    import psycopg

    name = BENCH_DB.rsplit("/", 1)[1]
    with psycopg.connect(BENCH_DB.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname=%s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = BENCH_DB
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def child_pids(pid: int) -> list[int]:
    """A process's children (Linux /proc): a gunicorn master's workers."""
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(p) for p in f.read().split()]


def cpu_seconds(pids) -> float:
    """user + system CPU of these processes, all threads (Linux /proc): the server's cost per request, whatever
    the load. NaN when one of them is gone or not on this host."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def median(values):
    values = sorted(values)
    n = len(values)
    return values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2


def ensure_bench_sponsors(n: int):
    """At least `n` sponsors (agency "Dinas Bench"), each sponsoring 3 workers; returns the agency.

    Shared by bench/billing.py and bench/notifications_http.py, so each bench fills an empty database itself."""
    import datetime as dt
    import time

    from sponsorship.people.crypto import keyed_hash
    from sponsorship.people.models import Agency, Occupation, Sponsor, Sponsorship, Worker
    from tests import factories

    regency = factories.load_ponorogo()
    agency, _ = Agency.objects.get_or_create(regency=regency, name="Dinas Bench")
    village = factories.village()
    occupations = list(Occupation.objects.all())
    n_s = Sponsor.objects.filter(agency__name="Dinas Bench").count()
    if n_s < n:
        t = time.perf_counter()
        sponsors = Sponsor.objects.bulk_create(
            [
                Sponsor(
                    nip=f"B{i:017d}",
                    asn_type="pns",
                    full_name=f"ASN Bench {i}",
                    birth_date=dt.date(1980, 1, 1),
                    sex="M",
                    agency=agency,
                    home_village=village,
                    capacity=3,
                    active_sponsorships=3,
                )
                for i in range(n_s, n)
            ],
            batch_size=2000,
        )
        workers = Worker.objects.bulk_create(
            [
                Worker(
                    nik=f"3502{i:012d}",
                    nik_hash=keyed_hash(f"bench{i}"),
                    full_name=f"Pekerja {i}",
                    birth_date=dt.date(1985, 1, 1),
                    sex="M",
                    occupation=occupations[i % len(occupations)],
                    village=village,
                    current_payer="sponsor",
                )
                for i in range(n_s * 3, n * 3)
            ],
            batch_size=2000,
        )
        now = dt.datetime.now(dt.UTC)
        Sponsorship.objects.bulk_create(
            [
                Sponsorship(sponsor=sponsors[i // 3], worker=w, source="import", started_at=now)
                for i, w in enumerate(workers)
            ],
            batch_size=5000,
        )
        print(f"setup: {len(sponsors)} sponsors, {len(workers)} workers in {time.perf_counter() - t:.1f} s")
    return agency


def gunicorn_config(workers=None, threads=None) -> tuple[list[str], str]:
    """Command-line flags for gunicorn with the project's backend/gunicorn.conf.py, and a description of the
    effective values (what the file gives, unless the bench's --workers/--threads override it)."""
    import runpy

    conf = runpy.run_path(str(ROOT / "backend" / "gunicorn.conf.py"))
    flags = ["-c", "backend/gunicorn.conf.py"]
    if workers is not None:
        flags += ["--workers", str(workers)]
    if threads is not None:
        flags += ["--threads", str(threads)]
    w = workers if workers is not None else conf["workers"]
    t = threads if threads is not None else conf["threads"]
    origin = "backend/gunicorn.conf.py" + (" + flags" if workers is not None or threads is not None else "")
    return flags, (
        f"gunicorn {' '.join(flags)}: {w} {conf['worker_class']} workers × {t} threads, keep-alive "
        f"{conf['keepalive']} s ({origin})"
    )
