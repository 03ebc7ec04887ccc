"""Payday load: a regency's sponsors and workers hitting the API at once, against gunicorn + PostgreSQL + Redis.

What it does (loopback only, bounded):
  1. migrates and seeds a fresh PostgreSQL database (seed_demo + one billing run), mints JWTs for the users;
  2. starts the local Midtrans simulator, gunicorn (backend/gunicorn.conf.py when present) and a real Celery
     worker on Redis (as in production: the webhook stores and verifies, the worker settles) on 127.0.0.1;
  3. for DURATION seconds, CONCURRENCY client threads replay a payday mix: worker status checks (most of
     the traffic), sponsor overviews, proposal views, invoice lists, pays (Snap token through the
     simulator), Midtrans payment notifications for those pays (the payer pays on the simulator, the
     client posts the signed notification Midtrans would send, 1 in 5 twice as Midtrans retries),
     notification inboxes, and the trivial endpoint /healthz (the baseline);
  4. prints throughput and p50/p99 latency per endpoint and each p50/p99's ratio to /healthz on the same
     server, then waits for the Celery worker and checks the money: every notified order settled once,
     its invoice paid, one coverage row per paid line, every duplicate stored once.
Endpoints that are not in this checkout are skipped with a note.

  BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/pengampu_bench REDIS_URL=redis://127.0.0.1:6379/3 \
  python bench/payday_load.py [--duration 20] [--concurrency 16] [--sponsors 300 --workers-seed 900]

Two ways to load (docs/performance.md, "The payday rush"):
  closed loop (default): CONCURRENCY clients each send the next request as soon as the last one answered; the
      server sets the rate, and the latency mostly measures the queue in front of it;
  open loop (--rate R): requests arrive at R per second (Poisson) whatever the server does, as real phones do;
      latency counts from the planned send time, so time spent waiting for a free client counts too (no
      coordinated omission). This is how an SLO ("p99 < 300 ms at R req/s") is stated.
--gunicorn 2x8,4x2 runs the same load against each gunicorn shape (workers x threads) in turn, on the same data,
one after the other in one run, so they compare under the same machine load. A sampler polls pg_stat_activity
every 20 ms during the load and reports what the busy backends were waiting on (Lock = row/tuple lock waits).
"""

