#!/usr/bin/env python3
"""Benchmark of issue 6 on PostgreSQL: dashboard queries at regency scale, worker status under load.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pengampu_bench_dash /work/main/.venv/bin/python bench/dashboard.py

1. (Re)creates the database named in DATABASE_URL (default pengampu_bench_dash), migrates, bulk-inserts a regency
   of 14,000 ASN and 42,000 workers (all sponsored, 3 per ASN) and 12 months of invoices, lines, payments,
   coverage months and remittances (sponsorship.dashboard.demo.billing_history). Use --reuse to skip when present.
2. Times every dashboard query (regency scope and the largest agency): median and max of --repeat runs.
3. Starts gunicorn on this data and drives GET /api/v1/worker/status/ (JWT of --tokens different workers) and
   GET /healthz (the trivial endpoint) open-loop at --rate requests/s for --duration s each; prints p50/p99.
Goals: each dashboard query < 300 ms; worker status p99 < 50 ms at 300 req/s.
"""

import argparse
import asyncio
import datetime as dt
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sponsors", type=int, default=14_000)
    p.add_argument("--workers-per-sponsor", type=int, default=3)
    p.add_argument("--agencies", type=int, default=40)
    p.add_argument("--months", type=int, default=12)
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--rate", type=float, default=300.0, help="requests per second (open loop)")
    p.add_argument("--duration", type=float, default=20.0, help="seconds per endpoint")
    p.add_argument("--tokens", type=int, default=2000, help="distinct workers signed in for the load test")
    p.add_argument("--gunicorn-workers", type=int, default=None, help="default: backend/gunicorn.conf.py")
    p.add_argument("--gunicorn-threads", type=int, default=None, help="default: backend/gunicorn.conf.py")
    p.add_argument("--port", type=int, default=8977)
    p.add_argument("--reuse", action="store_true", help="keep an already populated database")
    p.add_argument(
        "--driver",
        choices=["wrk", "httpx"],
        default="wrk" if shutil.which("wrk") else "httpx",
        help="load generator: wrk (C, Debian package; paced per connection by a Lua script) or the "
        "asyncio/httpx open-loop client",
    )
    p.add_argument("--connections", type=int, default=32, help="wrk connections (each paced to rate/connections)")
    p.add_argument("--skip-load", action="store_true")
    p.add_argument("--skip-queries", action="store_true")
    return p.parse_args()


def setup_env():
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pengampu_bench_dash")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.dev")
    os.environ["DEBUG"] = "false"  # no query log, like production
    os.environ.setdefault("DB_CONN_MAX_AGE", "60")
    os.environ.setdefault("THROTTLE_USER", "10000000/min")
    os.environ.setdefault("JWT_ACCESS_MINUTES", "240")
    if not os.environ["DATABASE_URL"].startswith(("postgres://", "postgresql://")):
        sys.exit("bench/dashboard.py needs DATABASE_URL=postgres://...")


