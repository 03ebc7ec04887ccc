"""Ten regencies on one PostgreSQL: billing run, reminder fan-out, matching per regency on a pool of 2 processes.

    python bench/scale_regencies.py              # 10 regencies of bench/synthetic.py scale 1: 140k ASN, 420k workers
    python bench/scale_regencies.py --quick      # 2 regencies at scale 0.1 (1,400 ASN / 4,200 workers each), 1 repeat
    python bench/scale_regencies.py --regencies 4 --scale 0.5 --repeat 2
    python bench/scale_regencies.py --parts coverage,areas   # only these phases (billing runs once, untimed)

Database: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/pengampu_scale_bench), created and
migrated on first use; the bench's own rows (province 98) are wiped and loaded again with COPY each run.

Each regency is bench/synthetic.py's regency (14,000 ASN, 42,000 workers, 300 villages at scale 1) under its own
code 98.NN with 20 agencies and 20 kecamatan. Every ASN has a user account (reminders go to users); an ASN with
free capacity f of 3 sponsors 3 - f workers now (mean 1.2: 16,800 worker-months per regency to bill), the other
workers are unmatched with consent on record (what a matching run offers).

Phases, each timed (median over --repeat where repeated), first with ONE regency loaded (the baseline,
measured in the same run), then with all of them:
  billing    billing_run for next month (one set-based statement for the whole deployment; with one regency
             loaded it is that regency's run), notify off; invoices are wiped between repeats
  reminders  reminders_scan on the day the "due in 3 days" reminder goes out: the outbox rows for every
             invoice (the write side; sending them is bench/reminder_fanout.py's measure). Tasks that the commit
             would enqueue are dropped (no broker here)
  coverage   the reminder scan's coverage part (billing/reminders.py: coverage_requests, set-based) over every
             sponsored worker, after a paid history is written (months -2 for all, -1 for two thirds, the
             current month for one third: protected, grace and lapsing workers), and notify_bulk of what it
             asks; beside it the per-worker status (worker_coverage_status, what the scan called per worker before)
             timed on --coverage-sample workers and extrapolated
  zones      the reminder scan's read side (invoice_reminder_requests + coverage_requests) as one scan over the
             whole deployment, then per regency (`regency_id`: what each regency's hourly task builds on its local
             date): the time of each, their sum and the longest one, and whether the union of the per-regency
             requests equals the whole scan's (recipient, kind, dedupe key)
  matching   one task per regency (matching_run_preview + matching_run_apply, notify off) on a pool of 2
             processes. The matching run is not a Celery task on main yet (the tasks branch adds it), so the
             pool is a concurrent.futures process pool calling the same service, as a Celery prefork worker with
             concurrency 2 would
  areas      the national and one province's dashboard figures (sponsorship/dashboard/selectors/areas.py):
             the live computation of every regency's row (area_figures_refresh, what a cold national page
             cost before the rows were precomputed), then the pages' reads of the precomputed rows
PostgreSQL figures: rows inserted/updated/deleted per phase (pg_stat_user_tables deltas), table and index sizes
(pg_total_relation_size, pg_indexes_size), dead tuples and autovacuum/autoanalyze counts, connections (peak
during the pool phase, max_connections). Load average (the machine is shared) is printed with each phase.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import datetime as dt
import multiprocessing as mp
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pengampu_scale_bench")

from _setup import BENCH_DB, django_setup, median  # noqa: E402

PROVINCE = "98"
AGENCIES_PER_REGENCY = 20
ID_STRIDE = 1_000_000  # ids of regency r: r * ID_STRIDE + 1 ... (explicit ids, so COPY needs no RETURNING)
WATCHED = (
    "sponsorship_invoice",
    "sponsorship_invoiceline",
    "sponsorship_creditentry",
    "sponsorship_coveragemonth",
    "sponsorship_dash_agency_month",
    "notifications_notification",
    "sponsorship_proposal",
    "sponsorship_matchingrun",
    "sponsorship_auditlog",
    "sponsorship_sponsorship",
    "sponsorship_sponsor",
    "sponsorship_worker",
    "sponsorship_workerconsent",
    "auth_user",
    "sponsorship_profile",
)


def load_str() -> str:
    a, b, c = os.getloadavg()
    return f"load {a:.1f} {b:.1f} {c:.1f} ({os.cpu_count()} cores)"


def _cursor():
    from django.db import connection

    return connection.cursor()


def _copy(table: str, cols: list[str], rows) -> int:
    n = 0
    with _cursor() as cur, cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


def wipe() -> None:
    """The bench database only: every row the bench writes, and its regions."""
    from sponsorship.regions.models import RegencyConfig, Region

    with _cursor() as cur:
        cur.execute(
            "TRUNCATE sponsorship_proposal, sponsorship_matchingrun, sponsorship_invoiceline, sponsorship_invoice, "
            "sponsorship_creditentry, sponsorship_coveragemonth, sponsorship_sponsorship, sponsorship_workerconsent, "
            "sponsorship_worker, sponsorship_sponsor, sponsorship_agency, sponsorship_profile, "
            "notifications_notification, sponsorship_auditlog CASCADE"
        )
        cur.execute("TRUNCATE sponsorship_dash_agency_month, sponsorship_dash_regency_figures")
        cur.execute("DELETE FROM auth_user WHERE id >= %s", [ID_STRIDE])
    RegencyConfig.objects.filter(regency__code__startswith=PROVINCE + ".").delete()
    for level in (4, 3, 2, 1):
        Region.objects.filter(code__startswith=PROVINCE, level=level).delete()


def load_regency(r: int, *, scale: float, seed: int) -> dict:
    """Regency number r (0-based) of the synthetic set, written with COPY."""
    import numpy as np
    from django.db import transaction
    from django.utils import timezone
    from scipy.spatial import cKDTree

    from bench.synthetic import generate_regency
    from sponsorship.people.crypto import encrypt
    from sponsorship.people.models import Agency, Occupation
    from sponsorship.regions.models import RegencyConfig, Region

    t0 = time.perf_counter()
    reg = generate_regency(scale=scale, seed=seed + r)
    s, w = reg.sponsors, reg.workers
    rng = np.random.default_rng(seed + 1000 + r)
    now = timezone.now()
    code = f"{PROVINCE}.{r + 1:02d}"
    base = (r + 1) * ID_STRIDE
    with transaction.atomic():
        province, _ = Region.objects.get_or_create(code=PROVINCE, defaults={"name": "Provinsi Bench", "level": 1})
        regency = Region.objects.create(code=code, name=f"Kabupaten Bench {r + 1}", level=2, parent=province)
        RegencyConfig.objects.create(regency=regency, matching_radius_m=5000)
        nv = len(reg.village_lat)
        gx = np.digitize(reg.village_lon, np.quantile(reg.village_lon, [0.2, 0.4, 0.6, 0.8]))
        gy = np.digitize(reg.village_lat, np.quantile(reg.village_lat, [0.25, 0.5, 0.75]))
        district_of = gy * 5 + gx
        districts = Region.objects.bulk_create(
            [
                Region(code=f"{code}.{d + 1:02d}", name=f"Kecamatan {d + 1}", level=3, parent=regency)
                for d in range(int(district_of.max()) + 1)
            ]
        )
        villages = Region.objects.bulk_create(
            [
                Region(
                    code=f"{code}.{district_of[v] + 1:02d}.{2001 + v}",
                    name=f"Desa {v + 1}",
                    level=4,
                    parent=districts[district_of[v]],
                    village_kind="desa",
                    lat=float(reg.village_lat[v]),
                    lon=float(reg.village_lon[v]),
                )
                for v in range(nv)
            ]
        )
        village_ids = np.array([v.pk for v in villages])
        agencies = Agency.objects.bulk_create(
            [Agency(regency=regency, name=f"Dinas {a + 1}") for a in range(AGENCIES_PER_REGENCY)]
        )
        agency_ids = np.array([a.pk for a in agencies])
        ns, nw = len(s.ids), len(w.ids)
        home = cKDTree(np.c_[reg.village_lat, reg.village_lon]).query(np.c_[s.lat, s.lon])[1]
        free = s.capacity.astype(int)
        active = 3 - free
        # ASN users (reminders go to users) and their profiles
        user_ids = base + np.arange(ns) + 1
        _copy(
            "auth_user",
            ["id", "password", "is_superuser", "username", "first_name", "last_name", "email", "is_staff",
             "is_active", "date_joined"],
            ((int(u), "!", False, f"b{r}-{i}", "", "", "", False, True, now) for i, u in enumerate(user_ids)),
        )  # fmt: skip
        _copy(
            "sponsorship_profile",
            ["user_id", "role", "language"],
            ((int(u), "sponsor", "id") for u in user_ids),
        )
        sponsor_ids = base + np.arange(ns) + 1
        _copy(
            "sponsorship_sponsor",
            ["id", "user_id", "nip", "asn_type", "full_name", "birth_date", "sex", "agency_id", "home_village_id",
             "lat", "lon", "phone", "phone_hash", "capacity", "active_sponsorships", "contact_consent",
             "show_name_to_workers", "status", "created_at", "updated_at"],
            (
                (int(sponsor_ids[i]), int(user_ids[i]), f"{r + 10:02d}{i:016d}", "pns", f"ASN {r}-{i}",
                 dt.date(1985, 3, 14), "M", int(agency_ids[i % len(agency_ids)]), int(village_ids[home[i]]),
                 float(s.lat[i]), float(s.lon[i]), "", "", 3, int(active[i]), False, False, "active", now, now)
                for i in range(ns)
            ),
        )  # fmt: skip
        # Which workers are sponsored now: a random set of sum(active) of them, handed out in sponsor order.
        sponsored = rng.permutation(nw)[: int(active.sum())]
        payer = np.full(nw, "none", dtype=object)
        payer[sponsored] = "sponsor"
        v_index = w.village_ids - 1
        precise = (w.lat != reg.village_lat[v_index]) | (w.lon != reg.village_lon[v_index])
        occupations = list(Occupation.objects.order_by("code").values_list("id", flat=True))
        nik_cipher = encrypt("3502011403850001")  # one ciphertext is enough to time reads; hashes stay unique
        worker_ids = base + np.arange(nw) + 1
        _copy(
            "sponsorship_worker",
            ["id", "nik", "nik_hash", "full_name", "birth_date", "sex", "phone", "phone_hash", "occupation_id",
             "village_id", "lat", "lon", "welfare_decile", "kk_hash", "decile_review", "kpj", "current_payer",
             "status", "created_at", "updated_at"],
            (
                (int(worker_ids[i]), nik_cipher, f"scale-{r}-{i}", f"Pekerja {r}-{i}", dt.date(1985, 3, 14), "M",
                 "", "", occupations[i % len(occupations)], int(village_ids[v_index[i]]),
                 float(w.lat[i]) if precise[i] else None, float(w.lon[i]) if precise[i] else None,
                 int(w.decile[i]) or None, "", "", "", payer[i], "active", now, now)
                for i in range(nw)
            ),
        )  # fmt: skip
        _copy(
            "sponsorship_workerconsent",
            ["worker_id", "collected_at", "channel", "text_version", "created_at"],
            ((int(x), now, "in_person", "2026.1", now) for x in worker_ids),
        )
        owner = np.repeat(np.arange(ns), active)
        started = now - dt.timedelta(days=400)
        _copy(
            "sponsorship_sponsorship",
            ["sponsor_id", "worker_id", "status", "source", "started_at", "end_reason"],
            (
                (int(sponsor_ids[owner[k]]), int(worker_ids[sponsored[k]]), "active", "import", started, "")
                for k in range(len(sponsored))
            ),
        )
    return {
        "code": code,
        "sponsors": ns,
        "workers": nw,
        "sponsored": len(sponsored),
        "free_slots": int(free.sum()),
        "villages": nv,
        "load_s": time.perf_counter() - t0,
    }


def fix_sequences() -> None:
    with _cursor() as cur:
        for table in ("auth_user", "sponsorship_sponsor", "sponsorship_worker"):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"  # noqa: S608 - fixed table names
            )
        cur.execute("ANALYZE")


def table_stats() -> dict[str, dict]:
    with _cursor() as cur:
        cur.execute(
            "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del, n_live_tup, n_dead_tup, autovacuum_count, "
            "autoanalyze_count, vacuum_count FROM pg_stat_user_tables WHERE relname = ANY(%s)",
            [list(WATCHED)],
        )
        keys = ("ins", "upd", "del", "live", "dead", "autovacuum", "autoanalyze", "vacuum")
        return {row[0]: dict(zip(keys, row[1:], strict=True)) for row in cur.fetchall()}


def snapshot() -> dict[str, dict]:
    """pg_stat counters are sent by backends at transaction end and read through a snapshot: flush ours first."""
    with _cursor() as cur:
        cur.execute("SELECT pg_stat_clear_snapshot()")
        cur.execute("SELECT pg_stat_force_next_flush()")  # PostgreSQL 15+
    time.sleep(0.6)
    with _cursor() as cur:
        cur.execute("SELECT pg_stat_clear_snapshot()")
    return table_stats()


def written(before: dict, after: dict) -> dict[str, int]:
    out = {}
    for table, a in after.items():
        b = before.get(table, {"ins": 0, "upd": 0, "del": 0})
        n = (a["ins"] - b["ins"]) + (a["upd"] - b["upd"]) + (a["del"] - b["del"])
        if n:
            out[table] = n
    return out


def sizes() -> list[tuple]:
    with _cursor() as cur:
        cur.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid), pg_relation_size(c.oid), pg_indexes_size(c.oid), "
            "COALESCE(s.n_live_tup, 0) FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid "
            "WHERE c.relname = ANY(%s) AND c.relkind = 'r' ORDER BY 2 DESC",
            [list(WATCHED)],
        )
        return cur.fetchall()


def mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


def clean_invoices() -> None:
    from sponsorship.core.models import AuditLog

    with _cursor() as cur:
        cur.execute(
            "TRUNCATE sponsorship_invoiceline, sponsorship_invoice, sponsorship_creditentry, "
            "notifications_notification CASCADE"
        )
        cur.execute("TRUNCATE sponsorship_dash_agency_month")
        cur.execute("ANALYZE sponsorship_invoice, sponsorship_invoiceline, sponsorship_sponsorship")
    AuditLog.objects.filter(action="billing.run").delete()


def next_period() -> dt.date:
    from sponsorship.core.periods import add_months, local_today, month_start

    return add_months(month_start(local_today()), 1)


def bench_billing(repeat: int) -> tuple[list[float], object, dict]:
    from sponsorship.billing.services.billing import billing_run

    period = next_period()
    times, result, rows = [], None, {}
    for _ in range(repeat):
        clean_invoices()
        before = snapshot()
        t = time.perf_counter()
        result = billing_run(period=period, notify=False)
        times.append(time.perf_counter() - t)
        rows = written(before, snapshot())
    return times, result, rows


def reminder_day() -> dt.date:
    from sponsorship.billing.models import Invoice

    due = Invoice.objects.filter(period=next_period()).values_list("due_date", flat=True).first()
    return due - dt.timedelta(days=3)


def bench_reminders() -> tuple[float, int, dict]:
    """The invoice reminders of the day "due in 3 days" goes out (what reminders_scan writes for invoices:
    invoice_reminder_requests + notify_bulk); on-commit send tasks are dropped (no broker)."""
    from django.db import connection, transaction

    from notifications.services import notify_bulk
    from sponsorship.billing.reminders import invoice_reminder_requests

    today = reminder_day()
    # daytime in the recipients' zone, so nothing is held for quiet hours
    now = dt.datetime.combine(today, dt.time(10), tzinfo=dt.timezone(dt.timedelta(hours=7)))
    before = snapshot()
    t = time.perf_counter()
    with transaction.atomic():
        created = notify_bulk(invoice_reminder_requests(today=today), now=now)
        connection.run_on_commit.clear()
    elapsed = time.perf_counter() - t
    rows = written(before, snapshot())
    return elapsed, len(created), rows


def paid_history(today: dt.date) -> int:
    """Coverage months for the sponsored workers (each on their sponsor's next-period invoice: the scan reads only
    the months): two months ago for all, last month for two thirds, this month for one third."""
    from sponsorship.core.periods import add_months, month_start

    current = month_start(today)
    with _cursor() as cur:
        cur.execute("DELETE FROM sponsorship_coveragemonth")
        cur.execute(
            """
            INSERT INTO sponsorship_coveragemonth
                (worker_id, month, sponsor_id, invoice_id, jkk_idr, jkm_idr, jht_idr, amount_idr, paid_at,
                 registration_status)
            SELECT l.worker_id, m.month, i.sponsor_id, i.id, l.jkk_idr, l.jkm_idr, l.jht_idr, l.amount_idr, now(), ''
            FROM sponsorship_invoiceline l JOIN sponsorship_invoice i ON i.id = l.invoice_id
            CROSS JOIN (VALUES (%s::date, 0), (%s::date, 1), (%s::date, 2)) AS m(month, k)
            WHERE i.period = %s
              AND (m.k = 0 OR (m.k = 1 AND l.worker_id %% 3 <> 0) OR (m.k = 2 AND l.worker_id %% 3 = 1))
            """,
            [add_months(current, -2), add_months(current, -1), current, next_period()],
        )
        n = cur.rowcount
        cur.execute("ANALYZE sponsorship_coveragemonth")
    return n


def bench_coverage(sample: int) -> dict:
    from collections import Counter

    from django.db import connection, transaction

    from notifications.services import notify_bulk
    from sponsorship.billing.reminders import coverage_requests
    from sponsorship.billing.selectors.coverage import worker_coverage_status
    from sponsorship.people.models import Worker

    today = reminder_day()
    now = dt.datetime.combine(today, dt.time(10), tzinfo=dt.timezone(dt.timedelta(hours=7)))
    months = paid_history(today)
    t = time.perf_counter()
    requests = coverage_requests(today=today)
    build_s = time.perf_counter() - t
    t = time.perf_counter()
    with transaction.atomic():
        created = notify_bulk(requests, now=now)
        connection.run_on_commit.clear()
    write_s = time.perf_counter() - t
    workers = list(Worker.objects.filter(current_payer="sponsor").select_related("occupation").order_by("?")[:sample])
    t = time.perf_counter()
    for worker in workers:
        worker_coverage_status(worker, today=today)
    per_worker = (time.perf_counter() - t) / max(len(workers), 1)
    return {
        "months": months,
        "build_s": build_s,
        "write_s": write_s,
        "requests": len(requests),
        "kinds": dict(Counter(r.kind for r in requests)),
        "created": len(created),
        "per_worker_old": per_worker,
        "sampled": len(workers),
    }


def bench_zones(codes: list[str]) -> dict:
    from sponsorship.billing.reminders import coverage_requests, invoice_reminder_requests
    from sponsorship.regions.models import Region

    today = reminder_day()
    paid_history(today)  # protected, grace and lapsing workers (idempotent: the coverage part writes the same)

    def build(regency_id=None):
        t = time.perf_counter()
        reqs = invoice_reminder_requests(today=today, regency_id=regency_id)
        reqs += coverage_requests(today=today, regency_id=regency_id)
        return time.perf_counter() - t, {(r.user_id, r.kind, r.dedupe_key) for r in reqs}

    whole_s, whole = build()
    per_s, union = [], set()
    for rid in Region.objects.filter(code__in=codes).order_by("code").values_list("pk", flat=True):
        secs, keys = build(rid)
        per_s.append(secs)
        union |= keys
    return {"whole_s": whole_s, "whole_n": len(whole), "per_s": per_s, "per_n": len(union), "same": union == whole}


def bench_areas() -> dict:
    from django.core.cache import cache

    from sponsorship.dashboard.models import RegencyFigures
    from sponsorship.dashboard.selectors.areas import AreaScope, area_figures
    from sponsorship.dashboard.services.areas import area_figures_refresh
    from sponsorship.regions.models import Region

    RegencyFigures.objects.all().delete()
    cache.clear()
    t = time.perf_counter()
    refreshed = area_figures_refresh()
    t_refresh = time.perf_counter() - t
    t = time.perf_counter()
    national = area_figures(AreaScope(province=None))
    t_nat = time.perf_counter() - t
    t = time.perf_counter()
    area_figures(AreaScope(province=Region.objects.get(code=PROVINCE)))
    t_prov = time.perf_counter() - t
    return {
        "refresh_s": t_refresh,
        "refreshed": refreshed["refreshed"],
        "national_s": t_nat,
        "province_s": t_prov,
        "totals": national["totals"],
    }


# --- matching on a process pool --------------------------------------------------------------------------


def _pool_init() -> None:
    """A pool process: its own connections (forked from a parent without open ones), solver compiled once."""
    from django.db import connections

    connections.close_all()
    from bench.synthetic import generate_regency
    from sponsorship.matching.solver.strategies import solve_matching

    tiny = generate_regency(scale=0.01, seed=1)
    solve_matching(tiny.sponsors, tiny.workers, radius_m=5000)


def _match_task(code: str) -> dict:
    from sponsorship.matching.services.runs import matching_run_apply, matching_run_preview
    from sponsorship.regions.models import Region

    t = time.perf_counter()
    regency = Region.objects.get(code=code)
    run, _ = matching_run_preview(regency=regency)
    t_preview = time.perf_counter() - t
    run = matching_run_apply(run=run, notify=False)
    return {
        "code": code,
        "preview_s": t_preview,
        "total_s": time.perf_counter() - t,
        "covered": run.preview.get("covered_total"),
    }


class ConnectionSampler(threading.Thread):
    """Peak number of connections to the bench database while the pool runs (its own connection)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak = 0
        self.stop = threading.Event()

    def run(self):
        import psycopg

        name = BENCH_DB.rsplit("/", 1)[1]
        with psycopg.connect(BENCH_DB, autocommit=True) as conn:
            while not self.stop.is_set():
                n = conn.execute("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = %s", [name]).fetchone()[0]
                self.peak = max(self.peak, n)
                time.sleep(0.2)


