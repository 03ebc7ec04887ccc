"""notify_bulk at fan-out sizes: one INSERT … ON CONFLICT DO NOTHING, the same rules as notify(), a
number of statements that does not grow with N, and senders whose claims never overlap."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from notifications import services
from notifications.models import Device, Notification
from notifications.sending import outbox_claim, outbox_send
from notifications.services import NotifyRequest, device_register, notify_bulk, preferences_set
from sponsorship.regions.models import RegencyConfig
from tests import factories

WIB = ZoneInfo("Asia/Jakarta")
NOON = dt.datetime(2026, 12, 10, 12, 0, tzinfo=WIB)
CTX = {"invoice_number": "INV-1", "amount_idr": 1_250_000, "due_date": dt.date(2026, 12, 15), "workers": 3, "days": 3}


def plain_users(n, prefix="bulk"):
    from django.contrib.auth import get_user_model

    User = get_user_model()
    User.objects.bulk_create([User(username=f"{prefix}-{i}") for i in range(n)])
    return list(User.objects.filter(username__startswith=f"{prefix}-").order_by("pk"))


def requests_for(users, key="k", kind="invoice_due_soon"):
    return [
        NotifyRequest(
            user_id=u.pk,
            kind=kind,
            context=CTX,
            dedupe_key=f"{key}-{u.pk}",
            data={"invoice_id": u.pk},
            collapse_key=f"invoice-{u.pk}",
            expires_at=dt.datetime(2026, 12, 16, tzinfo=WIB),
        )
        for u in users
    ]


@pytest.mark.django_db(transaction=True)
def test_bulk_rows_match_what_notify_writes(sponsor):
    with transaction.atomic():  # looked at before the commit hands the row to the sender
        [row_id] = notify_bulk(requests_for([sponsor.user]), now=NOON)
        row = Notification.objects.get(pk=row_id)
    assert (row.kind, row.status, row.language, row.attempts) == ("invoice_due_soon", "pending", "id", 0)
    assert row.title == "Tagihan jatuh tempo 3 hari lagi"
    assert "Rp1.250.000" in row.body and "15 Desember 2026" in row.body
    assert row.data == {"invoice_id": str(sponsor.user.pk)}  # values are strings, as FCM requires
    assert row.collapse_key == f"invoice-{sponsor.user.pk}" and row.delivered_device_ids == []
    assert row.created_at == NOON and row.next_attempt_at == NOON
    assert row.expires_at == dt.datetime(2026, 12, 16, tzinfo=WIB)
    assert row.last_error == "" and row.sent_at is None and row.read_at is None


@pytest.mark.django_db(transaction=True)
def test_bulk_dedupes_within_the_call_and_against_the_table():
    users = plain_users(3)
    first = notify_bulk(requests_for(users[:2]) + requests_for(users[:1]), now=NOON)  # a key twice: once
    assert len(first) == 2
    again = notify_bulk(requests_for(users), now=NOON)  # two keys exist already
    assert len(again) == 1
    assert Notification.objects.count() == 3
    assert notify_bulk(requests_for(users), now=NOON) == []


@pytest.mark.django_db(transaction=True)
def test_a_key_written_by_a_concurrent_scan_is_skipped_not_an_error():
    """The INSERT itself is ON CONFLICT DO NOTHING RETURNING: rows another writer got in first (after
    our dedupe lookup) are left alone and not reported as ours."""
    users = plain_users(2)
    [theirs] = notify_bulk(requests_for(users[:1]), now=NOON)
    rows = [
        (u.pk, "invoice_due_soon", "t", "b", "id", {"a": "1"}, f"k-{u.pk}", "pending", NOON, "", None, "[]")
        for u in users
    ]
    with transaction.atomic():
        created = services._insert_rows(rows, NOON)
    assert [pk for pk, _ in created] != [theirs] and len(created) == 1
    assert Notification.objects.get(pk=created[0][0]).recipient_id == users[1].pk
    assert Notification.objects.get(pk=theirs).title == "Tagihan jatuh tempo 3 hari lagi"  # untouched


@pytest.mark.django_db(transaction=True)
def test_bulk_honours_opt_out_language_and_quiet_hours_per_recipient(agency, regency):
    en, opted_out, receipts_only = (factories.make_sponsor(agency=agency) for _ in range(3))
    en.user.profile.language = "en"
    en.user.profile.save()
    preferences_set(user=opted_out.user, changes={"invoice_due_soon": False})
    no_profile = plain_users(1, "noprofile")[0]
    device_register(user=no_profile, token="tok-en-phone", language="en", now=NOON)
    users = [en.user, opted_out.user, receipts_only.user, no_profile]
    created = notify_bulk(requests_for(users), now=NOON)
    rows = {r.recipient_id: r for r in Notification.objects.filter(pk__in=created)}
    assert set(rows) == {en.user.pk, receipts_only.user.pk, no_profile.pk}
    assert rows[en.user.pk].title == "Bill due in 3 days" and "15 December 2026" in rows[en.user.pk].body
    assert rows[no_profile.pk].language == "en"  # no profile: the phone's language
    assert rows[receipts_only.user.pk].language == "id"

    # 20:30 WIB is 22:30 in Papua: held until 06:00 WIT there, pending in Java.
    RegencyConfig.objects.filter(regency=regency).update(timezone="Asia/Jayapura")
    evening = dt.datetime(2026, 12, 10, 20, 30, tzinfo=WIB)
    created = notify_bulk(requests_for([en.user, no_profile], key="eve"), now=evening)
    rows = {r.recipient_id: r for r in Notification.objects.filter(pk__in=created)}
    assert rows[en.user.pk].status == "held"
    assert rows[en.user.pk].next_attempt_at == dt.datetime(2026, 12, 11, 6, 0, tzinfo=ZoneInfo("Asia/Jayapura"))
    assert rows[no_profile.pk].status != "held"  # DEFAULT_REGENCY_TIMEZONE (WIB): 20:30, sent at once


@pytest.mark.django_db(transaction=True)
def test_sends_run_after_commit_only_and_only_for_pending_rows():
    """Eager Celery (the test settings) runs the send task on commit; these users have no phone,
    so a row the sender has seen is `skipped` (it stays in the inbox)."""
    users = plain_users(3)
    with pytest.raises(RuntimeError), transaction.atomic():
        notify_bulk(requests_for(users), now=NOON)
        raise RuntimeError("the scan failed")
    assert Notification.objects.count() == 0  # rolled back: nothing written, nothing sent
    with transaction.atomic():
        created = notify_bulk(requests_for(users), now=NOON)
        assert set(Notification.objects.filter(pk__in=created).values_list("status", flat=True)) == {"pending"}
    assert set(Notification.objects.filter(pk__in=created).values_list("status", flat=True)) == {"skipped"}
    night = dt.datetime(2026, 12, 10, 23, 0, tzinfo=WIB)
    with transaction.atomic():
        held = notify_bulk(requests_for(users, key="night"), now=night)
    assert set(Notification.objects.filter(pk__in=held).values_list("status", flat=True)) == {"held"}  # for 06:00


@pytest.mark.django_db(transaction=True)
def test_bulk_statement_count_does_not_grow_with_n():
    def statements(n, prefix):
        users = plain_users(n, prefix)
        with transaction.atomic(), CaptureQueriesContext(connection) as ctx:  # the send after commit not counted
            created = notify_bulk(requests_for(users, key=prefix), now=NOON)
        assert len(created) == n
        return len(ctx.captured_queries)

    small, large = statements(5, "small"), statements(600, "large")
    assert large == small
    # one INSERT for all rows (the dedupe lookup and the INSERT run on a server-binding cursor, not counted)
    assert small <= 8


@pytest.mark.django_db(transaction=True)
def test_sender_batch_costs_a_fixed_number_of_statements(settings):
    settings.PUSH_PROVIDER = "console"
    settings.NOTIFICATIONS_CONSOLE_WITHOUT_DEVICE = False

    def statements(n, prefix):
        users = plain_users(n, prefix)
        Device.objects.bulk_create([Device(user=u, token=f"tok-{prefix}-{u.pk}", last_seen_at=NOON) for u in users])
        night = dt.datetime(2026, 12, 10, 23, 0, tzinfo=WIB)  # held: nothing sent before we count
        notify_bulk(requests_for(users, key=prefix), now=night)
        with CaptureQueriesContext(connection) as ctx:
            report = outbox_send(now=dt.datetime(2026, 12, 11, 6, 0, tzinfo=WIB))
        assert report.sent == n
        return len(ctx.captured_queries)

    small, large = statements(3, "s"), statements(300, "l")
    # claim (BEGIN, SELECT … SKIP LOCKED, UPDATE, COMMIT), rows, devices, zones (3: these rows waited
    # out quiet hours, so they are checked again), one grouped UPDATE, and the empty claim that ends the loop
    assert small == large <= 13


@pytest.mark.django_db(transaction=True)
def test_claims_are_disjoint_batches_in_due_order():
    users = plain_users(10)
    night = dt.datetime(2026, 12, 10, 23, 0, tzinfo=WIB)
    notify_bulk(requests_for(users), now=night)
    morning = dt.datetime(2026, 12, 11, 6, 0, tzinfo=WIB)
    a = outbox_claim(now=morning, limit=4)
    b = outbox_claim(now=morning, limit=4)
    c = outbox_claim(now=morning, limit=4)
    assert len(a) == len(b) == 4 and len(c) == 2 and not set(a) & set(b) and not (set(a) | set(b)) & set(c)
    assert outbox_claim(now=morning, limit=4) == []
    assert Notification.objects.filter(status="sending", attempts=1).count() == 10