def recreate_database():
    import psycopg

    url = urlparse(os.environ["DATABASE_URL"])
    name = url.path.lstrip("/")
    admin = url._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def populate(args):
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from sponsorship.dashboard.demo.billing_history import generate
    from sponsorship.dashboard.demo.names import AGENCIES, FEMALE_FIRST, MALE_FIRST, SURNAMES
    from sponsorship.people.crypto import keyed_hash
    from sponsorship.people.models import Agency, Occupation, Sponsor, Sponsorship, Worker
    from sponsorship.regions.models import Region
    from sponsorship.regions.services import import_regions

    call_command("migrate", verbosity=0)
    import_regions(ROOT / "sponsorship" / "dashboard" / "demo" / "ponorogo_regions.csv", only="35.02")
    from sponsorship.regions.models import RegencyConfig

    regency = Region.objects.get(code="35.02")
    RegencyConfig.objects.get_or_create(regency=regency)
    villages = list(Region.objects.filter(parent__parent=regency, level=Region.Level.VILLAGE))
    rng = random.Random(14000)
    names = [(a, s) for a, s in AGENCIES] + [(f"UPT Puskesmas {i}", f"Puskesmas {i}") for i in range(1, 60)]
    agencies = Agency.objects.bulk_create(
        [Agency(regency=regency, name=n, short_name=s) for n, s in names[: args.agencies]]
    )
    weights = [
        30 if "Pendidikan" in a.name else 10 if "Kesehatan" in a.name or "Rumah" in a.name else 1 for a in agencies
    ]
    t = time.perf_counter()
    sponsors = []
    for i in range(args.sponsors):
        birth = dt.date(1966, 1, 1) + dt.timedelta(days=i // 999)
        sponsors.append(
            Sponsor(
                nip=f"{birth:%Y%m%d}199503{1 + i % 2}{i % 999 + 1:03d}",
                asn_type="pns",
                full_name=f"{rng.choice(MALE_FIRST)} {rng.choice(SURNAMES)}",
                birth_date=birth,
                sex="M",
                agency=rng.choices(agencies, weights)[0],
                home_village=rng.choice(villages),
                capacity=args.workers_per_sponsor if args.workers_per_sponsor in (2, 3) else 3,
                active_sponsorships=args.workers_per_sponsor,
                show_name_to_workers=rng.random() < 0.5,
            )
        )
    Sponsor.objects.bulk_create(sponsors, batch_size=5000)
    occupations = list(Occupation.objects.all())
    workers = []
    total = args.sponsors * args.workers_per_sponsor
    for i in range(total):
        village = rng.choice(villages)
        birth = dt.date(1965, 1, 1) + dt.timedelta(days=i // 9999)
        nik = f"{village.code[:8].replace('.', '')}{birth:%d%m%y}{i % 9999 + 1:04d}"
        workers.append(
            Worker(
                nik=nik,
                nik_hash=keyed_hash(nik),
                full_name=f"{rng.choice(FEMALE_FIRST)} {rng.choice(SURNAMES)}",
                birth_date=birth,
                sex="F",
                occupation=rng.choice(occupations),
                village=village,
                welfare_decile=rng.randint(1, 10),
                current_payer=Worker.Payer.SPONSOR,
            )
        )
    Worker.objects.bulk_create(workers, batch_size=5000)
    now = timezone.now()
    pairs = []
    for n, worker in enumerate(workers):
        sponsor = sponsors[n // args.workers_per_sponsor]
        pairs.append(
            Sponsorship(
                sponsor=sponsor,
                worker=worker,
                status="active",
                source="import",
                started_at=now - dt.timedelta(days=rng.randint(20, 540)),
            )
        )
    Sponsorship.objects.bulk_create(pairs, batch_size=5000)
    print(
        f"  people: {len(sponsors)} ASN, {len(workers)} workers, {len(pairs)} sponsorships "
        f"in {time.perf_counter() - t:.0f} s",
        flush=True,
    )
    t = time.perf_counter()
    counts = generate(months=args.months, seed=6, log=lambda m: print(m, flush=True))
    print(f"  billing: {counts} in {time.perf_counter() - t:.0f} s", flush=True)
    User = get_user_model()
    from sponsorship.people.models import Profile

    sample = rng.sample(workers, min(args.tokens, len(workers)))
    users = User.objects.bulk_create([User(username=f"bench-worker-{w.pk}", password="!") for w in sample])
    Profile.objects.bulk_create([Profile(user=u, role="worker") for u in users])
    for w, u in zip(sample, users, strict=True):
        w.user = u
    Worker.objects.bulk_update(sample, ["user"], batch_size=2000)
    with connection.cursor() as cur:
        cur.execute("ANALYZE")


def sizes():
    from sponsorship.billing.models import CoverageMonth, Invoice, InvoiceLine, PaymentAttempt
    from sponsorship.people.models import Sponsor, Sponsorship, Worker

    return {
        m.__name__: m.objects.count()
        for m in (Sponsor, Worker, Sponsorship, Invoice, InvoiceLine, CoverageMonth, PaymentAttempt)
    }


def time_queries(args):
    import os as _os

    from django.db.models import Count

    from sponsorship.dashboard.selectors import (
        AdminScope,
        agency_league,
        coverage_by_district,
        coverage_by_village,
        headline,
    )
    from sponsorship.people.models import Agency
    from sponsorship.regions.models import Region

    print(f"load average before timing: {_os.getloadavg()[0]:.1f} on {_os.cpu_count()} CPUs")
    from sponsorship.dashboard.selectors.money import arrears_worklist, money_by_month, on_time_rate

    regency = Region.objects.get(code="35.02")
    agency = Agency.objects.annotate(n=Count("sponsors")).order_by("-n").first()
    district = Region.objects.filter(parent=regency).annotate(n=Count("children__workers")).order_by("-n").first()
    scopes = {"regency": AdminScope(regency, None), f"agency ({agency.short_name})": AdminScope(regency, agency)}
    queries = {
        "headline": headline,
        "agency_league": agency_league,
        "coverage_by_district": coverage_by_district,
        "coverage_by_village": lambda s: coverage_by_village(s, district.code),
        "money_by_month": money_by_month,
        "on_time_rate": on_time_rate,
        "arrears_worklist": arrears_worklist,
    }
    print(f"\n{'query':<24}{'scope':<28}{'rows':>6}{'median ms':>11}{'max ms':>9}  goal < 300 ms")
    worst = 0.0
    for scope_name, scope in scopes.items():
        for name, fn in queries.items():
            fn(scope)  # warm-up
            times = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                result = fn(scope)
                times.append((time.perf_counter() - t) * 1000)
            rows = len(result) if isinstance(result, list) else 1
            med = statistics.median(times)
            worst = max(worst, max(times))
            print(
                f"{name:<24}{scope_name:<28}{rows:>6}{med:>11.1f}{max(times):>9.1f}  "
                f"{'ok' if max(times) < 300 else 'SLOW'}",
                flush=True,
            )
    # What a page load costs once the figures are cached (DASHBOARD_CACHE_SECONDS, dropped on dashboard actions).
    from sponsorship.dashboard.selectors import build_table, cached

    print(f"\n{'cached table (page load)':<24}{'scope':<28}{'rows':>6}{'median ms':>11}{'max ms':>9}")
    for scope_name, scope in scopes.items():
        for name, params in (
            ("headline", None),
            ("agencies", {}),
            ("coverage_districts", {}),
            ("coverage_villages", {"district": district.code}),
            ("money", {}),
            ("arrears", {}),
        ):
            if name == "headline":
                call = lambda scope=scope: cached(scope, "headline", {}, lambda: headline(scope))  # noqa: E731
            else:
                call = lambda name=name, scope=scope, params=params: build_table(name, scope, params).rows  # noqa: E731
            call()
            times = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                result = call()
                times.append((time.perf_counter() - t) * 1000)
            rows = len(result) if isinstance(result, list) else 1
            print(f"{name:<24}{scope_name:<28}{rows:>6}{statistics.median(times):>11.2f}{max(times):>9.2f}", flush=True)
    return worst


def serial_cost(n: int = 200):
    """Server-side cost of one request, in process and one at a time (no network, no queueing)."""
    from django.test import Client

    access = tokens()[:n]
    client = Client()
    out = {}
    for name, path, header in (
        ("trivial GET /healthz", "/healthz", lambda i: {}),
        (
            "GET /api/v1/worker/status/",
            "/api/v1/worker/status/",
            lambda i: {"HTTP_AUTHORIZATION": f"Bearer {access[i % len(access)]}"},
        ),
    ):
        for i in range(10):
            client.get(path, **header(i))
        times = []
        for i in range(n):
            t = time.perf_counter()
            r = client.get(path, **header(i))
            times.append((time.perf_counter() - t) * 1000)
            assert r.status_code in (200, 503), r.status_code
        times.sort()
        out[name] = times
        print(
            f"serial in-process {name:<28} median {statistics.median(times):6.1f} ms  p99 "
            f"{times[int(0.99 * len(times)) - 1]:6.1f} ms  (≈ {1000 / statistics.median(times):.0f} req/s per core)",
            flush=True,
        )
    return out


def tokens():
    from rest_framework_simplejwt.tokens import RefreshToken

    from sponsorship.people.models import Worker

    return [
        str(RefreshToken.for_user(w.user).access_token)
        for w in Worker.objects.filter(user__isnull=False).select_related("user")
    ]


async def load(url: str, rate: float, duration: float, headers_for, mark=lambda: None) -> dict:
    import httpx

    latencies, errors, lags = [], 0, []
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(limits=limits, timeout=10.0) as client:

        async def one(i, scheduled):
            nonlocal errors
            lags.append(time.perf_counter() - scheduled)
            t = time.perf_counter()
            try:
                r = await client.get(url, headers=headers_for(i))
                if r.status_code != 200:
                    errors += 1
            except httpx.HTTPError:
                errors += 1
            latencies.append((time.perf_counter() - t) * 1000)

        # warm-up: a few requests so every gunicorn worker has its DB connection
        await asyncio.gather(*(client.get(url, headers=headers_for(i)) for i in range(20)))
        mark()
        n = int(rate * duration)
        start = time.perf_counter()
        tasks = []
        for i in range(n):
            scheduled = start + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i, scheduled)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    latencies.sort()
    q = lambda p: latencies[min(int(p * len(latencies)), len(latencies) - 1)]  # noqa: E731
    return {
        "requests": n,
        "achieved_rps": n / elapsed,
        "errors": errors,
        "p50": q(0.50),
        "p90": q(0.90),
        "p99": q(0.99),
        "max": latencies[-1],
        "client_lag_p99_ms": sorted(lags)[int(0.99 * len(lags))] * 1000,
    }


def run_load(args):
    access = tokens()
    env = {**os.environ}
    from _setup import child_pids, cpu_seconds, gunicorn_config

    flags, args.gunicorn_text = gunicorn_config(args.gunicorn_workers, args.gunicorn_threads)
    cmd = [sys.executable, "-m", "gunicorn", *flags, "backend.wsgi:application", "--bind", f"127.0.0.1:{args.port}"]
    server = subprocess.Popen(cmd, cwd=ROOT, env=env)
    try:
        import httpx

        for _ in range(100):
            try:
                if httpx.get(f"http://127.0.0.1:{args.port}/healthz", timeout=1).status_code in (200, 503):
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        base = f"http://127.0.0.1:{args.port}"
        check = httpx.get(f"{base}/api/v1/worker/status/", headers={"Authorization": f"Bearer {access[0]}"})
        print(f"\nworker status sample: {check.status_code} state={check.json().get('state')}", flush=True)
        results = {}
        workers = child_pids(server.pid)

        def measured(run):
            """run(mark): mark() is called when the timed part starts (after the generator's warm-up)."""
            start = {"cpu": cpu_seconds(workers)}
            result = run(lambda: start.update(cpu=cpu_seconds(workers)))
            result["cpu_ms"] = (cpu_seconds(workers) - start["cpu"]) / max(result["requests"], 1) * 1000
            result["load"] = os.getloadavg()[0]
            return result

        if args.driver == "wrk":
            for name, path, use_tokens in (
                ("trivial GET /healthz", "/healthz", False),
                ("GET /api/v1/worker/status/", "/api/v1/worker/status/", True),
            ):
                results[name] = measured(
                    lambda mark, path=path, use_tokens=use_tokens: run_wrk(
                        base, path, access if use_tokens else [], args, mark
                    )
                )
            report(args, results, access)
            return
        for name, url, headers_for in (
            ("trivial GET /healthz", f"{base}/healthz", lambda i: {}),
            (
                "GET /api/v1/worker/status/",
                f"{base}/api/v1/worker/status/",
                lambda i: {"Authorization": f"Bearer {access[i % len(access)]}"},
            ),
        ):
            results[name] = measured(
                lambda mark, url=url, headers_for=headers_for: asyncio.run(
                    load(url, args.rate, args.duration, headers_for, mark)
                )
            )
        report(args, results, access)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)


WRK_LUA = """
local tokens, n, delay_ms = {}, 0, %(delay)d
local f = io.open("%(tokens)s")
if f then for line in f:lines() do tokens[#tokens + 1] = line end f:close() end
local counter = 0
function setup(thread) counter = counter + 1; thread:set("offset", counter * 7919) end
function init(args) n = offset or 0 end
function request()
  n = n + 1
  if #tokens > 0 then
    return wrk.format("GET", nil, {["Authorization"] = "Bearer " .. tokens[(n %% #tokens) + 1]})
  end
  return wrk.format("GET")
end
function delay() return delay_ms end
done = function(summary, latency, requests)
  io.write(string.format("WRKRESULT %%d %%d %%d %%.3f %%.3f %%.3f %%.3f %%d\\n", summary.requests, summary.duration,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, summary.errors.status))
end
"""


def _wrk_result(out: str) -> dict:
    line = next(ln for ln in out.splitlines() if ln.startswith("WRKRESULT"))
    n, dur_us, errors, p50, p90, p99, mx, _ = line.split()[1:]
    return {
        "requests": int(n),
        "achieved_rps": int(n) / (int(dur_us) / 1e6),
        "errors": int(errors),
        "p50": float(p50),
        "p90": float(p90),
        "p99": float(p99),
        "max": float(mx),
        "client_lag_p99_ms": 0.0,
    }


def run_wrk(base: str, path: str, access: list[str], args, mark=lambda: None) -> dict:
    """wrk (closed loop) with every connection pausing between its requests. A connection's period is its
    pause plus the answer's latency, so the pause is calibrated on the warm-up run: pause = connections/rate -
    warm-up mean latency, which offers ~`rate` req/s. The achieved rate is measured and reported, not assumed."""
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="bench-wrk-"))
    (tmp / "tokens.txt").write_text("\n".join(access) + "\n" if access else "")
    period_ms = 1000 * args.connections / args.rate

    def script(pause_ms: int) -> str:
        (tmp / "pace.lua").write_text(WRK_LUA % {"delay": pause_ms, "tokens": tmp / "tokens.txt"})
        return str(tmp / "pace.lua")

    # warm-up (every gunicorn thread opens its DB connection) that also measures the answer's latency
    warm = subprocess.run(
        ["wrk", "-t2", "-c", str(args.connections), "-d", "4s", "-s", script(int(period_ms) - 2), base + path],
        capture_output=True,
        text=True,
    ).stdout
    latency_ms = 1000 * args.connections / max(_wrk_result(warm)["achieved_rps"], 1.0) - (int(period_ms) - 2)
    pause = max(int(round(period_ms - max(latency_ms, 0.0))), 0)
    args.wrk_pause_ms = pause
    mark()
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            "-c",
            str(args.connections),
            "-d",
            f"{int(args.duration)}s",
            "--timeout",
            "10s",
            "-s",
            script(pause),
            "--latency",
            base + path,
        ],
        capture_output=True,
        text=True,
    ).stdout
    return _wrk_result(out)