def bench_matching(codes: list[str], pool: cf.ProcessPoolExecutor) -> tuple[float, list[dict], int]:
    sampler = ConnectionSampler()
    sampler.start()
    t = time.perf_counter()
    results = list(pool.map(_match_task, codes))
    elapsed = time.perf_counter() - t
    sampler.stop.set()
    sampler.join()
    return elapsed, results, sampler.peak


def print_rows(label: str, rows: dict, per: int | None = None) -> None:
    total = sum(rows.values())
    per_txt = f" = {total / per:.2f} per worker-month" if per else ""
    detail = ", ".join(f"{t.removeprefix('sponsorship_')} {n:,}" for t, n in sorted(rows.items(), key=lambda x: -x[1]))
    print(f"    rows written ({label}): {total:,}{per_txt} [{detail}]")


PARTS = ("billing", "reminders", "coverage", "zones", "matching", "areas")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regencies", type=int, default=10)
    parser.add_argument("--scale", type=float, default=1.0, help="bench/synthetic.py scale of each regency")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pool", type=int, default=2, help="matching processes (Celery concurrency)")
    parser.add_argument("--seed", type=int, default=20240101)
    parser.add_argument("--coverage-sample", type=int, default=1000, help="workers whose per-worker status is timed")
    parser.add_argument("--quick", action="store_true", help="2 regencies at scale 0.1, 1 repeat")
    parser.add_argument(
        "--parts",
        default=",".join(PARTS),
        help=f"comma-separated phases among {','.join(PARTS)} (default all); without billing, billing runs once "
        "untimed when reminders or coverage need its invoices",
    )
    args = parser.parse_args()
    parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    if parts - set(PARTS):
        parser.error(f"unknown parts: {', '.join(sorted(parts - set(PARTS)))}")
    if args.quick:
        args.regencies, args.scale, args.repeat, args.coverage_sample = 2, 0.1, 1, 200
    os.environ.setdefault("MATCHING_RUN_DISTANCE", "fast")
    django_setup()
    from django.db import connection

    print(
        f"bench database {BENCH_DB.rsplit('/', 1)[1]}; parts {','.join(p for p in PARTS if p in parts)}; {load_str()}"
    )
    with _cursor() as cur:
        cur.execute("SHOW max_connections")
        max_conn = cur.fetchone()[0]
        cur.execute("SELECT version()")
        version = cur.fetchone()[0].split(",")[0]
    print(f"{version}, max_connections {max_conn}", flush=True)
    wipe()
    results: dict[str, dict] = {}
    loaded: list[dict] = []
    ctx = mp.get_context("fork")
    for phase, upto in (("1 regency", 1), (f"{args.regencies} regencies", args.regencies)):
        before_load = snapshot()
        for r in range(len(loaded), upto):
            info = load_regency(r, scale=args.scale, seed=args.seed)
            loaded.append(info)
            print(
                f"  loaded {info['code']}: {info['sponsors']:,} ASN, {info['workers']:,} workers "
                f"({info['sponsored']:,} sponsored, {info['free_slots']:,} free slots) in {info['load_s']:.1f} s",
                flush=True,
            )
        fix_sequences()
        load_rows = sum(written(before_load, snapshot()).values())
        n_asn = sum(i["sponsors"] for i in loaded)
        n_workers = sum(i["workers"] for i in loaded)
        n_sponsored = sum(i["sponsored"] for i in loaded)
        print(f"\n== {phase}: {n_asn:,} ASN, {n_workers:,} workers ({load_rows:,} rows loaded); {load_str()}")
        res: dict = {"regencies": len(loaded), "rows_month": 0}
        if parts & {"billing", "reminders", "coverage", "zones"}:
            times, result, bill_rows = bench_billing(args.repeat if "billing" in parts else 1)
            if "billing" in parts:
                print(
                    f"  billing run: median {median(times):.2f} s over {len(times)} {[round(t, 2) for t in times]}; "
                    f"{result.invoices:,} invoices, {result.lines:,} worker-months; "
                    f"{1e6 * median(times) / max(result.lines, 1):.0f} µs per worker-month; {load_str()}",
                    flush=True,
                )
                print_rows("billing", bill_rows, result.lines)
                res.update(billing=median(times), lines=result.lines)
                res["rows_month"] += sum(bill_rows.values())
        if "reminders" in parts:
            rem_s, rem_n, rem_rows = bench_reminders()
            print(
                f"  invoice reminders (due in 3 days): {rem_s:.2f} s for {rem_n:,} outbox rows; {load_str()}",
                flush=True,
            )
            print_rows("reminders", rem_rows)
            res.update(reminders=rem_s, reminder_rows=rem_n)
            res["rows_month"] += sum(rem_rows.values())
        if "coverage" in parts:
            cov = bench_coverage(args.coverage_sample)
            print(
                f"  coverage scan (set-based coverage_requests) over {n_sponsored:,} sponsored workers "
                f"({cov['months']:,} paid months): {cov['build_s']:.2f} s to build {cov['requests']:,} requests "
                f"{cov['kinds']} = {1e6 * cov['build_s'] / max(n_sponsored, 1):.0f} µs per worker; notify_bulk "
                f"{cov['write_s']:.2f} s for {cov['created']:,} outbox rows; {load_str()}",
                flush=True,
            )
            print(
                f"  coverage status one worker at a time (what the scan did before): "
                f"{1000 * cov['per_worker_old']:.1f} ms per worker over {cov['sampled']:,} sampled; for all "
                f"{n_sponsored:,} sponsored workers {cov['per_worker_old'] * n_sponsored / 60:.1f} min; {load_str()}",
                flush=True,
            )
            res.update(
                coverage_scan=cov["build_s"],
                coverage_per_worker_old=cov["per_worker_old"],
                coverage_old_total=cov["per_worker_old"] * n_sponsored,
            )
        if "zones" in parts:
            z = bench_zones([i["code"] for i in loaded])
            per = z["per_s"]
            print(
                f"  reminder scan read side: whole deployment {z['whole_s']:.2f} s for {z['whole_n']:,} requests; per "
                f"regency {len(per)} scans, sum {sum(per):.2f} s (ratio {sum(per) / max(z['whole_s'], 1e-9):.2f}), "
                f"longest {max(per):.2f} s, median {median(per):.2f} s; union of the per-regency requests "
                f"{'equals' if z['same'] else 'DIFFERS FROM'} the whole scan's ({z['per_n']:,}); {load_str()}",
                flush=True,
            )
            res.update(zones_whole=z["whole_s"], zones_sum=sum(per), zones_max=max(per), zones_same=z["same"])
        if "matching" in parts:
            codes = [i["code"] for i in loaded]
            with _cursor() as cur:
                cur.execute("TRUNCATE sponsorship_proposal, sponsorship_matchingrun CASCADE")
            before = snapshot()
            connection.close()  # the pool forks: no shared connection
            with cf.ProcessPoolExecutor(max_workers=args.pool, mp_context=ctx, initializer=_pool_init) as pool:
                list(pool.map(time.sleep, [0] * args.pool))  # start and warm both processes before timing
                m_s, m_res, peak = bench_matching(codes, pool)
            m_rows = written(before, snapshot())  # the pool's backends flushed their counters when they exited
            per_task = [x["total_s"] for x in m_res]
            print(
                f"  matching: {len(codes)} task(s) on a pool of {args.pool}: wall {m_s:.1f} s; per task median "
                f"{median(per_task):.1f} s (max {max(per_task):.1f}); covered "
                f"{sum(x['covered'] or 0 for x in m_res):,}; peak connections to the database {peak}; {load_str()}",
                flush=True,
            )
            print_rows("matching", m_rows)
            res.update(matching_wall=m_s, matching_task=median(per_task))
            res["rows_month"] += sum(m_rows.values())
        if "areas" in parts:
            areas = bench_areas()
            print(
                f"  area figures: live computation of all {areas['refreshed']} regency rows (area_figures_refresh, "
                f"what a cold national page cost before) {areas['refresh_s']:.2f} s; reading the precomputed rows: "
                f"national {1000 * areas['national_s']:.1f} ms, province {1000 * areas['province_s']:.1f} ms; "
                f"{load_str()}",
                flush=True,
            )
            res.update(areas_refresh=areas["refresh_s"], areas_national=areas["national_s"])
        results[phase] = res
    base, full = results["1 regency"], results[f"{args.regencies} regencies"]
    k = full["regencies"]
    print(f"\n== ratio {k} regencies / 1 regency (same run; linear would be {k}×):")
    for key, label in (
        ("billing", "billing run"),
        ("reminders", "invoice reminders"),
        ("coverage_scan", "coverage scan, set-based"),
        ("coverage_per_worker_old", "coverage status per worker, one at a time (before)"),
        ("coverage_old_total", "coverage scan one worker at a time, extrapolated (before)"),
        ("matching_wall", f"matching wall time (pool of {args.pool})"),
        ("matching_task", "matching per task"),
        ("areas_refresh", "area rows computed live (before: a cold national page)"),
        ("areas_national", "national page from the precomputed rows"),
    ):
        if key in base and key in full:
            print(f"  {label}: {base[key]:.3f} s -> {full[key]:.3f} s = {full[key] / max(base[key], 1e-9):.2f}×")
    if "matching" in parts and {"billing", "reminders"} <= parts:
        print(
            f"  rows written in a billing month (billing + reminders + matching): {base['rows_month']:,} -> "
            f"{full['rows_month']:,}"
        )
    print("\n== PostgreSQL tables after the run (total = heap + indexes + toast):")
    for name, total, heap, idx, tuples in sizes():
        print(f"  {name:34s} {tuples:>10,} rows  total {mb(total):>10}  heap {mb(heap):>10}  indexes {mb(idx):>10}")
    with _cursor() as cur:
        cur.execute("SELECT pg_database_size(current_database())")
        print(f"  database size {mb(cur.fetchone()[0])}")
    print("\n== vacuum (pg_stat_user_tables): dead tuples, autovacuum / autoanalyze runs so far")
    for name, st in sorted(snapshot().items()):
        if st["dead"] or st["autovacuum"] or st["autoanalyze"]:
            print(
                f"  {name:34s} live {st['live']:>10,}  dead {st['dead']:>9,}  autovacuum {st['autovacuum']}  "
                f"autoanalyze {st['autoanalyze']}"
            )
    print(f"\n{load_str()} at the end")


if __name__ == "__main__":
    main()
