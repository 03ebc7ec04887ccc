"""Signed Midtrans notifications posted concurrently to the webhook under gunicorn on PostgreSQL.

    python bench/notifications_http.py [--orders 1000] [--concurrency 16] [--workers 3]

Setup: N invoices, each opened at the local simulator through the real midtransclient and paid there.
Then each order's signed settlement notification is posted once (plus 10% duplicates) concurrently;
every one is confirmed with the simulator's status API. Prints throughput, p50/p99, and checks that
nothing was lost or duplicated (one settled attempt and one coverage set per order). Baseline in the
same run: a trivial request on the same server (GET on the webhook URL → 405, no database).
"""
import argparse
import datetime as dt
import json
import os
import random
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from _setup import BENCH_DB, ROOT, django_setup, median

KEY = "SB-Mid-server-TEST"  # backend.settings.test


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fire(url, bodies, concurrency, method="post"):
    import requests
    sessions = {}

    def one(body):
        import threading
        s = sessions.setdefault(threading.get_ident(), requests.Session())
        s.trust_env = False
        t = time.perf_counter()
        r = s.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=30) if method == "post" \
            else s.get(url, timeout=30)
        return time.perf_counter() - t, r.status_code
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(one, bodies))
    wall = time.perf_counter() - started
    lat = sorted(r[0] for r in results)
    codes = {}
    for _, c in results:
        codes[c] = codes.get(c, 0) + 1
    return {"n": len(bodies), "rps": len(bodies) / wall, "p50_ms": median(lat) * 1000,
            "p99_ms": lat[int(len(lat) * 0.99) - 1] * 1000, "codes": codes}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=3)
    args = parser.parse_args()
    django_setup()
    from django.conf import settings
    from django.db import transaction

    from sponsorship.gateways.midtrans import MidtransGateway
    from sponsorship.models import (AuditLog, CoverageMonth, CreditEntry, Invoice, InvoiceLine, PaymentAttempt,
                                    PaymentNotification)
    from sponsorship.services.billing import billing_run
    from sponsorship.services.payments import payment_start

    # The simulator runs in its own process (as under dev.py), so the load generator's threads do not share its GIL.
    sim_port = free_port()
    sim_proc = subprocess.Popen([sys.executable, "-m", "simulators.midtrans", "--host", "127.0.0.1", "--port",
                                 str(sim_port), "--server-key", KEY], cwd=ROOT, stdout=subprocess.DEVNULL)

    class sim:  # noqa: N801 - the two attributes used below
        base_url = f"http://127.0.0.1:{sim_port}"

        @staticmethod
        def stop():
            sim_proc.terminate()
            sim_proc.wait(10)
    import requests as _r
    for _ in range(100):
        try:
            _r.get(sim.base_url + "/_sim/health", timeout=1)
            break
        except _r.RequestException:
            time.sleep(0.1)
    settings.MIDTRANS_API_BASE_URL = sim.base_url
    settings.PUBLIC_BASE_URL = ""
    with transaction.atomic():
        CoverageMonth.objects.all().delete()
        PaymentNotification.objects.all().delete()
        PaymentAttempt.objects.all().delete()
        CreditEntry.objects.all().delete()
        InvoiceLine.objects.all().delete()
        Invoice.objects.all().delete()
        AuditLog.objects.filter(action__startswith="payment").delete()
    billing_run(period=dt.date(2027, 2, 1), notify=False)
    invoices = list(Invoice.objects.order_by("pk")[: args.orders])
    t = time.perf_counter()
    import requests
    http = requests.Session()
    http.trust_env = False
    orders = []
    for invoice in invoices:
        attempt = payment_start(invoice=invoice).attempt
        http.post(f"{sim.base_url}/_sim/pay", json={"order_id": attempt.order_id, "method": "bca_va"}, timeout=10)
        orders.append(attempt.order_id)
    gateway = MidtransGateway()
    bodies = []
    for order_id in orders:
        raw = dict(gateway.get_status(order_id).raw)
        raw.update(status_message="midtrans payment notification", status_code="200")
        from sponsorship.gateways.midtrans import signature
        raw["signature_key"] = signature(order_id, "200", raw["gross_amount"], KEY)
        bodies.append(json.dumps(raw))
    bodies += random.sample(bodies, len(bodies) // 10)  # duplicates, as Midtrans sends them
    random.shuffle(bodies)
    print(f"setup: {len(orders)} paid orders at the simulator in {time.perf_counter() - t:.1f} s; "
          f"{len(bodies)} notifications to send ({len(bodies) - len(orders)} duplicates)")

    port = free_port()
    # Production-like: DEBUG off, Celery not eager (receipts go to the outbox; sending is a worker's job).
    env = {**os.environ, "DATABASE_URL": BENCH_DB, "DJANGO_SETTINGS_MODULE": "backend.settings.dev", "DEBUG": "false",
           "MIDTRANS_SERVER_KEY": KEY, "CELERY_TASK_ALWAYS_EAGER": "false", "CELERY_BROKER_URL": "memory://",
           "MIDTRANS_API_BASE_URL": sim.base_url, "DB_CONN_MAX_AGE": "60", "LOG_LEVEL": "WARNING"}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "backend.wsgi", "-b", f"127.0.0.1:{port}",
                               "-w", str(args.workers), "-k", "gthread", "--threads", "4", "--log-level", "warning"],
                              cwd=ROOT, env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if requests.get(base + "/api/v1/payments/midtrans/notification/", timeout=1).status_code == 405:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        url = base + "/api/v1/payments/midtrans/notification/"
        fire(url, [""] * 200, args.concurrency, method="get")  # warm up
        baseline = fire(url, [""] * len(bodies), args.concurrency, method="get")
        result = fire(url, bodies, args.concurrency)
    finally:
        server.terminate()
        server.wait(10)
        sim.stop()
    settled = PaymentAttempt.objects.filter(order_id__in=orders, status="settled").count()
    coverage = CoverageMonth.objects.count()
    expected_cov = InvoiceLine.objects.filter(invoice__in=invoices).count()
    print(f"webhook: {result['n']} posts, concurrency {args.concurrency}, gunicorn {args.workers}×4 threads: "
          f"{result['rps']:.0f}/s, p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, codes {result['codes']}")
    print(f"baseline trivial endpoint: {baseline['rps']:.0f}/s, p50 {baseline['p50_ms']:.1f} ms, "
          f"p99 {baseline['p99_ms']:.1f} ms; ratio webhook/baseline throughput = {result['rps'] / baseline['rps']:.2f}")
    print(f"integrity: {settled}/{len(orders)} attempts settled, {coverage}/{expected_cov} coverage rows, "
          f"credits {CreditEntry.objects.count()} (must be 0), notifications stored {PaymentNotification.objects.count()}")


if __name__ == "__main__":
    main()