import argparse
import base64
import collections
import json
import os
import random
import secrets
import signal
import socket
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
    ("payment notification", "POST", "/api/v1/payments/midtrans/notification/", 6, "midtrans"),
    ("inbox", "GET", "/api/v1/notifications/", 12, "any"),
    ("healthz (trivial)", "GET", "/healthz", 10, "anonymous"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def django_env(args) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backend.settings.dev",
        "DEBUG": "false",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(64),
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CELERY_BROKER_URL": args.broker_url,
        "THROTTLE_USER": "100000000/min",
        "THROTTLE_ANON": "100000000/min",
        "THROTTLE_LOGIN": "100000000/min",
        "MIDTRANS_NOTIFICATION_RATE_PER_MINUTE": "100000000",  # the simulator posts everything from 127.0.0.1
        "DB_CONN_MAX_AGE": "60",
        "LOG_LEVEL": "WARNING",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    return env


def prepare(args, env) -> dict:
    """Fresh database, demo data, one billing run; returns users' tokens and their invoice ids."""
    python = sys.executable
    db = args.database_url.rsplit("/", 1)[1]
    admin_url = args.database_url.rsplit("/", 1)[0] + "/postgres"
    import psycopg

    if args.keep_data:  # the database of an earlier run, seeded and billed: only the tokens are minted again
        return _prepare_django(args, env, seed=False)
    with psycopg.connect(admin_url.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{db}"')
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [
            python,
            "manage.py",
            "seed_demo",
            "--sponsors",
            str(args.sponsors),
            "--workers",
            str(args.workers_seed),
            "--sponsored-share",
            "0.5",
        ],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return _prepare_django(args, env, seed=True)


def _prepare_django(args, env, *, seed: bool) -> dict:
    os.environ.update(
        {
            k: v
            for k, v in env.items()
            if k
            in (
                "DJANGO_SETTINGS_MODULE",
                "DEBUG",
                "SECRET_KEY",
                "DATABASE_URL",
                "REDIS_URL",
                "CELERY_TASK_ALWAYS_EAGER",
                "CELERY_BROKER_URL",
            )
        }
    )
    import django

    django.setup()
    from rest_framework_simplejwt.tokens import RefreshToken

    from sponsorship.people.models import Role, Sponsor, Worker
    from sponsorship.people.services.worker_auth import issue_worker_tokens

    out = {"sponsor": [], "worker": [], "available": set()}
    try:
        from sponsorship.billing.models import Invoice
        from sponsorship.billing.services.billing import billing_run
        from sponsorship.core.periods import add_months, local_today, month_start

        this_month = month_start(local_today())
        for period in (this_month, add_months(this_month, 1)) if seed else ():  # started after the 15th: next month
            billing_run(period=period, notify=True)
        invoices = {}
        for invoice in Invoice.objects.filter(status="issued").order_by("period", "pk"):
            invoices.setdefault(invoice.sponsor_id, invoice.pk)
        out["available"].add("money")
    except ImportError:
        invoices = {}
    # The demo data gives an app account to one sponsor; a payday has many: give accounts to 200 sponsors.
    from django.contrib.auth import get_user_model

    from sponsorship.people.models import Profile

    User = get_user_model()
    for sponsor in Sponsor.objects.filter(user=None).order_by("pk")[: 200 if seed else 0]:
        user = User.objects.create_user(f"bench.{sponsor.pk}", password=None)
        Profile.objects.create(user=user, role=Role.SPONSOR)
        sponsor.user = user
        sponsor.save(update_fields=["user"])
    for sponsor in Sponsor.objects.exclude(user=None).select_related("user").order_by("pk")[:200]:
        out["sponsor"].append((str(RefreshToken.for_user(sponsor.user).access_token), invoices.get(sponsor.pk)))
    for worker in Worker.objects.filter(sponsorships__status="active").distinct()[:300]:
        out["worker"].append((issue_worker_tokens(worker)["access"], None))
    return out


SERVER_KEY = "SB-Mid-server-BENCH"
GUNICORN_CONF = ROOT / "backend" / "gunicorn.conf.py"


def gunicorn_cmd(args, port) -> list:
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "backend.wsgi:application",
        "-b",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
    ]
    if GUNICORN_CONF.exists():
        cmd += ["-c", str(GUNICORN_CONF)]  # the production settings; flags below override only when given
    else:
        cmd += ["--worker-class", "gthread", "--threads", "4", "-w", "3"]
    workers, threads = getattr(args, "shape", None) or (args.workers, args.threads)
    if workers:
        cmd += ["-w", str(workers)]
    if threads:
        cmd += ["--threads", str(threads)]
    return cmd


def start_server(args, env, port):
    from simulators.midtrans import MidtransSimulator

    sim = MidtransSimulator(server_key=SERVER_KEY, retry_scale=0.001, jitter=0.0).start()
    # No notification URL: the simulator does not post on its own; the load clients post what it would.
    env = {**env, "MIDTRANS_API_BASE_URL": sim.base_url, "MIDTRANS_SERVER_KEY": SERVER_KEY, "PUBLIC_BASE_URL": ""}
    import redis

    redis.Redis.from_url(args.broker_url).flushdb()
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "backend",
            "worker",
            "--pool",
            "prefork",
            "-c",
            str(args.celery_workers),
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-l",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    server = subprocess.Popen(gunicorn_cmd(args, port), cwd=ROOT, env=env)
    import requests

    for _ in range(300):  # 60 s: the workers import the matching solver before serving (gunicorn.conf.py)
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5, proxies={"http": None})
            break
        except requests.RequestException:
            time.sleep(0.2)
    else:
        server.kill()
        worker.kill()
        sim.stop()
        sys.exit("gunicorn did not answer /healthz within 60 s")
    return server, worker, sim


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


