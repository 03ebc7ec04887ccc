"""Signed Midtrans notifications posted concurrently to the webhook under gunicorn on PostgreSQL.

    python bench/notifications_http.py [--orders 1000] [--concurrency 16] [--workers N] [--threads N]
                                       [--celery-workers 2] [--worker-start during|after] [--redis-db 14]

Setup: N invoices, each opened at the local simulator (its own process) through the real midtransclient
and paid there; each order's signed settlement notification is built from the simulator's status record.
Then every notification is posted once, plus 10 % duplicates, shuffled, by C keep-alive connections.

Two phases are measured separately, because the webhook only *accepts* (verify + store, 200) and the
settlement happens in a Celery task after commit:
  - acceptance: requests/s and p50/p99 latency as seen by the client, all codes;
  - processing: a real Celery worker (prefork) against Redis db 14 consumes the tasks, each confirming with
    the simulator's status API and settling; we time until every distinct notification is `processed`.
    `--worker-start during` runs the worker through the burst (it competes for the same cores);
    `after` starts it once the burst is over (acceptance alone, then the drain).
Baseline on the same server and client: a trivial request (GET / → 302 redirect: the whole middleware stack,
no database, nothing logged).
Integrity: every POST stored, each distinct notification once (dedupe key), one settled attempt and one
coverage set per order, no credit and no refund case (a duplicate never pays twice), nothing failed.

The load generator is a minimal asyncio HTTP/1.1 client (pre-encoded requests, persistent connections),
so that on a 2-core machine the client costs little of the CPU the server needs.
"""

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time

from _setup import BENCH_DB, ROOT, child_pids, cpu_seconds, django_setup, ensure_bench_sponsors, gunicorn_config, median

KEY = "SB-Mid-server-TEST"  # backend.settings.test
PATH = "/api/v1/payments/midtrans/notification/"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, ok, timeout=30):
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if ok(requests.get(url, timeout=1)):
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


# ---- load generator ------------------------------------------------------------------------------------
def encode(method: str, body: bytes, port: int, path: str = PATH) -> bytes:
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: Veritrans\r\n"
        f"Accept: application/json\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _read_response(reader) -> tuple[int, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    code = int(lines[0].split(" ")[1])
    headers = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:] if ":" in ln)}
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding") == "chunked":
        while True:
            size = int((await reader.readline()).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return code, headers.get("connection", "").lower() == "close"


async def _blast(port: int, requests: list[bytes], concurrency: int):
    pending = iter(range(len(requests)))
    results = [None] * len(requests)

    async def connection_loop():
        reader = writer = None
        for i in pending:
            for attempt in range(3):
                try:
                    if writer is None:
                        reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    t = time.perf_counter()
                    writer.write(requests[i])
                    code, close = await _read_response(reader)
                    results[i] = (time.perf_counter() - t, code)
                    if close:
                        writer.close()
                        reader = writer = None
                    break
                except (ConnectionError, asyncio.IncompleteReadError):
                    if writer is not None:
                        writer.close()
                    reader = writer = None
                    if attempt == 2:
                        results[i] = (0.0, 599)
        if writer is not None:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection_loop() for _ in range(concurrency)))
    return time.perf_counter() - started, results


def fire(port, requests, concurrency):
    wall, results = asyncio.run(_blast(port, requests, concurrency))
    lat = sorted(r[0] for r in results)
    codes = {}
    for _, c in results:
        codes[c] = codes.get(c, 0) + 1
    return {
        "n": len(requests),
        "wall_s": wall,
        "rps": len(requests) / wall,
        "p50_ms": median(lat) * 1000,
        "p99_ms": lat[max(int(len(lat) * 0.99) - 1, 0)] * 1000,
        "max_ms": lat[-1] * 1000,
        "codes": codes,
    }


def fmt(r):
    return (
        f"{r['rps']:.0f}/s, p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, max {r['max_ms']:.0f} ms, "
        f"codes {r['codes']}"
    )


