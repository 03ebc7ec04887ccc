"""The sender through the real firebase-admin client over HTTP against the fake FCM (fixtures in conftest).

Time is frozen by passing `now=` into the services; nothing of ours is mocked.
"""

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from notifications.models import Device, Notification
from notifications.sending import outbox_send
from notifications.services import NotifyRequest, device_register, notify, notify_bulk
from tests import factories

WIB = ZoneInfo("Asia/Jakarta")
NOON = dt.datetime(2026, 12, 10, 12, 0, tzinfo=WIB)
NIGHT = dt.datetime(2026, 12, 10, 22, 0, tzinfo=WIB)  # rows written now are held ...
MORNING = dt.datetime(2026, 12, 11, 6, 0, tzinfo=WIB)  # ... until now, so tests choose every send time
CTX = {"invoice_number": "INV-1", "amount_idr": 50400, "due_date": dt.date(2026, 12, 15), "workers": 3, "days": 3}


def sponsor_with_phone(token, **kw):
    sponsor = factories.make_sponsor(**kw)
    device_register(user=sponsor.user, token=token, platform="android", app_version="1.0", now=NOON)
    return sponsor


@pytest.mark.django_db(transaction=True)
def test_notify_sends_after_commit_through_firebase_admin(fcm_settings, agency):
    fake = fcm_settings
    sponsor = sponsor_with_phone("tok-ok-1", agency=agency)
    expires = dt.datetime(2026, 12, 16, 0, 0, tzinfo=WIB)
    row = notify(
        user=sponsor.user,
        kind="invoice_due_soon",
        context=CTX,
        dedupe_key="invoice:1:reminder:2026-12-10",
        data={"invoice_id": "1"},
        collapse_key="invoice-1",
        expires_at=expires,
        now=NOON,
    )
    # eager Celery: the task ran on commit (notify ran in autocommit, so at once)
    row.refresh_from_db()
    assert row.status == "sent" and row.sent_at is not None and row.attempts == 1
    [record] = fake.sends()
    msg = record.message
    assert record.target == "tok-ok-1"
    assert msg["notification"]["title"] == "Tagihan jatuh tempo 3 hari lagi"
    assert msg["data"] == {"invoice_id": "1", "kind": "invoice_due_soon", "notification_id": str(row.pk)}
    assert msg["android"]["collapse_key"] == "invoice-1"
    assert msg["android"]["notification"]["tag"] == "invoice-1"
    assert msg["apns"]["headers"]["apns-collapse-id"] == "invoice-1"
    assert msg["apns"]["headers"]["apns-expiration"] == str(int(expires.timestamp()))
    assert msg["android"]["ttl"].endswith("s")


@pytest.mark.django_db(transaction=True)
def test_a_dedupe_key_is_sent_once(fcm_settings, agency):
    sponsor = sponsor_with_phone("tok-dedupe", agency=agency)
    for _ in range(3):
        notify(user=sponsor.user, kind="invoice_due_today", context=CTX, dedupe_key="once", now=NOON)
    outbox_send(now=NOON + dt.timedelta(minutes=1))
    assert len(fcm_settings.attempts("tok-dedupe")) == 1


@pytest.mark.django_db(transaction=True)
def test_parallel_senders_never_push_a_row_twice(fcm_settings, agency):
    fake = fcm_settings
    sponsors = [sponsor_with_phone(f"tok-par-{i}", agency=agency) for i in range(40)]
    night = dt.datetime(2026, 12, 10, 22, 0, tzinfo=WIB)  # written in quiet hours: held until 06:00
    notify_bulk(
        [
            NotifyRequest(user_id=s.user_id, kind="invoice_due_soon", context=CTX, dedupe_key=f"par-{i}")
            for i, s in enumerate(sponsors)
        ],
        now=night,
    )
    assert Notification.objects.filter(status="held").count() == 40
    morning = dt.datetime(2026, 12, 11, 6, 0, tzinfo=WIB)
    barrier = threading.Barrier(4)

    def worker():
        barrier.wait()
        try:
            while outbox_send(now=morning, max_rows=7).claimed:  # small claims so the four really interleave
                pass
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    targets = [r.target for r in fake.attempts()]
    assert len(targets) == 40 and len(set(targets)) == 40
    assert Notification.objects.filter(status="sent").count() == 40