def run_load(args, port, users, labels, sim_url, duration):
    import requests

    from sponsorship.billing.gateways.midtrans import signature

    paid_orders = collections.deque()  # order ids of pays, for the payer to pay and Midtrans to notify
    notified = set()
    basic = "Basic " + base64.b64encode(f"{SERVER_KEY}:".encode()).decode()

    def midtrans_notification(session, rnd):
        """The payer pays on the simulator (not timed); returns the signed body Midtrans would post."""
        try:
            order_id = paid_orders.popleft()
        except IndexError:
            return None
        if isinstance(order_id, tuple):  # a retry of a notification already sent
            return order_id[1]
        session.post(f"{sim_url}/_sim/pay", json={"order_id": order_id, "method": "bca_va"}, timeout=10)
        raw = session.get(f"{sim_url}/v2/{order_id}/status", headers={"Authorization": basic}, timeout=10).json()
        if "gross_amount" not in raw:
            # The simulator has no payment for this order (its status answer is an error body): nothing to notify.
            # Reading the key anyway raised KeyError and killed the client thread, shrinking the open loop's pool.
            return None
        raw.update(status_message="midtrans payment notification", status_code="200")
        raw["signature_key"] = signature(order_id, "200", raw["gross_amount"], SERVER_KEY)
        notified.add(order_id)
        if rnd.random() < 0.2:  # Midtrans retries: the same notification again, later
            paid_orders.append(("dup", json.dumps(raw)))
        return json.dumps(raw)

    mix = [
        m
        for m in MIX
        if m[0] in labels and (m[4] != "sponsor" or users["sponsor"]) and (m[4] != "worker" or users["worker"])
    ]
    weights = [m[3] for m in mix]
    samples = defaultdict(list)
    statuses = defaultdict(lambda: defaultdict(int))
    stop_at = time.perf_counter() + duration

    def client(seed):
        rnd = random.Random(seed)
        session = requests.Session()
        session.trust_env = False
        while time.perf_counter() < stop_at:
            send(session, rnd, rnd.choices(mix, weights)[0], None)

    def send(session, rnd, choice, planned):
        """One request; latency from `planned` (open loop: the arrival time) or from the send."""
        label, method, path, _, who = choice
        prep_began = time.perf_counter()
        headers = {}
        invoice = None
        if who == "any":
            who = rnd.choice(["sponsor", "worker"])
        if who not in ("anonymous", "midtrans"):
            token, invoice = rnd.choice(users[who])
            headers["Authorization"] = f"Bearer {token}"
        if "{invoice}" in path:
            if not invoice:
                return
            path = path.format(invoice=invoice)
        body = None
        if who == "midtrans":
            body = midtrans_notification(session, rnd)
            if body is None:
                return
            headers["Content-Type"] = "application/json"
        # Open loop: from the arrival, less the untimed preparation (a notification's pay on the simulator).
        started = time.perf_counter() if planned is None else planned + (time.perf_counter() - prep_began)
        try:
            response = session.request(method, f"http://127.0.0.1:{port}{path}", headers=headers, data=body, timeout=10)
            code = response.status_code
            if label == "pay" and code in (200, 201):
                paid_orders.append(response.json()["order_id"])
        except requests.RequestException:
            code = "error"
        samples[label].append(time.perf_counter() - started)
        statuses[label][code] += 1

    if args.rate:
        return run_open_loop(args, port, mix, weights, samples, statuses, stop_at, send, notified)
    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.concurrency)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return samples, statuses, time.perf_counter() - began, notified


def run_open_loop(args, port, mix, weights, samples, statuses, stop_at, send, notified):
    """Poisson arrivals at args.rate per second; a pool of args.concurrency senders (a phone does not wait for
    another phone). An arrival that finds every sender busy waits, and that wait is part of its latency."""
    import queue

    import requests

    rnd = random.Random(7)
    arrivals: queue.Queue = queue.Queue()

    def sender(seed):
        session = requests.Session()
        session.trust_env = False
        local = random.Random(seed)
        while True:
            item = arrivals.get()
            if item is None:
                return
            send(session, local, *item)

    pool = [threading.Thread(target=sender, args=(i,), daemon=True) for i in range(args.concurrency)]
    for t in pool:
        t.start()
    began = time.perf_counter()
    planned = began
    while planned < stop_at:
        planned += rnd.expovariate(args.rate)
        delay = planned - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        arrivals.put((rnd.choices(mix, weights)[0], planned))
    for _ in pool:
        arrivals.put(None)
    for t in pool:
        t.join()
    return samples, statuses, time.perf_counter() - began, notified


def per_route_cost(users, labels, n: int) -> None:
    """Each read route n times in this process through the Django test client (no network, one thread): the
    median CPU time of this Python process (time.process_time: what the load cannot inflate much) and the wall
    time (CPU + database + waiting for a core). The writes (pay, notification) are left to the load."""
    import statistics

    from django.test import Client

    client = Client()
    rnd = random.Random(3)
    print(f"\nper-route cost in process ({n} calls each, one thread, load average {os.getloadavg()[0]:.1f}):")
    print(f"{'endpoint':22} {'CPU ms':>8} {'wall ms':>8}")
    for label, method, path, _, who in MIX:
        if method != "GET" or label not in labels:
            continue
        cpu, wall = [], []
        for _ in range(n):
            who_now = rnd.choice(["sponsor", "worker"]) if who == "any" else who
            headers = {}
            if who_now not in ("anonymous", "midtrans"):
                headers["HTTP_AUTHORIZATION"] = f"Bearer {rnd.choice(users[who_now])[0]}"
            c0, w0 = time.process_time(), time.perf_counter()
            client.get(path, **headers)
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - w0)
        print(f"{label:22} {statistics.median(cpu) * 1000:8.1f} {statistics.median(wall) * 1000:8.1f}")