def report(args, results, access):
    if True:
        driver = (
            f"wrk, {args.connections} connections each pausing {getattr(args, 'wrk_pause_ms', '?')} ms between "
            f"requests (closed loop paced to the target, pause calibrated on the warm-up)"
            if args.driver == "wrk"
            else "asyncio/httpx open loop (a request scheduled every 1/rate s)"
        )
        print(
            f"\n{args.gunicorn_text} on {os.cpu_count()} CPUs, lean paths "
            f"{'off' if os.environ.get('LEAN_PATHS') == 'false' else 'on'}; target {args.rate:.0f} req/s for "
            f"{args.duration:.0f} s each; load generator: {driver}; {len(access)} distinct worker tokens"
        )
        print(
            f"{'endpoint':<30}{'req':>6}{'rps':>7}{'err':>5}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}"
            f"{'CPU ms/req':>11}{'load':>6}"
        )
        for name, r in results.items():
            print(
                f"{name:<30}{r['requests']:>6}{r['achieved_rps']:>7.0f}{r['errors']:>5}{r['p50']:>9.1f}"
                f"{r['p90']:>9.1f}{r['p99']:>9.1f}{r['max']:>9.1f}{r['cpu_ms']:>11.2f}{r['load']:>6.1f}"
            )
        triv, status = results["trivial GET /healthz"], results["GET /api/v1/worker/status/"]
        if args.driver == "wrk":
            print(
                f"note: wrk pauses AFTER each answer, so a connection offers 1 / (pause + latency); the pause was "
                f"calibrated on a warm-up so the offered rate is ~{args.rate:.0f} req/s; 'rps' above is achieved"
            )
        print(
            f"ratio status/trivial: p50 {status['p50'] / triv['p50']:.1f}x, p99 {status['p99'] / triv['p99']:.1f}x;"
            f" goal >= {args.rate:.0f} req/s with p99 < 50 ms: "
            f"{'ok' if status['p99'] < 50 and status['achieved_rps'] >= 0.98 * args.rate else 'MISSED'}"
            f" (driver {args.driver}; client scheduling lag p99 {status['client_lag_p99_ms']:.1f} ms)"
        )


def main():
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # run the finally blocks: stop gunicorn
    setup_env()
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)
    import warnings

    import django

    warnings.filterwarnings("ignore")
    if not args.reuse:
        recreate_database()
    django.setup()
    from django.db import connection

    from sponsorship.billing.models import Invoice

    if (
        not args.reuse
        or Invoice._meta.db_table not in connection.introspection.table_names()
        or not Invoice.objects.exists()
    ):
        print("populating (bulk insert)…", flush=True)
        t = time.perf_counter()
        populate(args)
        print(f"populated in {time.perf_counter() - t:.0f} s", flush=True)
    print("sizes:", ", ".join(f"{k} {v:,}" for k, v in sizes().items()), flush=True)
    if not args.skip_queries:
        time_queries(args)
    serial_cost()
    if not args.skip_load:
        from django.db import connections

        connections.close_all()
        run_load(args)


if __name__ == "__main__":
    main()
