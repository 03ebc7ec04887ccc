#!/usr/bin/env python3
"""Server-side CPU of one request, in process, through the real WSGI application (backend.wsgi), no network.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pengampu_perf_dash \\
        /work/main/.venv/bin/python bench/profile_request.py status [--n 2000] [--profile]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pengampu_perf_bench \\
        /work/main/.venv/bin/python bench/profile_request.py webhook [--n 2000] [--profile]

Prints the median and p99 wall time per request (one thread, so ≈ CPU + the database round trips) for the
endpoint and for the trivial endpoint of the same bench (GET / for the webhook bench, GET /healthz for the
dashboard bench), and with --profile the top functions by cumulative time under cProfile.
`webhook` posts signed notifications for orders that do not exist (stored, answered 404 `unknown_order`):
the same verify + one-statement store as an accepted notification, without touching real orders; the rows
(order ids PROFILE-…) are deleted at the end. Do not point it at a database a running bench is using.
The endpoint is timed both through the whole middleware stack and through the lean path (backend/lean.py), in
interleaved blocks; `--full` leaves the lean path out (and profiles the whole stack).
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
KEY = "SB-Mid-server-TEST"


def environ(method, path, headers=None, body=b""):
    env = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
        "HTTP_HOST": "127.0.0.1:8000",
        "CONTENT_LENGTH": str(len(body)),
    }
    if body:
        env["CONTENT_TYPE"] = "application/json"
    for k, v in (headers or {}).items():
        env["HTTP_" + k.upper().replace("-", "_")] = v
    return env


def call(app, env):
    status = []
    body = b"".join(app(env, lambda s, h, exc_info=None: status.append(s)))
    return int(status[0].split()[0]), body


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", choices=["status", "webhook"])
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--profile", action="store_true")
    p.add_argument("--full", action="store_true", help="only the whole middleware stack (LEAN_PATHS=false)")
    p.add_argument("--top", type=int, default=30)
    args = p.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.dev")
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("DB_CONN_MAX_AGE", "600")
    os.environ.setdefault("THROTTLE_USER", "10000000/min")
    os.environ.setdefault("JWT_ACCESS_MINUTES", "240")
    os.environ.setdefault("MIDTRANS_SERVER_KEY", KEY)
    os.environ.setdefault("MIDTRANS_NOTIFICATION_RATE_PER_MINUTE", "100000000")  # one address sends everything
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "false")
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    if args.full:
        os.environ["LEAN_PATHS"] = "false"
    import logging

    from backend.wsgi import application

    logging.disable(logging.WARNING)  # the 404s of unknown orders would log "Not Found" (accepted ones do not)

    if args.what == "status":
        from rest_framework_simplejwt.tokens import RefreshToken

        from sponsorship.people.models import Worker

        access = [
            str(RefreshToken.for_user(w.user).access_token)
            for w in Worker.objects.filter(user__isnull=False).select_related("user")[:2000]
        ]
        if not access:
            sys.exit("no worker with a user in this database: run bench/dashboard.py first")

        def make(i):
            return environ("GET", "/api/v1/worker/status/", {"Authorization": f"Bearer {access[i % len(access)]}"})

        trivial = lambda i: environ("GET", "/healthz")  # noqa: E731
        expect = 200
    else:
        from django.conf import settings as django_settings

        from sponsorship.billing.gateways.midtrans import signature
        from sponsorship.billing.services import webhook

        webhook._enqueue = lambda ids: None  # unknown orders are never enqueued anyway

        def make(i):
            order = f"{django_settings.MIDTRANS_ORDER_PREFIX}-PROFILE-{uuid.uuid4().hex[:12]}"  # ours, unknown
            body = {
                "order_id": order,
                "status_code": "200",
                "gross_amount": "50400.00",
                "transaction_status": "settlement",
                "transaction_id": str(uuid.uuid4()),
                "payment_type": "bank_transfer",
                "fraud_status": "accept",
                "signature_key": signature(order, "200", "50400.00", os.environ["MIDTRANS_SERVER_KEY"]),
            }
            return environ(
                "POST",
                "/api/v1/payments/midtrans/notification/",
                {"User-Agent": "Veritrans"},
                json.dumps(body).encode(),
            )

        trivial = lambda i: environ("GET", "/")  # noqa: E731
        expect = 404

    from django.conf import settings

    def one_block(make_env, expected, start, count):
        envs = [make_env(start + i) for i in range(count)]
        times = []
        cpu0 = time.process_time()
        for env in envs:
            t = time.perf_counter()
            code, body = call(application, env)
            times.append((time.perf_counter() - t) * 1000)
            assert code == expected, (code, body[:300])
        return times, time.process_time() - cpu0

    # Interleaved blocks (trivial, whole stack, lean, trivial, ...) so that the neighbours' load on a shared
    # machine hits the three alike; the lean/whole difference is the figure to read.
    trivial_name = "trivial (GET /healthz)" if args.what == "status" else "trivial (GET /)"
    modes = [
        (trivial_name, trivial, 200 if args.what == "status" else 302, None),
        (f"{args.what}, whole middleware stack", make, expect, False),
        (f"{args.what}, lean path", make, expect, True),
    ]
    if args.full:
        modes = modes[:2]
    for _name, make_env, expected, lean in modes:  # warm-up
        settings.LEAN_PATHS = True if lean is None else lean
        one_block(make_env, expected, 0, 50)
    results = {name: ([], 0.0) for name, *_ in modes}
    block = 100
    for start in range(0, args.n, block):
        for name, make_env, expected, lean in modes:
            settings.LEAN_PATHS = True if lean is None else lean
            times, cpu = one_block(make_env, expected, start, min(block, args.n - start))
            results[name] = (results[name][0] + times, results[name][1] + cpu)
    for name, (times, cpu) in results.items():
        times.sort()
        n = len(times)
        print(
            f"{name:<40} n={n}  median {statistics.median(times):.3f} ms  p99 {times[int(0.99 * n) - 1]:.3f} ms"
            f"  process CPU {cpu / n * 1000:.3f} ms/request",
            flush=True,
        )
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    settings.LEAN_PATHS = not args.full
    if args.what == "webhook":  # what this tool stored: rows of orders that do not exist
        from sponsorship.billing.models import PaymentNotification

        PaymentNotification.objects.filter(order_id__startswith="PROFILE-").delete()
    if args.profile:
        envs = [make(i) for i in range(args.n)]
        prof = cProfile.Profile()
        prof.enable()
        for env in envs:
            call(application, env)
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats(os.environ.get("PROFILE_SORT", "cumulative")).print_stats(args.top)
        print(out.getvalue())
        if args.what == "webhook":
            PaymentNotification.objects.filter(order_id__startswith="PROFILE-").delete()


if __name__ == "__main__":
    main()
