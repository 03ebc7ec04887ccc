"""End-to-end reminder fan-out: outbox rows -> send task -> firebase-admin -> fake FCM (own process).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pengampu_notif \
        python bench/reminder_fanout.py [--n 14000] [--workers 1]

Setup (untimed): N sponsor users with one Android token each, a regency in WIB.
Timed, in one run:
  baseline   the fake's raw capacity: N pre-encoded POSTs with http.client, 32 threads
  write      notify_bulk of N due-date reminders (dedupe, opt-out, language, quiet hours) in one transaction
  send       the send tasks enqueued after commit (eager Celery: 500 rows per task, FCMProvider,
             send_each chunks of 500, 2 in flight); with --workers K, K processes claim rows in parallel
Goal from issue 5: N=14,000 end to end in under 20 s. Rows the bench wrote are deleted at the end.
"""
from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from push_fanout import NATIONAL_ASN, FCM_QUOTA_PER_MINUTE, FakeProcess, run_raw  # noqa: E402

PREFIX = "bench-fanout-"


def _django(info: dict, workers_env: bool = True) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.dev")
    os.environ.update({"PUSH_PROVIDER": "fcm", "FCM_SERVICE_ACCOUNT": info["service_account_file"],
                       "FCM_BASE_URL": info["base_url"], "FCM_APP_NAME": "bench-reminders",
                       "NOTIFICATIONS_CONSOLE_WITHOUT_DEVICE": "false", "LOG_LEVEL": "WARNING",
                       "CELERY_TASK_ALWAYS_EAGER": "true"})
    import django

    django.setup()


def setup(n: int):
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from notifications.models import Device, Notification

    User = get_user_model()
    Notification.objects.filter(dedupe_key__startswith=PREFIX).delete()
    have = User.objects.filter(username__startswith=PREFIX).count()
    if have < n:
        User.objects.bulk_create([User(username=f"{PREFIX}{i}") for i in range(have, n)], batch_size=2000)
    users = list(User.objects.filter(username__startswith=PREFIX).order_by("pk").values_list("pk", flat=True)[:n])
    existing = set(Device.objects.filter(user_id__in=users).values_list("user_id", flat=True))
    now = timezone.now()
    Device.objects.bulk_create([Device(user_id=u, token=f"{PREFIX}tok-{u}", last_seen_at=now)
                                for u in users if u not in existing], batch_size=2000)
    Device.objects.filter(user_id__in=users).update(active=True)
    return users


def write(users, now):
    from django.db import transaction

    from notifications.services import NotifyRequest, batched_sends, notify_bulk

    due = (now + dt.timedelta(days=3)).date()
    requests = [NotifyRequest(
        user_id=u, kind="invoice_due_soon", dedupe_key=f"{PREFIX}invoice:{u}:reminder:{now.date()}",
        context={"amount_idr": 50_400, "due_date": due, "workers": 3, "days": 3, "invoice_number": f"INV-{u}"},
        data={"invoice_id": str(u)}, collapse_key=f"invoice-{u}",
        expires_at=dt.datetime.combine(due + dt.timedelta(days=1), dt.time(0), tzinfo=now.tzinfo))
        for u in users]
    with transaction.atomic(), batched_sends():
        return notify_bulk(requests, now=now)


def _worker(info, now, go, out):
    _django(info)
    from notifications.sending import outbox_send, push_provider

    push_provider()._ensure_access_token()
    go.wait()
    started = time.perf_counter()
    report = outbox_send(now=now)
    out.put((report.sent, time.perf_counter() - started))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=14_000)
    parser.add_argument("--workers", type=int, default=1, help="send processes (1 = the eager after-commit path)")
    args = parser.parse_args()
    with FakeProcess() as fake:
        info = fake.info
        baseline = run_raw(info, args.n, "httpclient")
        fake.reset()
        _django(info)
        from django.conf import settings
        from django.utils import timezone
        from zoneinfo import ZoneInfo

        from notifications.models import Notification
        from notifications.sending import push_provider

        users = setup(args.n)
        push_provider()._ensure_access_token()  # firebase App + OAuth token once per process, untimed
        now = timezone.now().astimezone(ZoneInfo("Asia/Jakarta")).replace(hour=10)  # daytime: not held
        from notifications import services
        from notifications.tasks import send_notifications

        enqueued: list[list[int]] = []
        services.enqueue_send = lambda ids: enqueued.append(list(ids))  # capture what commit would enqueue
        started = time.perf_counter()
        ids = write(users, now)
        wrote = time.perf_counter() - started
        if args.workers > 1:
            ctx = mp.get_context("fork")
            go, out = ctx.Event(), ctx.Queue()
            procs = [ctx.Process(target=_worker, args=(info, now, go, out)) for _ in range(args.workers)]
            from django.db import connections
            connections.close_all()
            for p in procs:
                p.start()
            time.sleep(3)
            t0 = time.perf_counter()
            go.set()
            results = [out.get() for _ in procs]
            for p in procs:
                p.join()
            send = time.perf_counter() - t0
        else:
            t0 = time.perf_counter()
            for batch in enqueued:  # exactly what the worker runs for each enqueued task
                for start in range(0, len(batch), services.SEND_TASK_CHUNK):
                    send_notifications.apply(kwargs={"ids": batch[start:start + services.SEND_TASK_CHUNK]})
            send = time.perf_counter() - t0
        total = wrote + send
        sent = Notification.objects.filter(pk__in=ids, status="sent").count()
        stats = fake.stats()
        Notification.objects.filter(dedupe_key__startswith=PREFIX).delete()

    rate = sent / send if send else 0
    print(f"n={args.n:,}  workers={args.workers}")
    print(f"  baseline  fake raw capacity        {baseline:6.2f} s  {args.n / baseline:8,.0f} msg/s")
    print(f"  write     notify_bulk, outbox rows {wrote:6.2f} s  {len(ids) / wrote:8,.0f} rows/s")
    print(f"  send      tasks->firebase-admin    {send:6.2f} s  {rate:8,.0f} msg/s")
    print(f"  total     end to end               {total:6.2f} s   (goal < 20 s)  sent={sent:,} "
          f"fake accepted={stats.get('sent')}")
    per_min = rate * 60
    print(f"\nNational run: {NATIONAL_ASN:,} reminders / {FCM_QUOTA_PER_MINUTE:,} per min quota = "
          f"{NATIONAL_ASN / FCM_QUOTA_PER_MINUTE:.1f} min at best; at {per_min:,.0f}/min per sender here that is "
          f"{NATIONAL_ASN / per_min / 60:.1f} h for one sender, {NATIONAL_ASN / per_min / 8:.0f} min for 8.")
    return 0 if sent == args.n else 1


if __name__ == "__main__":
    sys.exit(main())
