"""Worker reminders through WhatsApp and SMS: the outbox -> routes -> adapters -> the local fakes over HTTP.

    python bench/channels_reminders.py                      # 42,000 by WhatsApp, 14,000 by SMS
    python bench/channels_reminders.py --whatsapp 4200 --sms 1400 --wa-mps 80

Database: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/pengampu_channels_bench), migrated on
first use. The fakes run in their own processes (python -m simulators.whatsapp / simulators.sms), as Meta and
Twilio would. Setup (untimed): N users with a phone and consent (WhatsApp for the first group, SMS only for
the second), told to notifications by a bench contact source. Timed: notify_bulk of N lapse warnings (commit),
then outbox_send until every row has an outcome.

Rate limits kept (both enforced by the fakes too, which answer 130429 / 20429 beyond them):
  WhatsApp Cloud API: 80 messages/s per business phone number by default, 1,000/s after Meta's automatic
    upgrade (developers.facebook.com/docs/whatsapp/throughput; checked 2 Dec 2026 via third-party copies).
    --wa-mps sets the pace (default 1000; the 80/s figure is reported as the floor time N/80).
  Twilio: a limit on concurrent API requests per account (error 20429; 100 assumed here) and a per-sender pace
    at which queued messages leave; the queue holds 4 hours of messages, so the API submission rate is what
    the sender controls. --sms-rps sets the submission pace (default 200/s, at most 16 in flight).

Prices (state of the search on 2 Dec 2026; verify before budgeting):
  WhatsApp, Indonesia, per delivered template message (per-message pricing since 1 Jul 2025):
    utility USD 0.0200, authentication USD 0.0300 (Meta rate card as published for Indonesia in 2024,
    haptik.ai and alibabacloud.com copies; the 2025/2026 Indonesia utility rate was not found).
  SMS via Twilio to Indonesia: not found with the search tool; USD 0.40 per segment is ASSUMED (Twilio's
    international A2P rates for Indonesia have been in the USD 0.35-0.45 range). Exchange rate ASSUMED
    IDR 16,500 per USD.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pengampu_channels_bench")

WA_UTILITY_USD = 0.0200
WA_AUTH_USD = 0.0300
SMS_USD = 0.40
IDR_PER_USD = 16_500
PREFIX = "bench-ch-"


def start_fake(module: str, *args: str) -> tuple[subprocess.Popen, dict]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            module,
            "--port",
            "0",
            "--json",
            "--no-" + ("receipts" if "whatsapp" in module else "callbacks"),
            *args,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    info = json.loads(proc.stdout.readline())
    return proc, info


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--whatsapp", type=int, default=42_000)
    parser.add_argument("--sms", type=int, default=14_000)
    parser.add_argument("--wa-mps", type=float, default=1000.0)
    parser.add_argument("--sms-rps", type=float, default=200.0)
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args()

    wa_proc, wa = start_fake(
        "simulators.whatsapp", "--mps", str(args.wa_mps), "--access-token", "bench", "--app-secret", "bench"
    )
    sms_proc, tw = start_fake("simulators.sms", "--auth-token", "bench", "--max-concurrent", "100")
    os.environ.update(
        {
            "WHATSAPP_PROVIDER": "meta",
            "WHATSAPP_API_BASE_URL": wa["base_url"],
            "WHATSAPP_PHONE_NUMBER_ID": wa["phone_number_id"],
            "WHATSAPP_ACCESS_TOKEN": "bench",
            "WHATSAPP_APP_SECRET": "bench",
            "SMS_PROVIDER": "twilio",
            "TWILIO_API_BASE_URL": tw["base_url"],
            "TWILIO_ACCOUNT_SID": tw["account_sid"],
            "TWILIO_AUTH_TOKEN": "bench",
            "DEFAULT_REGENCY_TIMEZONE": _daytime_zone(),
            "LOG_LEVEL": "WARNING",
        }
    )
    try:
        return run(args)
    finally:
        wa_proc.terminate()
        sms_proc.terminate()


def _daytime_zone() -> str:
    from reminder_fanout import daytime_zone

    return daytime_zone()


def run(args) -> int:
    from _setup import django_setup

    django_setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone

    from notifications.models import ContactChannel, Notification
    from notifications.routing import Contact, register_contact_source
    from notifications.sending import outbox_send
    from notifications.services import NotifyRequest, notify_bulk

    settings.WHATSAPP_MAX_PER_SECOND = args.wa_mps
    settings.SMS_MAX_PER_SECOND = args.sms_rps
    settings.CHANNEL_SEND_CONCURRENCY = args.threads
    settings.NOTIFICATIONS_CONSOLE_WITHOUT_DEVICE = False
    User = get_user_model()
    total = args.whatsapp + args.sms
    t0 = time.perf_counter()
    Notification.objects.filter(recipient__username__startswith=PREFIX).delete()
    existing = User.objects.filter(username__startswith=PREFIX).count()
    if existing < total:
        User.objects.bulk_create(
            [User(username=f"{PREFIX}{i:06d}", password="!") for i in range(existing, total)], batch_size=5000
        )
    ids = list(User.objects.filter(username__startswith=PREFIX).order_by("username").values_list("pk", flat=True))[
        :total
    ]
    wa_ids, sms_ids = ids[: args.whatsapp], ids[args.whatsapp :]
    ContactChannel.objects.filter(user_id__in=ids).delete()
    now = timezone.now()
    ContactChannel.objects.bulk_create(
        [
            ContactChannel(user_id=u, channel="whatsapp", granted=True, consent_source="bench", consent_at=now)
            for u in wa_ids
        ]
        + [
            ContactChannel(user_id=u, channel="sms", granted=True, consent_source="bench", consent_at=now)
            for u in sms_ids
        ],
        batch_size=5000,
    )
    phone = {u: f"+62812{u:08d}"[:15] for u in ids}
    register_contact_source(contacts=lambda user_ids: {u: Contact("worker", phone.get(u)) for u in user_ids})
    print(f"setup: {total} users in {time.perf_counter() - t0:.1f} s", flush=True)

    import notifications.services as services

    services.enqueue_send = lambda ids: None  # timed separately: outbox_send below sends every row
    t_write = time.perf_counter()
    with transaction.atomic():
        created = notify_bulk(
            [
                NotifyRequest(
                    user_id=u,
                    kind="coverage_lapsing",
                    context={"worker_name": "Pekerja", "protected_until": now.date()},
                    dedupe_key=f"{PREFIX}{now:%Y%m%d%H%M%S}-{u}",
                )
                for u in ids
            ],
            now=now,
        )
    write_s = time.perf_counter() - t_write
    t_send = time.perf_counter()
    report = outbox_send(now=None)
    send_s = time.perf_counter() - t_send
    with connection.cursor() as cur:
        cur.execute(
            "SELECT channel, status, count(*) FROM notifications_notification WHERE id = ANY(%s) "
            "GROUP BY 1, 2 ORDER BY 1, 2",
            [created],
        )
        outcome = cur.fetchall()
    monthly_wa, monthly_sms = args.whatsapp, args.sms
    signins = round(0.1 * total)  # assumption: one worker in ten signs in once a month
    cost_usd = monthly_wa * WA_UTILITY_USD + monthly_sms * SMS_USD + signins * WA_AUTH_USD
    result = {
        "rows": len(created),
        "outcome": outcome,
        "write_s": round(write_s, 2),
        "send_s": round(send_s, 2),
        "throughput_per_s": round(len(created) / send_s, 1),
        "report": {"sent": report.sent, "retry": report.retry, "failed": report.failed, "errors": report.errors},
        "floor_at_80_mps_s": round(args.whatsapp / 80, 1),
        "monthly_cost": {
            "whatsapp_utility_usd": round(monthly_wa * WA_UTILITY_USD, 2),
            "sms_usd": round(monthly_sms * SMS_USD, 2),
            "signin_codes_usd": round(signins * WA_AUTH_USD, 2),
            "total_usd": round(cost_usd, 2),
            "total_idr": round(cost_usd * IDR_PER_USD),
            "per_worker_idr": round(cost_usd * IDR_PER_USD / total),
        },
    }
    print(json.dumps(result, indent=2, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
