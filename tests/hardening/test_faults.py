"""Issue #7 point 4, faults, proven end to end on PostgreSQL (docs/security.md, "Faults").

1. The Midtrans simulator answering 5xx or timing out (real midtransclient over HTTP), and dropping a
   notification: the reconciliation job repairs the state, and a notification arriving afterwards changes nothing.
2. The fake FCM answering 429 (Retry-After), 503 and UNREGISTERED, through the real firebase-admin client.
3. Redis down (a redis-server this test starts and kills; never the shared one): API requests that enqueue
   work still answer 2xx, the outbox keeps the work, and once Redis is back a real Celery worker, fed the
   beat tasks through that Redis, sends everything exactly once.
4. The billing run losing its database connection in the middle (its backend terminated from a second
   connection while it waits on a test-only trigger): nothing half-written, and a re-run completes it once.

Nothing of ours is mocked. The Redis test needs `redis-server`: under CI=true it fails, not skips, when it
is missing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from urllib.parse import quote

import pytest
from django.db import InterfaceError, OperationalError, connection, connections
from django.db.models import Count, Sum

from sponsorship.billing.models import CoverageMonth, CreditEntry, Invoice, InvoiceLine, PaymentAttempt, RefundCase
from sponsorship.billing.services.billing import billing_run
from tests import factories

# Shared fixtures, reused rather than copied: the Midtrans simulator and its settings (tests/billing/conftest.py).
from tests.billing.conftest import (  # noqa: F401 - fixtures, used by name
    DEC_2026,
    family,
    gateway_settings,
    http,
    notification_from_status,
    sim,
    sim_control,
)
from tests.factories import restore_reference_rows

# ... and the fake FCM with its fault controls (tests/notifications/conftest.py).
from tests.notifications.conftest import fake_fcm, fake_fcm_server, fcm_settings  # noqa: F401

CI = os.environ.get("CI", "").lower() == "true"
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def wait_until(predicate, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


# ---- 1. Midtrans simulator faults ----------------------------------------------------------------------
def pay(api, invoice, **headers):
    return api(invoice.sponsor.user).post(f"/api/v1/sponsor/invoices/{invoice.pk}/pay/", **headers)


@pytest.mark.parametrize(
    "fault",
    [{"mode": "http_500"}, {"mode": "http_503"}, {"mode": "delay", "seconds": 1.6}],
    ids=["500", "503", "timeout"],
)
def test_pay_while_midtrans_fails_is_a_clear_503_and_a_retry_after_the_fault_succeeds(
    family, gateway_settings, sim, http, api, fault
):
    billing_run(period=DEC_2026, notify=False)
    invoice = Invoice.objects.get(sponsor=family[0])
    sim_control(http, sim, "faults", {"path_prefix": "/snap/v1/transactions", "count": None, **fault})  # until cleared
    for language, headers in (("id", {}), ("en", {"HTTP_ACCEPT_LANGUAGE": "en"})):
        started = time.monotonic()
        response = pay(api, invoice, **headers)
        assert response.status_code == 503, response.content
        body = response.json()
        assert body["code"] == "gateway_unavailable"
        message = json.dumps(body, ensure_ascii=False)
        assert ("try again" in message) if language == "en" else ("coba lagi" in message.lower()), message
        assert time.monotonic() - started < 1.5  # MIDTRANS_TIMEOUT_SECONDS=1: a hung gateway costs ~1 s, no more
        invoice.refresh_from_db()
        assert invoice.status == "issued"  # still payable
    assert set(PaymentAttempt.objects.filter(invoice=invoice).values_list("status", flat=True)) == {"gateway_failed"}
    assert http.delete(f"{sim.base_url}/_sim/faults", timeout=5).status_code < 300
    retry = pay(api, invoice)
    assert retry.status_code == 201, retry.content
    assert retry.json()["token"] and retry.json()["amount_idr"] == invoice.amount_idr
    assert PaymentAttempt.objects.filter(invoice=invoice, status="open").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_dropped_notification_is_repaired_by_reconciliation_and_a_late_one_changes_nothing(
    family, gateway_settings, sim, http, api, live_server, settings
):
    """The simulator drops every notification; the reconcile_payments beat task settles the payment from the status
    API; the notification, delivered over HTTP after all, is stored as evidence and changes nothing."""
    from sponsorship.billing import tasks
    from sponsorship.billing.models import PaymentNotification

    settings.PUBLIC_BASE_URL = live_server.url  # notifications come back to this server over HTTP
    settings.PAYMENT_RECONCILE_AFTER_MINUTES = 0
    billing_run(period=DEC_2026, notify=False)
    invoice = Invoice.objects.get(sponsor=family[0])
    order_id = pay(api, invoice).json()["order_id"]
    sim_control(http, sim, "chaos", {"drop": True})
    sim_control(http, sim, "pay", {"order_id": order_id, "method": "bca_va"})
    assert sim.wait_idle(timeout=5)
    outcomes = {d["outcome"] for d in sim.deliveries(order_id)}
    assert outcomes == {"dropped"}, outcomes
    invoice.refresh_from_db()
    assert invoice.status == "issued" and not PaymentNotification.objects.exists()

    # The job beat runs every 15 minutes, run as beat would (eager Celery in tests: in this process). While the
    # status API itself answers 503 it changes nothing and says so; the next run, after the fault, settles it.
    sim_control(http, sim, "faults", {"path_prefix": "/v2/", "mode": "http_503", "count": None})
    assert tasks.reconcile_payments.delay().get() == {"gateway_unavailable": 1}
    invoice.refresh_from_db()
    assert invoice.status == "issued" and PaymentAttempt.objects.get(order_id=order_id).status == "open"
    assert http.delete(f"{sim.base_url}/_sim/faults", timeout=5).status_code < 300
    assert tasks.reconcile_payments.delay().get() == {"settled": 1}
    assert tasks.reconcile_payments.delay().get() == {}  # nothing left to reconcile
    invoice.refresh_from_db()
    attempt = PaymentAttempt.objects.get(order_id=order_id)
    assert invoice.status == "paid" and attempt.status == "settled"
    assert CoverageMonth.objects.filter(invoice=invoice).count() == len(family[1]) == CoverageMonth.objects.count()
    settled_at, paid_at = attempt.settled_at, invoice.paid_at

    # The notification arrives after all (Midtrans resends; here the simulator, chaos off, resends it).
    sim_control(http, sim, "chaos", {"drop": False})
    sim_control(http, sim, "notify", {"order_id": order_id})
    assert sim.wait_idle(timeout=10)
    delivered = [d for d in sim.deliveries(order_id) if d["outcome"] == "delivered"]
    assert [d["response_status"] for d in delivered] == [200], sim.deliveries(order_id)
    note = wait_until(lambda: PaymentNotification.objects.filter(order_id=order_id).first(), 5, "the notification")
    assert note.signature_valid and note.transaction_status == "settlement"
    note = wait_until(
        lambda: PaymentNotification.objects.filter(pk=note.pk, processed_at__isnull=False).first(),
        5,
        "the notification to be processed",
    )
    assert note.state == "processed" and note.outcome.startswith("no_change"), (note.state, note.outcome)
    invoice.refresh_from_db()
    attempt.refresh_from_db()
    assert (invoice.status, invoice.paid_at, attempt.status, attempt.settled_at) == (
        "paid",
        paid_at,
        "settled",
        settled_at,
    )
    assert CoverageMonth.objects.count() == len(family[1])  # coverage written exactly once
    assert not CreditEntry.objects.exists() and not RefundCase.objects.exists()  # no phantom double payment


# ---- 2. fake FCM faults, through the real firebase-admin client -----------------------------------------
WIB = dt.timezone(dt.timedelta(hours=7))
NOON = dt.datetime(2026, 12, 10, 12, 0, tzinfo=WIB)  # time is passed to the services (`now=`), nothing is frozen
NIGHT = dt.datetime(2026, 12, 10, 22, 0, tzinfo=WIB)  # a row written at night is held (quiet hours) ...
MORNING = dt.datetime(2026, 12, 11, 6, 0, tzinfo=WIB)  # ... until 06:00: the test chooses every send time
CTX = {"invoice_number": "INV-1", "amount_idr": 50400, "due_date": dt.date(2026, 12, 15), "workers": 3, "days": 3}


def phone_owner(agency, *tokens):
    from notifications.services import device_register

    sponsor = factories.make_sponsor(agency=agency)
    for token in tokens:
        device_register(user=sponsor.user, token=token, platform="android", app_version="1.0", now=NOON)
    return sponsor


@pytest.mark.parametrize("fault", ["429_retry_after", "503"])
@pytest.mark.django_db(transaction=True)
def test_fcm_429_and_503_are_retried_with_backoff_then_sent_once(fcm_settings, agency, settings, fault):
    """What the outbox sweep (notifications.tasks.dispatch_due, every minute) does at each moment: outbox_send."""
    from notifications.models import Notification
    from notifications.sending import outbox_send
    from notifications.services import notify

    fake = fcm_settings
    settings.NOTIFICATIONS_BACKOFF_BASE_SECONDS = 30
    sponsor = phone_owner(agency, "tok-busy")
    if fault == "429_retry_after":
        fake.fail_next(2, "QUOTA_EXCEEDED", headers={"Retry-After": "300"})  # longer than the 30 s/60 s backoff
    else:
        fake.fail_next(2, "UNAVAILABLE")
    row = notify(user=sponsor.user, kind="invoice_due_soon", context=CTX, dedupe_key=f"fault-{fault}", now=NIGHT)
    assert row.status == "held"
    at = MORNING
    outbox_send(now=at)  # first attempt: meets the first error
    for attempt, base in ((1, 30), (2, 60)):
        row.refresh_from_db()
        assert row.status == "pending" and row.attempts == attempt, (row.status, row.attempts, row.last_error)
        assert ("QUOTA_EXCEEDED" if fault != "503" else "UNAVAILABLE") in row.last_error
        wait = (row.next_attempt_at - at).total_seconds()
        if fault == "429_retry_after":
            assert wait >= 300  # never sooner than the server's Retry-After
        else:
            assert base / 2 - 1 <= wait <= base + 1, (attempt, wait)  # exponential, with jitter
        early = row.next_attempt_at - dt.timedelta(seconds=5)
        assert outbox_send(now=early).claimed == 0  # a sweep before the backoff ends leaves it alone
        at = row.next_attempt_at
        outbox_send(now=at)
    row.refresh_from_db()
    assert row.status == "sent" and row.attempts == 3
    assert len(fake.attempts("tok-busy")) == 3 and len(fake.sends()) == 1  # sent once
    assert outbox_send(now=at + dt.timedelta(days=1)).claimed == 0
    assert len(fake.sends()) == 1
    assert Notification.objects.get(pk=row.pk).status == "sent"


@pytest.mark.django_db(transaction=True)
def test_fcm_unregistered_deactivates_the_token_and_is_not_retried_forever(fcm_settings, agency):
    from notifications.models import Device
    from notifications.sending import outbox_send
    from notifications.services import notify

    fake = fcm_settings
    only_dead = phone_owner(agency, "tok-uninstalled")
    both = phone_owner(agency, "tok-old-phone", "tok-new-phone")
    fake.set_token_error("tok-uninstalled", "UNREGISTERED")
    fake.set_token_error("tok-old-phone", "UNREGISTERED")
    # Written at night (held), sent by the sweep at 06:00: every send time is the test's, not the wall clock's.
    lone = notify(user=only_dead.user, kind="invoice_due_soon", context=CTX, dedupe_key="unreg-1", now=NIGHT)
    pair = notify(user=both.user, kind="invoice_due_soon", context=CTX, dedupe_key="unreg-2", now=NIGHT)
    assert outbox_send(now=MORNING).claimed == 2
    lone.refresh_from_db()
    pair.refresh_from_db()
    for token in ("tok-uninstalled", "tok-old-phone"):
        device = Device.objects.get(token=token)
        assert not device.active and device.deactivation_reason == "UNREGISTERED"
    assert Device.objects.get(token="tok-new-phone").active
    assert pair.status == "sent" and [r.target for r in fake.sends()] == ["tok-new-phone"]
    # The row whose only phone is gone ends (the inbox still shows it); no retry is scheduled.
    assert lone.status == "failed" and "UNREGISTERED" in lone.last_error and lone.attempts == 1, (
        lone.status,
        lone.last_error,
    )
    attempts = len(fake.attempts())
    for later in (dt.timedelta(minutes=1), dt.timedelta(hours=2), dt.timedelta(days=7)):
        assert outbox_send(now=MORNING + later).claimed == 0
    assert len(fake.attempts()) == attempts == 3  # the dead token was asked once, never again
    # The next notification goes to the live phone only; the uninstalled one is not even tried.
    notify(user=only_dead.user, kind="invoice_due_today", context=CTX, dedupe_key="unreg-3", now=NIGHT)
    notify(user=both.user, kind="invoice_due_today", context=CTX, dedupe_key="unreg-4", now=NIGHT)
    assert outbox_send(now=MORNING + dt.timedelta(hours=1)).claimed == 2
    assert [r.target for r in fake.attempts()][attempts:] == ["tok-new-phone"]


# ---- 3. Redis down, then back ------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OwnRedis:
    """A throwaway redis-server on a free port (never the shared one on 6379), started and killed by the test."""

    def __init__(self, binary: str):
        self.binary, self.port, self.proc = binary, free_port(), None

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        import redis

        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2, socket_timeout=0.2)

        def up():
            try:
                return client.ping()
            except redis.exceptions.ConnectionError:
                assert self.proc.poll() is None, "redis-server exited"
                return False

        wait_until(up, 10, f"redis-server on port {self.port}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait(10)


@pytest.fixture
def own_redis():
    binary = shutil.which("redis-server")
    if binary is None:
        if CI:
            pytest.fail("CI=true: the Redis fault test needs redis-server on PATH")
        pytest.skip("redis-server not installed")
    server = OwnRedis(binary)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def celery_on_own_redis(own_redis, settings):
    """This process publishes to the test's Redis (no eager tasks) and caches there, as a web process would."""
    from backend.celery import app
    from sponsorship.billing.services import webhook

    saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager")}

    def drop_pools(close: bool):
        # app.pool and the producer pool come from kombu's process-wide registries, keyed by broker URL: forget
        # them so they are looked up again for the new URL. Close only ours (a fresh port, never reused); closing
        # the suite's memory:// pool would break every later test (eager tasks acquire a producer too).
        if close and app._pool is not None:
            app._pool.force_close_all()
        app._pool = None
        app.amqp._producer_pool = None

    settings.CACHES = {
        "default": {
            "BACKEND": "backend.cache.DegradingRedisCache",
            "LOCATION": own_redis.url(1),
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    drop_pools(close=False)
    app.conf.update(broker_url=own_redis.url(0), task_always_eager=False)
    webhook._celery_eager.cache_clear()
    yield app
    drop_pools(close=True)
    app.conf.update(**saved)
    webhook._celery_eager.cache_clear()


class Worker:
    """`celery -A backend worker` as a subprocess on the test database, the test's Redis, the fake FCM and the
    Midtrans simulator."""

    def __init__(self, *, broker: str, cache: str, fake_fcm, sim, log_path):
        db = connection.settings_dict
        host = db["HOST"] or "127.0.0.1"
        server = (
            f"/{db['NAME']}?host={quote(host)}"
            if host.startswith("/")  # a unix socket (embedded PostgreSQL)
            else f"{host}:{db['PORT'] or 5432}/{db['NAME']}"
        )
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.hardening.fault_worker_settings",
            "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{server}",
            "CELERY_BROKER_URL": broker,
            "REDIS_URL": cache,
            "PUSH_PROVIDER": "fcm",
            "FCM_SERVICE_ACCOUNT": json.dumps(fake_fcm.service_account),
            "FCM_BASE_URL": fake_fcm.base_url,
            "FCM_HTTP_STATUS_RETRIES": "0",
            "MIDTRANS_API_BASE_URL": sim.base_url,
        }
        self.log_path = log_path
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "backend",
                "worker",
                "--pool=solo",
                "--concurrency=1",
                "--loglevel=INFO",
                "--without-heartbeat",
                "--without-mingle",
                "--without-gossip",
            ],
            env=env,
            cwd=REPO_ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()[-4000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()


@pytest.mark.django_db(transaction=True)
def test_redis_down_requests_succeed_outbox_kept_and_sent_exactly_once_when_it_returns(
    celery_on_own_redis, own_redis, fcm_settings, gateway_settings, sim, http, api, caplog, tmp_path, no_quiet_hours
):
    import logging

    from django.core.management import call_command
    from django.utils import timezone

    from backend.celery import beat_schedule
    from notifications.models import Notification

    BEAT_SCHEDULE = beat_schedule()
    from notifications.services import device_register
    from sponsorship.billing.models import PaymentNotification
    from sponsorship.core.periods import add_months, local_today, month_start
    from sponsorship.people.models import Role

    app, fake = celery_on_own_redis, fcm_settings
    caplog.set_level(logging.ERROR)
    restore_reference_rows()
    regency = factories.load_ponorogo()
    agency = factories.make_agency(regency)
    admin = factories.make_user("admin.kab.faults", Role.REGENCY_ADMIN, regency=regency)
    late, payer = (factories.make_sponsor(agency=agency, full_name=name) for name in ("Asih Telat", "Bagus Bayar"))
    for sponsor, token in ((late, "tok-late"), (payer, "tok-payer")):
        factories.sponsor_worker(sponsor, factories.make_worker(full_name=f"Pekerja {sponsor.full_name}"))
        device_register(user=sponsor.user, token=token, platform="android", app_version="1.0")
    last_month, next_month = add_months(month_start(local_today()), -1), add_months(month_start(local_today()), 1)
    billing_run(period=last_month, notify=False)  # due on the 15th of last month: overdue today
    to_pay = Invoice.objects.get(sponsor=payer)
    order_id = pay(api, to_pay).json()["order_id"]
    sim_control(http, sim, "pay", {"order_id": order_id, "method": "bca_va"})
    settlement = notification_from_status(order_id)

    own_redis.kill()  # ---- Redis (broker and cache) is down ----
    started = time.monotonic()
    remind = api(admin).post(f"/api/v1/admin/dashboard/arrears/{late.pk}/remind/")
    assert remind.status_code == 200 and remind.json() == {"sent": True, "reason": "sent"}, remind.content
    webhook = api(None).post(
        "/api/v1/payments/midtrans/notification/", data=json.dumps(settlement), content_type="application/json"
    )
    assert webhook.status_code == 200 and webhook.json()["status"] == "accepted", webhook.content
    dashboard = api(admin).get("/api/v1/admin/dashboard/summary/")  # reads through the (dead) cache
    assert dashboard.status_code == 200, dashboard.content
    # cron's billing run for the coming month (a sponsorship started after this month's due date is first
    # billed next month): invoices + "issued" pushes
    call_command("run_billing", period=f"{next_month:%Y-%m}")
    assert time.monotonic() - started < 15, "a dead Redis must cost a request seconds at most, not a hang"
    wait_until(
        lambda: any("could not enqueue processing" in r.getMessage() for r in caplog.records),
        5,
        "the webhook's wake-up to fail (and log) while Redis is down",
    )
    assert any("could not enqueue send" in r.getMessage() for r in caplog.records)

    # Nothing lost, nothing sent: the work waits in the database.
    rows = Notification.objects.order_by("pk")
    kinds = sorted((n.recipient_id, n.kind) for n in rows)
    assert kinds == sorted(
        [(late.user_id, "invoice_overdue"), (late.user_id, "invoice_issued"), (payer.user_id, "invoice_issued")]
    ), kinds
    assert {n.status for n in rows} <= {"pending", "held"} and all(n.attempts == 0 for n in rows)
    assert fake.attempts() == []
    assert PaymentNotification.objects.get().state == "received"
    to_pay.refresh_from_db()
    assert to_pay.status == "issued"
    assert Invoice.objects.filter(period=next_month).count() == 2

    own_redis.start()  # ---- Redis is back (empty: whatever was queued before is gone, nothing was) ----
    worker = Worker(
        broker=own_redis.url(0), cache=own_redis.url(1), fake_fcm=fake, sim=sim, log_path=tmp_path / "worker.log"
    )
    try:
        # The outage outlasted the sweep's grace for stored notifications (2 minutes): age the row as the clock
        # would. At night (21:00-06:00 WIB) the pushes are held until 06:00: bring the morning forward.
        PaymentNotification.objects.update(received_at=timezone.now() - dt.timedelta(minutes=3))

        def morning():
            Notification.objects.filter(status="held").update(next_attempt_at=timezone.now())

        morning()
        # What beat publishes every minute, through the Redis that just came back, to the worker.
        app.send_task(BEAT_SCHEDULE["sweep-payment-notifications"]["task"])
        wait_until(
            lambda: Invoice.objects.filter(pk=to_pay.pk, status="paid").exists(),
            60,
            "the worker to process the stored notification",
        )
        assert CoverageMonth.objects.filter(invoice=to_pay).count() == 1
        wait_until(lambda: Notification.objects.filter(kind="payment_received").exists(), 10, "the receipt row")
        morning()
        app.send_task(BEAT_SCHEDULE["outbox-dispatch"]["task"])
        wait_until(
            lambda: not Notification.objects.exclude(status="sent").exists() and Notification.objects.count() == 4,
            30,
            "every outbox row to be sent",
        )
        app.send_task(BEAT_SCHEDULE["outbox-dispatch"]["task"])  # a second sweep finds nothing to send
        app.send_task(BEAT_SCHEDULE["sweep-payment-notifications"]["task"])
        time.sleep(0.5)
        assert worker.proc.poll() is None, worker.output()
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- worker log ---\n{worker.output()}") from None
    finally:
        worker.stop()

    # Exactly once: one push per row, each on its first attempt.
    rows = list(Notification.objects.order_by("pk"))
    assert all(n.status == "sent" and n.attempts == 1 for n in rows), [(n.kind, n.status, n.attempts) for n in rows]
    sent = sorted(r.target for r in fake.sends())
    assert sent == ["tok-late", "tok-late", "tok-payer", "tok-payer"], sent
    assert len(fake.attempts()) == 4
    from notifications.sending import outbox_send

    assert outbox_send().claimed == 0
    assert PaymentNotification.objects.get().state == "processed"
    assert CoverageMonth.objects.count() == 1


# ---- 4. the database connection lost in the middle of a billing run ------------------------------------
PAUSE_KEY = 740_004  # advisory lock the test-only trigger waits on (advisory locks are per database)
JAN_2027 = dt.date(2027, 1, 1)

# Where the run is paused: inside its one INSERT … WITH statement (when the lines are written, invoices already
# inserted in the same statement), or after that statement, when the audit row is written just before COMMIT.
PAUSE_POINTS = {
    "during_the_run_statement": "sponsorship_invoiceline",
    "after_the_statement_before_commit": "sponsorship_auditlog",
}


def install_pause_trigger(table: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"""
            CREATE OR REPLACE FUNCTION faults_test_pause() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM pg_advisory_lock_shared({PAUSE_KEY}); PERFORM pg_advisory_unlock_shared({PAUSE_KEY});
                  RETURN NULL; END $$;
            CREATE TRIGGER faults_test_pause BEFORE INSERT ON {table}
                FOR EACH STATEMENT EXECUTE FUNCTION faults_test_pause();""")


def drop_pause_trigger(table: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"DROP TRIGGER IF EXISTS faults_test_pause ON {table}; DROP FUNCTION IF EXISTS faults_test_pause();"
        )


def waiting_on_pause() -> int | None:
    """The pid of a backend of this database blocked on the pause lock (the billing run, paused)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = %s "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            [PAUSE_KEY],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def invoices_are_whole(period) -> None:
    """Every invoice of the period has lines, and its subtotal is the sum of them; one invoice per sponsor."""
    per_sponsor = Invoice.objects.filter(period=period, kind="monthly").values("sponsor_id").annotate(n=Count("id"))
    assert all(row["n"] == 1 for row in per_sponsor), list(per_sponsor)
    for invoice in Invoice.objects.filter(period=period).annotate(total=Sum("lines__amount_idr"), n=Count("lines")):
        assert invoice.n > 0 and invoice.total == invoice.subtotal_idr, (invoice.number, invoice.n, invoice.total)
        assert invoice.amount_idr == invoice.subtotal_idr - invoice.credit_applied_idr


@pytest.mark.parametrize("pause_at", list(PAUSE_POINTS))
@pytest.mark.django_db(transaction=True)
def test_billing_run_killed_mid_run_writes_nothing_and_a_rerun_completes_it_once(pause_at):
    restore_reference_rows()
    regency = factories.load_ponorogo()
    agency = factories.make_agency(regency)
    sponsors = [factories.make_sponsor(agency=agency, capacity=3, full_name=f"ASN {i}") for i in range(4)]
    for i, sponsor in enumerate(sponsors):
        for j in range(1 + i % 3):
            factories.sponsor_worker(
                sponsor, factories.make_worker(occupation="ojek" if j == 1 else "petani", full_name=f"Pekerja {i}-{j}")
            )
    # An earlier, complete run billed these four; three sponsors join afterwards (billed by the run we kill).
    first = billing_run(period=JAN_2027, notify=False)
    assert first.invoices == 4
    billed_before = {i.pk: (i.number, i.subtotal_idr) for i in Invoice.objects.all()}
    more = [factories.make_sponsor(agency=agency, capacity=2, full_name=f"ASN baru {i}") for i in range(3)]
    for sponsor in more:
        factories.sponsor_worker(sponsor, factories.make_worker(full_name=f"Pekerja {sponsor.full_name}"))
    expected_new = {s.pk for s in more}

    table = PAUSE_POINTS[pause_at]
    holder = connections.create_connection("default")  # holds the pause lock; separate session
    outcome: dict = {}
    try:
        with holder.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [PAUSE_KEY])
        install_pause_trigger(table)

        def run():
            try:
                outcome["result"] = billing_run(period=JAN_2027, notify=False)
            except Exception as exc:  # noqa: BLE001 - the point: which error, and what it left behind
                outcome["error"] = exc
            finally:
                connections["default"].close()

        thread = threading.Thread(target=run)
        thread.start()
        pid = wait_until(waiting_on_pause, 15, "the billing run to reach the pause point")
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            assert cursor.fetchone()[0] is True
        thread.join(15)
        assert not thread.is_alive()
    finally:
        with holder.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock_all()")
        holder.close()
        drop_pause_trigger(table)

    assert "result" not in outcome, outcome
    assert isinstance(outcome["error"], (OperationalError, InterfaceError)), repr(outcome.get("error"))
    # Nothing of the killed run is left: the earlier run's invoices unchanged, no invoice for the others.
    assert {i.pk: (i.number, i.subtotal_idr) for i in Invoice.objects.all()} == billed_before
    assert not Invoice.objects.filter(sponsor_id__in=expected_new).exists()
    assert not InvoiceLine.objects.exclude(invoice_id__in=billed_before).exists()
    invoices_are_whole(JAN_2027)

    # The re-run (what the next beat tick or `manage.py run_billing` does) completes it, once.
    rerun = billing_run(period=JAN_2027, notify=False)
    assert rerun.invoices == len(expected_new)
    assert set(Invoice.objects.filter(period=JAN_2027).values_list("sponsor_id", flat=True)) == {
        s.pk for s in [*sponsors, *more]
    }
    invoices_are_whole(JAN_2027)
    # Every active worker is billed exactly once for the month.
    from sponsorship.people.models import Sponsorship

    active = set(Sponsorship.objects.filter(status="active").values_list("worker_id", flat=True))
    lines = list(InvoiceLine.objects.filter(month=JAN_2027).values_list("worker_id", flat=True))
    assert sorted(lines) == sorted(active)
    assert billing_run(period=JAN_2027, notify=False).invoices == 0  # and a third run is a no-op
