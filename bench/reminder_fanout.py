"""End-to-end reminder fan-out: outbox rows -> send tasks -> K sender processes -> firebase-admin -> fake FCM.

    python bench/reminder_fanout.py                                  # N=14,000, senders 1,2,3,4, 3 repeats
    python bench/reminder_fanout.py --n 2000 --senders 2 --repeats 1 --provider 500x1,250x2,100x4
    python bench/reminder_fanout.py --mode celery --senders 2       # real Celery workers, Redis db 13

Database: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/pengampu_pnotif_bench), created
and migrated on first use; nothing else is touched. The fake FCM runs in its own process, as FCM would.

Setup (untimed): N sponsor users with one Android token each; K sender processes started and warmed up
(Django, the firebase App, the OAuth token), as Celery workers are before the billing day.
Timed, in each repeat:
  raw       the fake's capacity: N pre-encoded POSTs with http.client, 32 threads, no SDK (the baseline,
            measured in every repeat of the same run)
  write     notify_bulk of N due-date reminders (dedupe, opt-out, language, quiet hours) + commit
  send      commit -> the send tasks the commit enqueued (500 rows each) -> K processes, each running the
            real task body (outbox_send: claim with SKIP LOCKED, send_each through FCMProvider, grouped
            UPDATEs) until every task is done
  total     write + send, i.e. from the scan's first statement to the last outcome recorded
Modes: `mp` (default) hands the enqueued tasks to K multiprocessing workers (Celery prefork, prefetch 1,
without the broker); `celery` runs `celery -A backend worker --concurrency K` on Redis db 13 and the
commit enqueues real Celery tasks.
Goal from issue 5: N=14,000 end to end in under 20 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pengampu_pnotif_bench")

from push_fanout import FCM_QUOTA_PER_MINUTE, NATIONAL_ASN, FakeProcess, run_raw  # noqa: E402

PREFIX = "bench-fanout-"
CELERY_BROKER = os.environ.get("BENCH_CELERY_BROKER", "redis://127.0.0.1:6379/13")


def daytime_zone() -> str:
    """A fixed-offset zone where it is 08:00-17:59 now, so no reminder is held for quiet hours
    (the bench users have no regency, so DEFAULT_REGENCY_TIMEZONE applies), whatever the wall clock."""
    utc_hour = dt.datetime.now(dt.UTC).hour
    offset = (12 - utc_hour + 12) % 24 - 12  # local noon-ish: -12..+11
    return f"Etc/GMT{'-' if offset >= 0 else '+'}{abs(offset)}"  # POSIX sign: Etc/GMT-7 is UTC+7


def _env(info: dict, chunk: int, concurrency: int, mode: str, pool: int = 0) -> dict:
    env = {
        "DEFAULT_REGENCY_TIMEZONE": daytime_zone(),
        "PUSH_PROVIDER": "fcm",
        "FCM_SERVICE_ACCOUNT": info["service_account_file"],
        "FCM_BASE_URL": info["base_url"],
        "FCM_APP_NAME": "bench-reminders",
        "FCM_CHUNK_SIZE": str(chunk),
        "FCM_MAX_CONCURRENCY": str(concurrency),
        "FCM_POOL_SIZE": str(pool or chunk * concurrency),
        "FCM_POOL_BLOCK": "true" if pool else "false",
        "NOTIFICATIONS_CONSOLE_WITHOUT_DEVICE": "false",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "backend.settings.dev",
    }
    if mode == "celery":
        env.update({"CELERY_BROKER_URL": CELERY_BROKER, "CELERY_TASK_ALWAYS_EAGER": "false"})
    else:
        env["CELERY_TASK_ALWAYS_EAGER"] = "true"
    return env


def setup(n: int):
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from notifications.models import Device

    User = get_user_model()
    cleanup()
    have = User.objects.filter(username__startswith=PREFIX).count()
    if have < n:
        User.objects.bulk_create([User(username=f"{PREFIX}{i}") for i in range(have, n)], batch_size=2000)
    users = list(User.objects.filter(username__startswith=PREFIX).order_by("pk").values_list("pk", flat=True)[:n])
    existing = set(Device.objects.filter(user_id__in=users).values_list("user_id", flat=True))
    now = timezone.now()
    Device.objects.bulk_create(
        [Device(user_id=u, token=f"{PREFIX}tok-{u}", last_seen_at=now) for u in users if u not in existing],
        batch_size=2000,
    )
    Device.objects.filter(user_id__in=users).update(active=True)
    return users


def cleanup():
    from django.db import connection

    from notifications.models import Notification

    Notification.objects.filter(dedupe_key__startswith=PREFIX).delete()
    with connection.cursor() as cursor:  # dead tuples from the last repeat would slow the next INSERT
        cursor.execute(f"VACUUM ANALYZE {Notification._meta.db_table}")


def write(users, now, tag):
    """What a reminder scan does: build the requests, notify_bulk, commit (which enqueues the sends)."""
    from django.db import transaction

    from notifications.services import NotifyRequest, batched_sends, notify_bulk

    due = (now + dt.timedelta(days=3)).date()
    expires = dt.datetime.combine(due + dt.timedelta(days=1), dt.time(0), tzinfo=now.tzinfo)
    requests = [
        NotifyRequest(
            user_id=u,
            kind="invoice_due_soon",
            dedupe_key=f"{PREFIX}{tag}:invoice:{u}:reminder:{now.date()}",
            context={"amount_idr": 50_400, "due_date": due, "workers": 3, "days": 3, "invoice_number": f"INV-{u}"},
            data={"invoice_id": str(u)},
            collapse_key=f"invoice-{u}",
            expires_at=expires,
        )
        for u in users
    ]
    with transaction.atomic(), batched_sends():
        return notify_bulk(requests, now=now)


# -- senders ------------------------------------------------------------------------------------------
def _sender(env, tasks, results):
    os.environ.update(env)
    import django
    from django.db import connections

    connections.close_all()  # forked: never reuse the parent's connection
    django.setup()
    from notifications.sending import outbox_send, push_provider

    push_provider()._ensure_access_token()  # the firebase App and OAuth token, once per process
    results.put(("ready", os.getpid()))
    while (ids := tasks.get()) is not None:
        cpu = sum(os.times()[:2])
        report = outbox_send(ids=ids)  # the body of notifications.tasks.send_notifications
        results.put(("done", report.sent, sum(os.times()[:2]) - cpu))  # CPU of all this process's threads


class MPSenders:
    """K prefork-style workers fed the tasks the commit enqueued (prefetch 1, like our Celery config)."""

    def __init__(self, k: int, env: dict):
        from django.db import connections

        connections.close_all()
        ctx = mp.get_context("fork")
        self.tasks, self.results = ctx.Queue(), ctx.Queue()
        self.procs = [ctx.Process(target=_sender, args=(env, self.tasks, self.results), daemon=True) for _ in range(k)]
        for p in self.procs:
            p.start()
        for _ in self.procs:
            assert self.results.get(timeout=120)[0] == "ready"
        self.enqueued = 0

    def enqueue(self, ids):
        from notifications.services import SEND_TASK_CHUNK

        for start in range(0, len(ids), SEND_TASK_CHUNK):
            self.tasks.put(ids[start : start + SEND_TASK_CHUNK])
            self.enqueued += 1

    def wait(self, n_rows: int) -> int:
        sent, self.cpu = 0, 0.0
        for _ in range(self.enqueued):
            _, task_sent, cpu = self.results.get(timeout=600)
            sent += task_sent
            self.cpu += cpu
        self.enqueued = 0
        return sent

    def close(self):
        for _ in self.procs:
            self.tasks.put(None)
        for p in self.procs:
            p.join(timeout=30)


class CelerySenders:
    """`celery -A backend worker --concurrency K` on Redis db 13; the commit enqueues real tasks."""

    cpu = None  # the worker's children are not ours to measure

    def __init__(self, k: int, env: dict):
        import redis

        redis.Redis.from_url(CELERY_BROKER).flushdb()  # db 13 is the bench's own
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "backend",
                "worker",
                "--concurrency",
                str(k),
                "--pool",
                "prefork",
                "-l",
                "warning",
                "-Q",
                "celery",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._warm(k)

    def _warm(self, k: int):
        """One warm-up task per process: Django, firebase App and OAuth token ready before timing."""
        from notifications.tasks import send_notifications

        deadline = time.time() + 120
        for _ in range(k * 2):
            send_notifications.delay(ids=[])
        r = __import__("redis").Redis.from_url(CELERY_BROKER)
        while r.llen("celery") and time.time() < deadline:
            time.sleep(0.2)
        time.sleep(2)

    def enqueue(self, ids):  # the real path: services.enqueue_send -> send_notifications.delay
        from notifications import services

        services._real_enqueue_send(ids)

    def wait(self, n_rows: int) -> int:
        from notifications.models import Notification

        qs = Notification.objects.filter(dedupe_key__startswith=PREFIX)
        while qs.filter(status__in=["pending", "sending"]).exists():
            time.sleep(0.02)
        return qs.filter(status="sent").count()

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


# -- driver -------------------------------------------------------------------------------------------------
def _load():
    return os.getloadavg()[0]


def _lock_database() -> None:
    """Two runs on one database would delete each other's rows: hold a session advisory lock."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtext('bench/reminder_fanout'))")
        if not cursor.fetchone()[0]:
            sys.exit("another reminder_fanout run is using this database; wait for it to finish")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=14_000)
    parser.add_argument("--senders", default="1,2,3,4", help="sender process counts to compare")
    parser.add_argument(
        "--provider",
        default="500x1x32",
        help="CHUNK x IN_FLIGHT[ x POOL] per process, comma-separated: FCM_CHUNK_SIZE, "
        "FCM_MAX_CONCURRENCY and, when given, FCM_POOL_SIZE with FCM_POOL_BLOCK=true",
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--mode", choices=["mp", "celery"], default="mp")
    args = parser.parse_args()
    senders = [int(k) for k in args.senders.split(",")]
    providers = [(tuple(int(x) for x in p.split("x")) + (0,))[:3] for p in args.provider.split(",")]
    n = args.n

    with FakeProcess() as fake:
        info = fake.info
        from _setup import cpu_seconds, django_setup

        os.environ.update(_env(info, providers[0][0], providers[0][1], args.mode, providers[0][2]))
        django_setup("backend.settings.dev")
        from django.utils import timezone

        from notifications import services
        from notifications.models import Notification

        _lock_database()
        users = setup(n)
        print(
            f"n={n:,} repeats={args.repeats} mode={args.mode} cpus={os.cpu_count()} "
            f"python={sys.version.split()[0]} load={_load():.2f} fake={info['base_url']} (own process) "
            f"db={os.environ['BENCH_DATABASE_URL'].rsplit('/', 1)[1]} zone={os.environ['DEFAULT_REGENCY_TIMEZONE']}",
            flush=True,
        )

        raw_times: list[float] = []
        rows = []  # (label, totals, writes, sends, loads)
        services._real_enqueue_send = services.enqueue_send
        for k in senders:
            for chunk, conc, pool in providers:
                env = _env(info, chunk, conc, args.mode, pool)
                shape = f"{chunk}x{conc}" + (f", pool {pool}" if pool else "")
                pool = (CelerySenders if args.mode == "celery" else MPSenders)(k, env)
                _lock_database()  # forking closed our connection, and the lock with it
                services.enqueue_send = pool.enqueue
                totals, writes, sends, loads, cpus = [], [], [], [], []
                try:
                    for rep in range(args.repeats):
                        fake.reset()
                        raw_times.append(run_raw(info, n, "httpclient"))  # the baseline, same run
                        fake.reset()
                        cleanup()
                        load = _load()
                        t0, c0 = time.perf_counter(), time.process_time()
                        ids = write(users, timezone.now(), tag=f"{k}-{chunk}x{conc}x{pool}-{rep}")
                        t1, c1, f1 = time.perf_counter(), time.process_time(), cpu_seconds([fake.proc.pid])
                        sent = pool.wait(len(ids))
                        t2, f2 = time.perf_counter(), cpu_seconds([fake.proc.pid])
                        cpus.append((c1 - c0, pool.cpu, f2 - f1))  # write, senders, fake: CPU seconds
                        accepted = fake.stats()["sent"]
                        assert len(ids) == n and sent == n and accepted == n, (len(ids), sent, accepted)
                        assert Notification.objects.filter(dedupe_key__startswith=PREFIX, status="sent").count() == n
                        writes.append(t1 - t0)
                        sends.append(t2 - t1)
                        totals.append(t2 - t0)
                        loads.append(load)
                        print(
                            f"  senders={k} provider={shape} repeat {rep + 1}: raw {raw_times[-1]:.2f} s, "
                            f"write {t1 - t0:.2f} s, send {t2 - t1:.2f} s, total {t2 - t0:.2f} s "
                            f"(load before {load:.2f}, after {_load():.2f})",
                            flush=True,
                        )
                finally:
                    pool.close()
                    services.enqueue_send = services._real_enqueue_send
                rows.append((f"{k} x ({shape})", totals, writes, sends, loads, cpus))
        cleanup()

    raw = statistics.median(raw_times)
    raw_rate = n / raw
    print(f"\nn={n:,}; medians over {args.repeats} repeats; mode={args.mode}")
    print(
        f"  baseline  fake raw capacity (http.client, 32 threads): median {raw:.2f} s = {raw_rate:,.0f} msg/s "
        f"(runs {' '.join(f'{t:.2f}' for t in raw_times)})"
    )
    print(
        f"  {'senders x (chunk x in flight, pool)':36s} {'write':>7s} {'send':>7s} {'total':>7s} {'msg/s':>7s} "
        f"{'send/raw':>8s} {'e2e/raw':>8s} {'load':>5s}  goal<20s"
    )
    best = None
    for label, totals, writes, sends, loads, _cpus in rows:
        total, w, s = statistics.median(totals), statistics.median(writes), statistics.median(sends)
        e2e_rate = n / total
        print(
            f"  {label:36s} {w:6.2f}s {s:6.2f}s {total:6.2f}s {e2e_rate:7,.0f} {n / s / raw_rate:8.2f} "
            f"{e2e_rate / raw_rate:8.2f} {statistics.median(loads):5.2f}  {'met' if total < 20 else 'missed'}"
        )
        if best is None or total < best[1]:
            best = (label, total, n / s)
    print(
        "  (msg/s = N / total; send/raw = send-phase rate / raw capacity; e2e/raw = N/total / raw capacity; "
        "load = 1-min load average before each timed write)"
    )
    print("\nCPU per message (medians; independent of other sessions' load, unlike the wall times):")
    for label, _totals, _writes, _sends, _loads, cpus in rows:
        w = statistics.median(c[0] for c in cpus) * 1000 / n
        f = statistics.median(c[2] for c in cpus) * 1000 / n
        if cpus[0][1] is None:
            print(f"  {label:36s} write {w:.3f} ms/row, fake {f:.3f} ms/msg (Celery workers: not measured)")
            continue
        snd = statistics.median(c[1] for c in cpus) * 1000 / n
        print(
            f"  {label:36s} write {w:.3f} ms/row, senders {snd:.3f} ms/msg, fake {f:.3f} ms/msg -> "
            f"{n * (w + snd + f) / 1000 / (os.cpu_count() or 1):.1f} s of CPU per core for N (+ PostgreSQL): "
            f"the floor for this run on idle cores"
        )
    print(f"\nbest: {best[0]} — {best[1]:.2f} s end to end for {n:,} reminders")
    national(best[2], best[0])
    return 0


def national(send_rate: float, label: str) -> None:
    per_min = send_rate * 60
    print(
        f"National run: {NATIONAL_ASN:,} reminders against FCM's default {FCM_QUOTA_PER_MINUTE:,} msg/min = "
        f"{NATIONAL_ASN / FCM_QUOTA_PER_MINUTE:.1f} min at the very least. This box ({label}, 2 cores, the fake "
        f"sharing them) sends {per_min:,.0f}/min = {per_min / FCM_QUOTA_PER_MINUTE:.1%} of the quota: "
        f"{NATIONAL_ASN / per_min / 60:.1f} h alone; the quota needs {FCM_QUOTA_PER_MINUTE / per_min:.0f} such boxes."
    )


if __name__ == "__main__":
    sys.exit(main())