@pytest.mark.django_db(transaction=True)
def test_quota_exceeded_is_retried_after_retry_after(fcm_settings, agency):
    fake = fcm_settings
    sponsor = sponsor_with_phone("tok-429", agency=agency)
    fake.fail_next(1, "QUOTA_EXCEEDED", headers={"Retry-After": "120"})
    row = notify(user=sponsor.user, kind="invoice_due_soon", context=CTX, dedupe_key="r429", now=NIGHT)
    outbox_send(now=MORNING)
    row.refresh_from_db()
    assert row.status == "pending" and row.attempts == 1
    assert "QUOTA_EXCEEDED" in row.last_error
    assert row.next_attempt_at >= MORNING + dt.timedelta(seconds=120)
    # not yet due: a sweep a minute later leaves it alone
    assert outbox_send(now=MORNING + dt.timedelta(seconds=60)).claimed == 0
    report = outbox_send(now=row.next_attempt_at)
    row.refresh_from_db()
    assert report.sent == 1 and row.status == "sent" and row.attempts == 2
    assert len(fake.attempts("tok-429")) == 2 and len(fake.sends()) == 1


@pytest.mark.django_db(transaction=True)
def test_unavailable_backs_off_exponentially_with_jitter_then_gives_up(fcm_settings, agency, settings):
    fake = fcm_settings
    settings.NOTIFICATIONS_BACKOFF_BASE_SECONDS = 30
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 4
    sponsor = sponsor_with_phone("tok-503", agency=agency)
    fake.set_token_error("tok-503", "UNAVAILABLE")
    row = notify(user=sponsor.user, kind="invoice_due_soon", context=CTX, dedupe_key="r503", now=NIGHT)
    at = MORNING
    outbox_send(now=at)
    delays = []
    for attempt in range(1, 4):
        row.refresh_from_db()
        assert row.status == "pending" and row.attempts == attempt
        delay = (row.next_attempt_at - at).total_seconds()
        base = 30 * 2 ** (attempt - 1)
        assert base / 2 <= delay <= base, (attempt, delay)
        delays.append(delay)
        at = row.next_attempt_at
        outbox_send(now=at)
    row.refresh_from_db()
    assert row.status == "failed" and row.attempts == 4 and "UNAVAILABLE" in row.last_error
    assert Device.objects.get(token="tok-503").active  # a server error is never the token's fault


@pytest.mark.django_db(transaction=True)
def test_unregistered_and_invalid_tokens_are_deactivated(fcm_settings, agency):
    fake = fcm_settings
    sponsor = sponsor_with_phone("tok-alive", agency=agency)
    device_register(user=sponsor.user, token="tok-gone", now=NOON)
    device_register(user=sponsor.user, token="tok-garbage", now=NOON)
    fake.set_token_error("tok-gone", "UNREGISTERED")
    fake.set_token_error(
        "tok-garbage", "INVALID_ARGUMENT", message="The registration token is not a valid FCM registration token"
    )
    row = notify(user=sponsor.user, kind="invoice_due_soon", context=CTX, dedupe_key="prune", now=NOON)
    row.refresh_from_db()
    assert row.status == "sent"
    gone, garbage, alive = (Device.objects.get(token=t) for t in ("tok-gone", "tok-garbage", "tok-alive"))
    assert not gone.active and gone.deactivation_reason == "UNREGISTERED" and gone.deactivated_at
    assert not garbage.active and garbage.deactivation_reason == "INVALID_ARGUMENT"
    assert alive.active
    # the next notification goes only to the live phone
    fake.reset()
    notify(user=sponsor.user, kind="invoice_due_today", context=CTX, dedupe_key="prune-2", now=NOON)
    assert [r.target for r in fake.attempts()] == ["tok-alive"]


@pytest.mark.django_db(transaction=True)
def test_sender_id_mismatch_for_a_whole_batch_deactivates_nothing(fcm_settings, agency):
    fake = fcm_settings
    sponsors = [sponsor_with_phone(f"tok-sid-{i}", agency=agency) for i in range(3)]
    for i, s in enumerate(sponsors):  # quiet hours: queued, not yet sent
        notify(
            user=s.user,
            kind="invoice_due_soon",
            context=CTX,
            dedupe_key=f"sid-{i}",
            now=dt.datetime(2026, 12, 10, 22, 0, tzinfo=WIB),
        )
    fake.set_global_error("SENDER_ID_MISMATCH")  # our credentials/project are wrong, not the tokens
    report = outbox_send(now=dt.datetime(2026, 12, 11, 6, 0, tzinfo=WIB))
    assert report.claimed == 3 and report.deactivated == 0
    assert Device.objects.filter(token__startswith="tok-sid-", active=True).count() == 3
    assert set(Notification.objects.filter(dedupe_key__startswith="sid-").values_list("status", flat=True)) == {
        "failed"
    }
    assert "SENDER_ID_MISMATCH_ALL" in Notification.objects.get(dedupe_key="sid-0").last_error


