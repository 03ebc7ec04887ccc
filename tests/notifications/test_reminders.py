"""Reminder scans over the money area's invoices: the right kind on the right day, once."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from notifications.models import Notification
from notifications.sending import outbox_send
from notifications.services import device_register
from sponsorship.billing.reminders import reminders_scan
from sponsorship.billing.services.billing import billing_run
from tests import factories

WIB = ZoneInfo("Asia/Jakarta")


def at(day, hour=10):
    return dt.datetime.combine(day, dt.time(hour), tzinfo=WIB)


@pytest.fixture
def billed(sponsor, settings):
    settings.NOTIFICATIONS_CONSOLE_WITHOUT_DEVICE = False
    workers = [
        factories.make_worker(full_name="Slamet Riyadi"),
        factories.make_worker(full_name="Siti Aminah", sex="F"),
    ]
    for worker in workers:
        factories.sponsor_worker(sponsor, worker)
    billing_run(period=dt.date(2026, 12, 1), notify=False)
    invoice = sponsor.invoices.get()
    assert invoice.due_date == dt.date(2026, 12, 15)
    device_register(user=sponsor.user, token="tok-reminders", now=at(dt.date(2026, 12, 1)))
    return sponsor, invoice


@pytest.mark.django_db
def test_scan_twice_sends_once(billed, fake_fcm, settings):
    sponsor, invoice = billed
    import json

    from notifications.providers.fcm import close_app

    settings.PUSH_PROVIDER = "fcm"
    settings.FCM_SERVICE_ACCOUNT = json.dumps(fake_fcm.service_account)
    settings.FCM_BASE_URL = fake_fcm.base_url
    settings.FCM_APP_NAME = "reminder-scan-test"
    try:
        day = dt.date(2026, 12, 12)  # three days before the due date
        first = reminders_scan(today=day, now=at(day))
        second = reminders_scan(today=day, now=at(day, 11))
        outbox_send(now=at(day, 11))
        assert first["invoices"] == 1 and second["invoices"] == 0
        row = Notification.objects.get(recipient=sponsor.user)
        assert row.kind == "invoice_due_soon" and row.dedupe_key == f"invoice:{invoice.pk}:reminder:2026-12-12"
        assert row.status == "sent" and row.collapse_key == f"invoice-{invoice.pk}"
        assert row.expires_at == dt.datetime(2026, 12, 16, tzinfo=WIB)  # the lifetime ends with the due date
        assert "2 pekerja" in row.body and "15 Desember 2026" in row.body
        assert len(fake_fcm.sends()) == 1
    finally:
        close_app("reminder-scan-test")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "day,kind,days",
    [
        (dt.date(2026, 12, 12), "invoice_due_soon", 3),
        (dt.date(2026, 12, 15), "invoice_due_today", 0),
        (dt.date(2026, 12, 18), "invoice_overdue", 3),
        (dt.date(2026, 12, 22), "invoice_overdue", 7),
        (dt.date(2026, 12, 13), None, None),
        (dt.date(2026, 12, 20), None, None),
    ],
)
def test_reminder_calendar(billed, day, kind, days):
    sponsor, invoice = billed
    reminders_scan(today=day, now=at(day))
    rows = list(Notification.objects.filter(recipient=sponsor.user, kind__startswith="invoice_"))
    if kind is None:
        assert rows == []
    else:
        [row] = rows
        assert row.kind == kind and (str(days) in row.title or days == 0)


@pytest.mark.django_db
def test_one_reminder_per_invoice_per_day_and_none_once_paid(billed):
    sponsor, invoice = billed
    day = dt.date(2026, 12, 15)
    for hour in (6, 9, 14, 20):  # the scan runs hourly
        reminders_scan(today=day, now=at(day, hour))
    assert Notification.objects.filter(dedupe_key__startswith=f"invoice:{invoice.pk}:").count() == 1
    type(invoice).objects.filter(pk=invoice.pk).update(status="paid", paid_at=at(day, 15))
    reminders_scan(today=dt.date(2026, 12, 18), now=at(dt.date(2026, 12, 18)))
    assert Notification.objects.filter(dedupe_key__startswith=f"invoice:{invoice.pk}:").count() == 1


@pytest.mark.django_db
def test_opted_out_sponsor_gets_no_reminder_but_a_scan_in_quiet_hours_is_held(billed):
    from notifications.services import preferences_set

    sponsor, invoice = billed
    day = dt.date(2026, 12, 15)
    reminders_scan(today=day, now=at(day, 5))  # 05:00 WIB
    row = Notification.objects.get(kind="invoice_due_today")
    assert row.status == "held" and row.next_attempt_at == at(day, 6).replace(hour=6)
    preferences_set(user=sponsor.user, changes={"invoice_overdue": False})
    reminders_scan(today=dt.date(2026, 12, 18), now=at(dt.date(2026, 12, 18)))
    assert not Notification.objects.filter(kind="invoice_overdue").exists()


@pytest.mark.django_db
def test_worker_hears_about_a_new_sponsor_once(sponsor):
    worker = factories.make_worker(user=True)
    factories.sponsor_worker(sponsor, worker)
    now = dt.datetime.now(WIB).replace(hour=10)
    reminders_scan(now=now)
    reminders_scan(now=now)
    [row] = Notification.objects.filter(recipient=worker.user, kind="worker_new_sponsor")
    assert row.title == "Anda mendapat pengampu"