class WaitSampler:
    """Polls pg_stat_activity every 20 ms while the load runs: what the bench database's busy backends wait on."""

    def __init__(self, database_url: str):
        self.url = database_url.replace("postgres://", "postgresql://")
        self.db = database_url.rsplit("/", 1)[1]
        self.counts: collections.Counter = collections.Counter()
        self.locks: collections.Counter = collections.Counter()
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self):
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self._stop.wait(0.02):
                rows = conn.execute(
                    "SELECT coalesce(wait_event_type, 'CPU'), coalesce(wait_event, ''), left(query, 70) "
                    "FROM pg_stat_activity WHERE datname = %s AND state = 'active' AND pid <> pg_backend_pid()",
                    [self.db],
                ).fetchall()
                self.samples += 1
                for kind, event, query in rows:
                    self.counts[kind if kind != "IO" else f"IO:{event}"] += 1
                    if kind == "Lock":
                        self.locks[f"{event}: {' '.join(query.split())}"] += 1

    def report(self):
        busy = sum(self.counts.values())
        print(
            f"database: {busy / max(self.samples, 1):.2f} busy backends on average ({self.samples} samples); "
            + ", ".join(f"{k} {v / max(busy, 1):.0%}" for k, v in self.counts.most_common(6))
        )
        for what, n in self.locks.most_common(3):
            print(f"  lock wait {n / max(self.samples, 1):.2f} backends avg: {what}")


def check_money(notified, timeout=120.0) -> bool:
    """After the burst: the Celery worker settles every notified order once; coverage = paid lines."""
    from django.db.models import Count

    from sponsorship.billing.models import CoverageMonth, InvoiceLine, PaymentAttempt, PaymentNotification

    deadline = time.monotonic() + timeout
    began = time.monotonic()
    while time.monotonic() < deadline:
        settled = PaymentAttempt.objects.filter(order_id__in=notified, status="settled").count()
        if settled == len(notified):
            break
        time.sleep(0.5)
    attempts = PaymentAttempt.objects.filter(order_id__in=notified)
    invoice_ids = list(attempts.values_list("invoice_id", flat=True))
    lines = InvoiceLine.objects.filter(invoice_id__in=invoice_ids).count()
    coverage = CoverageMonth.objects.filter(invoice_id__in=invoice_ids).count()
    # Every post is stored raw; a repeat is kept as a `duplicate` row and acted on never.
    stored = (
        PaymentNotification.objects.filter(order_id__in=notified)
        .exclude(state="duplicate")
        .values("order_id")
        .annotate(n=Count("id"))
    )
    dup_rows = sum(1 for row in stored if row["n"] > 1)
    repeats = PaymentNotification.objects.filter(order_id__in=notified, state="duplicate").count()
    unpaid = attempts.exclude(invoice__status="paid").count()
    ok = settled == len(notified) and unpaid == 0 and lines == coverage and dup_rows == 0
    print(
        f"money check ({time.monotonic() - began:.1f} s after the burst): {settled}/{len(notified)} notified "
        f"orders settled, {unpaid} invoices not paid, coverage rows {coverage} for {lines} paid lines, "
        f"{repeats} repeats kept as duplicates, {dup_rows} orders acted on twice -> {'OK' if ok else 'FAILED'}"
    )
    return ok