@pytest.mark.django_db(transaction=True)
def test_sender_id_mismatch_for_one_token_among_good_ones_deactivates_it(fcm_settings, agency):
    fake = fcm_settings
    sponsors = [sponsor_with_phone(f"tok-one-{i}", agency=agency) for i in range(3)]
    fake.set_token_error("tok-one-1", "SENDER_ID_MISMATCH")  # a token from another Firebase project
    for i, s in enumerate(sponsors):
        notify(
            user=s.user,
            kind="invoice_due_soon",
            context=CTX,
            dedupe_key=f"one-{i}",
            now=dt.datetime(2026, 12, 10, 22, 0, tzinfo=WIB),
        )
    outbox_send(now=dt.datetime(2026, 12, 11, 6, 0, tzinfo=WIB))
    assert not Device.objects.get(token="tok-one-1").active
    assert Device.objects.filter(token__in=["tok-one-0", "tok-one-2"], active=True).count() == 2


@pytest.mark.django_db(transaction=True)
def test_held_rows_go_out_at_six_local_time(fcm_settings, agency):
    fake = fcm_settings
    sponsor = sponsor_with_phone("tok-night", agency=agency)
    row = notify(
        user=sponsor.user,
        kind="invoice_due_soon",
        context=CTX,
        dedupe_key="night",
        now=dt.datetime(2026, 12, 10, 23, 15, tzinfo=WIB),
    )
    assert fake.attempts() == []
    assert outbox_send(now=dt.datetime(2026, 12, 11, 5, 59, tzinfo=WIB)).claimed == 0
    outbox_send(now=dt.datetime(2026, 12, 11, 6, 0, tzinfo=WIB))
    row.refresh_from_db()
    assert row.status == "sent" and len(fake.sends()) == 1


@pytest.mark.django_db(transaction=True)
def test_expired_rows_are_skipped_and_rows_without_phone_stay_in_the_inbox(fcm_settings, agency):
    fake = fcm_settings
    sponsor = sponsor_with_phone("tok-late", agency=agency)
    notify(
        user=sponsor.user,
        kind="invoice_due_soon",
        context=CTX,
        dedupe_key="late",
        expires_at=dt.datetime(2026, 12, 11, 0, 0, tzinfo=WIB),
        now=dt.datetime(2026, 12, 10, 22, 0, tzinfo=WIB),
    )
    outbox_send(now=dt.datetime(2026, 12, 11, 6, 0, tzinfo=WIB))
    assert Notification.objects.get(dedupe_key="late").status == "skipped"
    no_phone = factories.make_sponsor(agency=agency)
    notify(user=no_phone.user, kind="invoice_due_soon", context=CTX, dedupe_key="nophone", now=NOON)
    assert Notification.objects.get(dedupe_key="nophone").status == "skipped"
    assert fake.attempts() == []


WEB_TOKEN = "cUjiPengampuFid0123456:APA91bHUjiPengampuRegistrationToken_0123456789"  # an FCM web registration token


@pytest.mark.django_db(transaction=True)
def test_a_web_device_gets_the_webpush_link_and_is_deactivated_when_fcm_forgets_it(fcm_settings, agency, settings):
    fake = fcm_settings
    settings.FCM_WEB_LINK = "https://pengampu.example.id/app/#/inbox"
    sponsor = factories.make_sponsor(agency=agency)
    device_register(user=sponsor.user, token=WEB_TOKEN, platform="web", app_version="web-1", now=NOON)
    notify(user=sponsor.user, kind="invoice_due_soon", context=CTX, dedupe_key="web-1", now=NOON)
    [sent] = fake.sends()
    webpush = sent.message["webpush"]
    assert sent.message["token"] == WEB_TOKEN
    assert webpush["fcm_options"] == {"link": "https://pengampu.example.id/app/#/inbox"}
    assert webpush["notification"]["title"] == sent.message["notification"]["title"]
    assert webpush["notification"]["body"] == sent.message["notification"]["body"]

    # The browser dropped its subscription (site data cleared, permission revoked): FCM answers UNREGISTERED.
    fake.reset()
    fake.set_token_error(WEB_TOKEN, "UNREGISTERED")
    notify(user=sponsor.user, kind="invoice_due_today", context=CTX, dedupe_key="web-2", now=NOON)
    device = Device.objects.get(token=WEB_TOKEN)
    assert not device.active and device.deactivation_reason == "UNREGISTERED"
