"""notify(): the outbox row, dedupe, opt-out, quiet hours in the recipient's zone, languages."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction

from notifications.models import Notification, NotificationPreference
from notifications.services import notify, preferences_set
from sponsorship.regions.models import RegencyConfig

WIB = ZoneInfo("Asia/Jakarta")
NOON = dt.datetime(2026, 12, 10, 12, 0, tzinfo=WIB)


def ctx(**extra):
    return {
        "invoice_number": "INV-2026-12-0001",
        "amount_idr": 50400,
        "due_date": dt.date(2026, 12, 15),
        "workers": 3,
        "days": 3,
        "period_label": "Desember 2026",
        **extra,
    }


@pytest.mark.django_db(transaction=True)
def test_notify_writes_one_row_rendered_in_indonesian(sponsor):
    row = notify(
        user=sponsor.user,
        kind="invoice_due_soon",
        context=ctx(),
        dedupe_key="invoice:1:reminder:2026-12-10",
        data={"invoice_id": 1},
        collapse_key="invoice-1",
        now=NOON,
    )
    assert row is not None and row.status in ("pending", "sent", "skipped")
    row.refresh_from_db()
    assert row.title == "Tagihan jatuh tempo 3 hari lagi"
    assert "Rp50.400" in row.body and "15 Desember 2026" in row.body
    assert row.data == {"invoice_id": "1"}


@pytest.mark.django_db(transaction=True)
def test_english_for_users_who_chose_it(sponsor):
    sponsor.user.profile.language = "en"
    sponsor.user.profile.save()
    row = notify(user=sponsor.user, kind="invoice_due_today", context=ctx(), dedupe_key="k-en", now=NOON)
    assert row.title == "Bill due today" and "15 December 2026" in row.body


@pytest.mark.django_db(transaction=True)
def test_same_dedupe_key_is_one_row(sponsor):
    assert notify(user=sponsor.user, kind="invoice_issued", context=ctx(), dedupe_key="same", now=NOON)
    assert notify(user=sponsor.user, kind="invoice_issued", context=ctx(), dedupe_key="same", now=NOON) is None
    assert Notification.objects.filter(dedupe_key="same").count() == 1


@pytest.mark.django_db(transaction=True)
def test_row_is_part_of_the_callers_transaction(sponsor):
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            notify(user=sponsor.user, kind="invoice_issued", context=ctx(), dedupe_key="rolled-back", now=NOON)
            raise RuntimeError("the invoice failed")
    assert not Notification.objects.filter(dedupe_key="rolled-back").exists()


@pytest.mark.django_db(transaction=True)
def test_opt_out_per_kind_but_never_for_receipts(sponsor):
    from backend.api.errors import ApplicationError

    preferences_set(user=sponsor.user, changes={"invoice_due_soon": False})
    assert notify(user=sponsor.user, kind="invoice_due_soon", context=ctx(), dedupe_key="a", now=NOON) is None
    assert notify(user=sponsor.user, kind="invoice_due_today", context=ctx(), dedupe_key="b", now=NOON)
    with pytest.raises(ApplicationError):
        preferences_set(user=sponsor.user, changes={"payment_received": False})
    # Even a stored opt-out row (e.g. from an admin) does not stop a receipt.
    NotificationPreference.objects.create(user=sponsor.user, kind="payment_received", enabled=False)
    assert notify(
        user=sponsor.user, kind="payment_received", context=ctx(sponsor_name="Budi"), dedupe_key="c", now=NOON
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "zone,local_hour,held",
    [
        ("Asia/Jakarta", 21, True),
        ("Asia/Jakarta", 20, False),
        ("Asia/Jakarta", 5, True),
        ("Asia/Jakarta", 6, False),
        ("Asia/Jayapura", 22, True),
        ("Asia/Makassar", 12, False),
    ],
)
def test_quiet_hours_hold_until_six_in_the_regency_zone(sponsor, regency, zone, local_hour, held):
    RegencyConfig.objects.filter(regency=regency).update(timezone=zone)
    tz = ZoneInfo(zone)
    now = dt.datetime(2026, 12, 10, local_hour, 30, tzinfo=tz)
    row = notify(
        user=sponsor.user, kind="invoice_due_soon", context=ctx(), dedupe_key=f"q-{zone}-{local_hour}", now=now
    )
    row.refresh_from_db()
    if held:
        assert row.status == "held"
        release = row.next_attempt_at.astimezone(tz)
        assert (release.hour, release.minute) == (6, 0) and release > now
        assert release - now < dt.timedelta(hours=9)
    else:
        assert row.status != "held"


@pytest.mark.django_db(transaction=True)
def test_quiet_hours_differ_by_zone(sponsor, regency):
    # 21:30 WIB is 23:30 WIT: held in both; 20:30 WIB is 22:30 WIT: held only in Papua.
    at = dt.datetime(2026, 12, 10, 20, 30, tzinfo=WIB)
    RegencyConfig.objects.filter(regency=regency).update(timezone="Asia/Jayapura")
    row = notify(user=sponsor.user, kind="invoice_due_soon", context=ctx(), dedupe_key="wit", now=at)
    row.refresh_from_db()
    assert row.status == "held"
    assert row.next_attempt_at.astimezone(ZoneInfo("Asia/Jayapura")).hour == 6