# ---- the bench -----------------------------------------------------------------------------------------
def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--workers", type=int, default=None, help="gunicorn worker processes (default: backend/gunicorn.conf.py)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="gthread threads per gunicorn worker (default: backend/gunicorn.conf.py)",
    )
    parser.add_argument("--celery-workers", type=int, default=2, help="prefork processes of the Celery worker")
    parser.add_argument("--worker-start", choices=["during", "after"], default="during")
    parser.add_argument(
        "--worker-nice",
        type=int,
        default=0,
        help="run the Celery worker at this nice level (e.g. 10: processing yields the CPU to "
        "the web processes, as a deployment sharing cores with the web would configure it)",
    )
    parser.add_argument("--redis-db", type=int, default=14)
    parser.add_argument("--drain-timeout", type=float, default=300)
    parser.add_argument("--warmup", type=int, default=48, help="orders whose notifications warm the server up")
    args = parser.parse_args()
    django_setup()
    import redis
    import requests
    from django.conf import settings
    from django.db import transaction

    from sponsorship.billing.gateways.midtrans import MidtransGateway, signature
    from sponsorship.billing.models import (
        CoverageMonth,
        CreditEntry,
        Invoice,
        InvoiceLine,
        PaymentAttempt,
        PaymentNotification,
        RefundCase,
    )
    from sponsorship.billing.services.billing import billing_run
    from sponsorship.billing.services.checkout import payment_start
    from sponsorship.core.models import AuditLog

    broker = f"redis://127.0.0.1:6379/{args.redis_db}"
    redis.Redis.from_url(broker).flushdb()  # our own bench db only: no task left over from an earlier run

    # The simulator runs in its own process (as under dev.py), so the load generator does not share its GIL.
    sim_port = free_port()
    sim_url = f"http://127.0.0.1:{sim_port}"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "simulators.midtrans",
                "--host",
                "127.0.0.1",
                "--port",
                str(sim_port),
                "--server-key",
                KEY,
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
    ]
    worker = None
    try:
        wait_http(sim_url + "/_sim/health", lambda r: r.status_code == 200)
        settings.MIDTRANS_API_BASE_URL = sim_url
        settings.PUBLIC_BASE_URL = ""
        with transaction.atomic():
            CoverageMonth.objects.all().delete()
            PaymentNotification.objects.all().delete()
            RefundCase.objects.all().delete()
            CreditEntry.objects.all().delete()
            PaymentAttempt.objects.all().delete()
            InvoiceLine.objects.all().delete()
            Invoice.objects.all().delete()
            AuditLog.objects.filter(action__startswith="payment").delete()
        ensure_bench_sponsors(args.orders)  # an empty bench database fills itself (bench/billing.py uses 14,000)
        billing_run(period=__import__("datetime").date(2027, 2, 1), notify=False)
        invoices = list(Invoice.objects.order_by("pk")[: args.orders])
        t = time.perf_counter()
        http = requests.Session()
        http.trust_env = False
        orders = []
        for invoice in invoices:
            attempt = payment_start(invoice=invoice).attempt
            http.post(f"{sim_url}/_sim/pay", json={"order_id": attempt.order_id, "method": "bca_va"}, timeout=10)
            orders.append(attempt.order_id)
        gateway = MidtransGateway()
        bodies = []
        for order_id in orders:
            raw = dict(gateway.get_status(order_id).raw)
            raw.update(status_message="midtrans payment notification", status_code="200")
            raw["signature_key"] = signature(order_id, "200", raw["gross_amount"], KEY)
            bodies.append(json.dumps(raw).encode())
        # The first few orders warm the server up (a DB connection and the wake-up thread per gunicorn worker);
        # they are not timed but are checked with the rest.
        warm, bodies = bodies[: args.warmup], bodies[args.warmup :]
        duplicates = random.sample(bodies, len(bodies) // 10)  # as Midtrans sends them
        bodies += duplicates
        random.shuffle(bodies)
        expected_cov = InvoiceLine.objects.filter(invoice__in=invoices).count()
        print(
            f"setup: {len(orders)} paid orders at the simulator in {time.perf_counter() - t:.1f} s; "
            f"{len(warm)} sent to warm up, then {len(bodies)} timed ({len(duplicates)} duplicates)"
        )

        port = free_port()
        gunicorn_flags, gunicorn_text = gunicorn_config(args.workers, args.threads)
        # Production-like: DEBUG off, persistent DB connections, Celery through Redis (not eager).
        env = {
            **os.environ,
            "DATABASE_URL": BENCH_DB,
            "DJANGO_SETTINGS_MODULE": "backend.settings.dev",
            "DEBUG": "false",
            "MIDTRANS_SERVER_KEY": KEY,
            "MIDTRANS_NOTIFICATION_RATE_PER_MINUTE": "100000000",  # the whole burst comes from one address
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "CELERY_BROKER_URL": broker,
            "MIDTRANS_API_BASE_URL": sim_url,
            "DB_CONN_MAX_AGE": "600",
            "LOG_LEVEL": "ERROR",
            "PYTHONUNBUFFERED": "1",
        }
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "gunicorn", *gunicorn_flags, "backend.wsgi", "-b", f"127.0.0.1:{port}"],
                cwd=ROOT,
                env=env,
            )
        )

        def start_worker():
            nice = ["nice", "-n", str(args.worker_nice)] if args.worker_nice else []
            return subprocess.Popen(
                [
                    *nice,
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
                stdout=subprocess.DEVNULL,
            )

        wait_http(f"http://127.0.0.1:{port}{PATH}", lambda r: r.status_code == 405)
        if args.worker_start == "during":
            worker = start_worker()
            time.sleep(3)  # let it connect to Redis before the burst
        trivial = encode("GET", b"", port, "/")  # the root URL: a redirect, no database, no logging
        fire(port, [trivial] * 300, args.concurrency)  # warm up every gunicorn thread
        fire(port, [encode("POST", b, port) for b in warm], args.concurrency)
        time.sleep(1)
        load_before = os.getloadavg()[0]
        server_pids = child_pids(procs[-1].pid)
        cpu0 = cpu_seconds(server_pids)
        baseline = fire(port, [trivial] * len(bodies), args.concurrency)
        cpu1 = cpu_seconds(server_pids)
        burst_started = time.perf_counter()
        result = fire(port, [encode("POST", b, port) for b in bodies], args.concurrency)
        burst_ended = time.perf_counter()
        cpu2 = cpu_seconds(server_pids)
        load_burst = os.getloadavg()[0]
        accepted_unprocessed = PaymentNotification.objects.filter(dedupe_key__isnull=False, state="received").count()
        if worker is None:
            worker = start_worker()
        first = PaymentNotification.objects.filter(dedupe_key__isnull=False)
        deadline = time.monotonic() + args.drain_timeout
        while time.monotonic() < deadline:
            if first.exclude(state__in=["processed", "failed"]).count() == 0:
                break
            time.sleep(0.05)
        drained = time.perf_counter()
        load_drain = os.getloadavg()[0]
    finally:
        for proc in ([worker] if worker else []) + procs[::-1]:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()

    states = dict(first.values_list("state").annotate(n=__import__("django").db.models.Count("id")))
    settled = PaymentAttempt.objects.filter(order_id__in=orders, status="settled").count()
    coverage = CoverageMonth.objects.count()
    stored = PaymentNotification.objects.count()
    dup_rows = PaymentNotification.objects.filter(state="duplicate").count()
    lean = "off" if os.environ.get("LEAN_PATHS") == "false" else "on"
    print(
        f"server: {gunicorn_text}, PostgreSQL, DEBUG off, lean paths {lean}, "
        f"wake-up window {settings.PAYMENT_WAKEUP_WINDOW_MS} ms; client: "
        f"{args.concurrency} keep-alive connections; Celery: prefork × {args.celery_workers}, Redis db "
        f"{args.redis_db}, worker {args.worker_start} the burst"
        f"{f', nice {args.worker_nice}' if args.worker_nice else ''}"
    )
    print(
        f"baseline trivial endpoint (GET / → 302): {fmt(baseline)}; "
        f"gunicorn CPU {(cpu1 - cpu0) / baseline['n'] * 1000:.2f} ms/request"
    )
    print(
        f"webhook acceptance: {result['n']} signed POSTs: {fmt(result)}; "
        f"gunicorn CPU {(cpu2 - cpu1) / result['n'] * 1000:.2f} ms/request; "
        f"ratio webhook/baseline throughput = {result['rps'] / baseline['rps']:.2f}"
    )
    print(
        f"processing: {accepted_unprocessed} of {len(orders)} still queued when the burst ended; all "
        f"{len(orders)} settled {drained - burst_started:.1f} s after the burst started "
        f"({drained - burst_ended:.1f} s after it ended; {len(orders) / (drained - burst_started):.0f} settlements/s "
        f"end to end); states of the distinct notifications {states}"
    )
    ok = (
        settled == len(orders)
        and coverage == expected_cov
        and stored == len(warm) + len(bodies)
        and dup_rows == len(duplicates)
        and states == {"processed": len(orders)}
        and not CreditEntry.objects.exists()
        and not RefundCase.objects.exists()
    )
    print(
        f"integrity: {settled}/{len(orders)} attempts settled, {coverage}/{expected_cov} coverage rows, "
        f"{stored}/{len(warm) + len(bodies)} notifications stored ({dup_rows} duplicates), credits "
        f"{CreditEntry.objects.count()}, refund cases {RefundCase.objects.count()} → {'OK' if ok else 'FAILED'}"
    )
    print(
        f"load average (1 min): {load_before:.2f} before, {load_burst:.2f} after the burst, {load_drain:.2f} "
        f"after the drain ({os.cpu_count()} cores)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
