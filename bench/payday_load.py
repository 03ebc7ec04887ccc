"""Payday load: a regency's sponsors and workers hitting the API at once, against gunicorn + PostgreSQL + Redis.

What it does (loopback only, bounded):
  1. migrates and seeds a fresh PostgreSQL database (seed_demo + one billing run), mints JWTs for the users;
  2. starts the local Midtrans simulator and gunicorn (WORKERS sync workers) on 127.0.0.1;
  3. for DURATION seconds, CONCURRENCY client threads replay a payday mix: worker status checks (most of
     the traffic), sponsor overviews, proposal views, invoice lists, pays (Snap token through the
     simulator), notification inboxes, and the trivial endpoint /healthz (the baseline);
  4. prints throughput and p50/p99 latency per endpoint and each p50's ratio to /healthz on the same server.
Endpoints that are not in this checkout are skipped with a note.

  DATABASE_URL=postgres://postgres@127.0.0.1:5432/pengampu_bench REDIS_URL=redis://127.0.0.1:6379/3 \
  python bench/payday_load.py [--duration 20] [--concurrency 16] [--workers 3] [--sponsors 300 --workers-seed 900]
"""
import argparse
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# (label, method, path template, weight, who)
MIX = [
    ("worker status", "GET", "/api/v1/worker/status/", 40, "worker"),
    ("sponsor overview", "GET", "/api/v1/sponsor/overview/", 12, "sponsor"),
    ("proposals", "GET", "/api/v1/sponsor/proposals/", 10, "sponsor"),
    ("invoices", "GET", "/api/v1/sponsor/invoices/", 10, "sponsor"),
    ("pay", "POST", "/api/v1/sponsor/invoices/{invoice}/pay/", 6, "sponsor"),
    ("inbox", "GET", "/api/v1/notifications/", 12, "any"),
    ("healthz (trivial)", "GET", "/healthz", 10, "anonymous"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def django_env(args) -> dict:
    env = {**os.environ,
           "DJANGO_SETTINGS_MODULE": "backend.settings.dev", "DEBUG": "false",
           "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(64),
           "DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url,
           "CELERY_TASK_ALWAYS_EAGER": "true", "CELERY_BROKER_URL": "memory://",
           "THROTTLE_USER": "100000000/min", "THROTTLE_ANON": "100000000/min", "THROTTLE_LOGIN": "100000000/min",
           "DB_CONN_MAX_AGE": "60", "LOG_LEVEL": "WARNING", "NO_PROXY": "127.0.0.1,localhost"}
    return env


def prepare(args, env) -> dict:
    """Fresh database, demo data, one billing run; returns users' tokens and their invoice ids."""
    python = sys.executable
    db = args.database_url.rsplit("/", 1)[1]
    admin_url = args.database_url.rsplit("/", 1)[0] + "/postgres"
    import psycopg

    with psycopg.connect(admin_url.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{db}"')
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([python, "manage.py", "seed_demo", "--sponsors", str(args.sponsors), "--workers",
                    str(args.workers_seed), "--sponsored-share", "0.5"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    os.environ.update({k: v for k, v in env.items() if k in ("DJANGO_SETTINGS_MODULE", "DEBUG", "SECRET_KEY",
                                                             "DATABASE_URL", "REDIS_URL")})
    import django

    django.setup()
    from django.utils import timezone
    from rest_framework_simplejwt.tokens import RefreshToken

    from sponsorship.models import Role, Sponsor, Worker
    from sponsorship.services.worker_auth import issue_worker_tokens

    out = {"sponsor": [], "worker": [], "available": set()}
    try:
        from sponsorship.models import Invoice
        from sponsorship.services.billing import billing_run, month_start

        billing_run(period=month_start(timezone.localdate()), notify=True)
        invoices = {i.sponsor_id: i.pk for i in Invoice.objects.filter(status="issued")}
        out["available"].add("money")
    except ImportError:
        invoices = {}
    for sponsor in Sponsor.objects.exclude(user=None).select_related("user")[:200]:
        out["sponsor"].append((str(RefreshToken.for_user(sponsor.user).access_token), invoices.get(sponsor.pk)))
    for worker in Worker.objects.filter(sponsorships__status="active").distinct()[:300]:
        out["worker"].append((issue_worker_tokens(worker)["access"], None))
    return out


def start_server(args, env, port):
    from simulators.midtrans import MidtransSimulator

    sim = MidtransSimulator(server_key="SB-Mid-server-BENCH", retry_scale=0.001, jitter=0.0).start()
    env = {**env, "MIDTRANS_API_BASE_URL": sim.base_url, "MIDTRANS_SERVER_KEY": "SB-Mid-server-BENCH",
           "PUBLIC_BASE_URL": ""}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "backend.wsgi:application", "-b", f"127.0.0.1:{port}",
         "-w", str(args.workers), "--worker-class", "gthread", "--threads", "4", "--log-level", "warning"],
        cwd=ROOT, env=env)
    import requests

    for _ in range(150):
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5, proxies={"http": None})
            break
        except requests.RequestException:
            time.sleep(0.2)
    else:
        server.kill()
        sim.stop()
        sys.exit("gunicorn did not answer /healthz within 30 s")
    return server, sim


def existing_routes() -> set:
    from django.urls import Resolver404, resolve

    ok = set()
    for label, _, path, _, _ in MIX:
        try:
            resolve(path.replace("{invoice}", "1"))
            ok.add(label)
        except Resolver404:
            print(f"note: {label} ({path}) is not in this checkout; skipped")
    return ok


def run_load(args, port, users, labels):
    import requests

    mix = [m for m in MIX if m[0] in labels and (m[4] != "sponsor" or users["sponsor"])
           and (m[4] != "worker" or users["worker"])]
    weights = [m[3] for m in mix]
    samples = defaultdict(list)
    statuses = defaultdict(lambda: defaultdict(int))
    stop_at = time.perf_counter() + args.duration

    def client(seed):
        rnd = random.Random(seed)
        session = requests.Session()
        session.trust_env = False
        while time.perf_counter() < stop_at:
            label, method, path, _, who = rnd.choices(mix, weights)[0]
            headers = {}
            invoice = None
            if who == "any":
                who = rnd.choice(["sponsor", "worker"])
            if who != "anonymous":
                token, invoice = rnd.choice(users[who])
                headers["Authorization"] = f"Bearer {token}"
            if "{invoice}" in path:
                if not invoice:
                    continue
                path = path.format(invoice=invoice)
            started = time.perf_counter()
            try:
                response = session.request(method, f"http://127.0.0.1:{port}{path}", headers=headers, timeout=10)
                code = response.status_code
            except requests.RequestException:
                code = "error"
            samples[label].append(time.perf_counter() - started)
            statuses[label][code] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.concurrency)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return samples, statuses, time.perf_counter() - began


def report(samples, statuses, elapsed, args):
    def pct(values, q):
        values = sorted(values)
        return values[min(len(values) - 1, int(q * len(values)))] * 1000

    base = statistics.median(samples["healthz (trivial)"]) * 1000 if samples.get("healthz (trivial)") else None
    total = sum(len(v) for v in samples.values())
    print(f"\npayday load: {elapsed:.1f} s, {args.concurrency} clients, gunicorn {args.workers}×4 gthread, "
          f"{total} requests, {total / elapsed:.0f} req/s total")
    print(f"{'endpoint':20} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'p50/trivial':>11}  statuses")
    for label, *_ in MIX:
        values = samples.get(label)
        if not values:
            continue
        p50 = pct(values, 0.5)
        ratio = f"{p50 / base:.1f}×" if base else "-"
        codes = ", ".join(f"{k}:{v}" for k, v in sorted(statuses[label].items(), key=str))
        print(f"{label:20} {len(values) / elapsed:7.0f} {p50:8.1f} {pct(values, 0.99):8.1f} {ratio:>11}  {codes}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--sponsors", type=int, default=300)
    parser.add_argument("--workers-seed", type=int, default=900, help="informal workers in the demo regency")
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pengampu_bench"))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/3"))
    args = parser.parse_args()
    if "127.0.0.1" not in args.database_url and "localhost" not in args.database_url:
        sys.exit("loopback only: DATABASE_URL must point at 127.0.0.1")
    env = django_env(args)
    print("preparing database …", flush=True)
    users = prepare(args, env)
    labels = existing_routes()
    port = free_port()
    server, sim = start_server(args, env, port)
    try:
        samples, statuses, elapsed = run_load(args, port, users, labels)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)
        sim.stop()
    report(samples, statuses, elapsed, args)


if __name__ == "__main__":
    main()