def report(samples, statuses, elapsed, args):
    def pct(values, q):
        values = sorted(values)
        return values[min(len(values) - 1, int(q * len(values)))] * 1000

    trivial = samples.get("healthz (trivial)")
    base50, base99 = (pct(trivial, 0.5), pct(trivial, 0.99)) if trivial else (None, None)
    total = sum(len(v) for v in samples.values())
    mode = f"open loop, offered {args.rate:g} req/s" if args.rate else f"closed loop, {args.concurrency} clients"
    print(
        f"\npayday load: {elapsed:.1f} s, {mode}, {' '.join(gunicorn_cmd(args, 0)[3:])}, "
        f"Celery prefork x {args.celery_workers}; {total} requests, {total / elapsed:.0f} req/s total; "
        f"load average {open('/proc/loadavg').read().split()[0]}"
    )
    print(f"{'endpoint':22} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'p50/triv':>9} {'p99/triv':>9}  statuses")
    for label, *_ in MIX:
        values = samples.get(label)
        if not values:
            continue
        p50, p99 = pct(values, 0.5), pct(values, 0.99)
        r50 = f"{p50 / base50:.1f}x" if base50 else "-"
        r99 = f"{p99 / base99:.1f}x" if base99 else "-"
        codes = ", ".join(f"{k}:{v}" for k, v in sorted(statuses[label].items(), key=str))
        print(f"{label:22} {len(values) / elapsed:7.0f} {p50:8.1f} {p99:8.1f} {r50:>9} {r99:>9}  {codes}")
    p99s = {label: pct(values, 0.99) for label, values in samples.items() if values}
    worst = max(p99s, key=p99s.get) if p99s else None
    met = bool(p99s) and p99s[worst] < args.slo_ms
    print(
        f"SLO every route's p99 < {args.slo_ms:g} ms ({mode}): {'MET' if met else 'NOT MET'}"
        + (f" (worst: {worst} {p99s[worst]:.0f} ms)" if worst else "")
    )
    return {
        "mode": mode,
        "requests": total,
        "served": total / elapsed,
        "worst": worst,
        "worst_p99": p99s.get(worst, 0.0),
        "met": met,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=3, help="seconds of load before timing starts")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=0, help="gunicorn worker processes (default: gunicorn.conf.py)")
    parser.add_argument(
        "--threads", type=int, default=0, help="threads per gunicorn worker (default: gunicorn.conf.py)"
    )
    parser.add_argument(
        "--rate",
        default="0",
        help="open loop: requests per second offered, or several comma-separated run in turn (0: closed loop)",
    )
    parser.add_argument(
        "--gunicorn",
        default="",
        help="comma-separated gunicorn shapes WORKERSxTHREADS to run in turn on the same data, e.g. 2x8,4x2",
    )
    parser.add_argument(
        "--per-route", type=int, default=0, help="first time each read route N times in process (CPU and wall ms)"
    )
    parser.add_argument(
        "--keep-data",
        action="store_true",
        help="reuse the database an earlier run seeded and billed (skips the minutes of migrate + seed)",
    )
    parser.add_argument("--slo-ms", type=float, default=300, help="p99 target per route for the SLO line")
    parser.add_argument("--celery-workers", type=int, default=1, help="prefork processes of the Celery worker")
    parser.add_argument("--broker-url", default=os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/4"))
    parser.add_argument("--sponsors", type=int, default=300)
    parser.add_argument("--workers-seed", type=int, default=900, help="informal workers in the demo regency")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pengampu_bench"),
    )
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/3"))
    args = parser.parse_args()
    if "127.0.0.1" not in args.database_url and "localhost" not in args.database_url:
        sys.exit("loopback only: DATABASE_URL must point at 127.0.0.1")
    env = django_env(args)
    print("preparing database …", flush=True)
    users = prepare(args, env)
    labels = existing_routes()
    if args.per_route:
        per_route_cost(users, labels, args.per_route)
    shapes = [tuple(int(x) for x in shape.lower().split("x")) for shape in args.gunicorn.split(",") if shape]
    rates = [float(rate) for rate in str(args.rate).split(",") if rate]
    ok, summary = True, []
    for shape in shapes or [None]:
        for rate in rates or [0.0]:
            args.shape, args.rate = shape, rate
            run_ok, slo = run_one(args, env, users, labels)
            ok = run_ok and ok
            summary.append((shape, slo))
    if len(summary) > 1:
        print(f"\nsummary (SLO: every route's p99 < {args.slo_ms:g} ms):")
        for shape, slo in summary:
            where = f"gunicorn {shape[0]}x{shape[1]}, " if shape else ""
            print(
                f"  {where}{slo['mode']}: served {slo['served']:.0f} req/s, worst p99 {slo['worst_p99']:.0f} ms "
                f"({slo['worst']}) -> {'MET' if slo['met'] else 'NOT MET'}"
            )
    sys.exit(0 if ok else 1)


def run_one(args, env, users, labels) -> tuple[bool, dict]:
    port = free_port()
    server, worker, sim = start_server(args, env, port)
    try:
        # Warm-up (not reported): every gunicorn thread opens its DB connection and imports lazily.
        _, _, _, warm_notified = run_load(args, port, users, labels, sim.base_url, args.warmup)
        with WaitSampler(args.database_url) as waits:
            samples, statuses, elapsed, notified = run_load(args, port, users, labels, sim.base_url, args.duration)
        notified |= warm_notified
        slo = report(samples, statuses, elapsed, args)
        waits.report()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=40)  # graceful: in-flight requests and keep-alive connections end first
        except subprocess.TimeoutExpired:
            server.kill()
        return check_money(notified), slo
    finally:
        if server.poll() is None:
            server.kill()
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
        sim.stop()


if __name__ == "__main__":
    main()
