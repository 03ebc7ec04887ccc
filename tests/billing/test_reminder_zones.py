"""The hourly reminder scan per regency (issue 20 point 5): each regency's rows, on its own local date.

An invoice belongs to its sponsor's agency's regency, a worker (coverage, new sponsor) to their village's; the
per-regency scans together write what the whole scan writes when the regencies share a zone. Time travel by
passing `now`; tasks are eager (the slot delay is for a broker)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from notifications.models import Notification
from sponsorship.billing import tasks
from sponsorship.billing.models import Invoice
from sponsorship.billing.reminders import reminders_scan
from sponsorship.billing.services.billing import billing_run
from sponsorship.billing.services.scheduled import reminder_scan_dispatch
from sponsorship.core.periods import local_today, month_start
from sponsorship.people.models import Sponsorship
from sponsorship.regions import scheduling
from sponsorship.regions.models import RegencyConfig, RegencyJobRun
from tests import factories
from tests.billing.test_payday import second_regency

pytestmark = pytest.mark.django_db

WIB = ZoneInfo("Asia/Jakarta")
WIT = ZoneInfo("Asia/Jayapura")
PONOROGO_VILLAGE = "35.02.17.1001"
PASER_VILLAGE = "64.01.01.2001"


def outbox() -> dict[str, tuple]:
    return {
        n.dedupe_key: (n.recipient_id, n.kind, n.title, n.body, n.data, n.collapse_key, n.expires_at, n.next_attempt_at)
        for n in Notification.objects.all()
    }


@pytest.fixture
def two_regencies(regency, agency):
    """Ponorogo and Paser (both WIB here) with sponsors in each, workers in each, and sponsors whose workers live in
    the other regency: invoices due in 3 days / today / 3 and 7 days ago, workers protected, in grace, lapsed."""
    paser = second_regency(zone=RegencyConfig.Zone.WIB)
    paser_agency = factories.make_agency(paser)
    current = month_start(local_today())
    sponsors, workers = [], []
    for sponsor_agency, home in ((agency, PONOROGO_VILLAGE), (paser_agency, PASER_VILLAGE)):
        for village in (PONOROGO_VILLAGE, PASER_VILLAGE):  # one sponsor at home, one across the border
            sponsor = factories.make_sponsor(agency=sponsor_agency, capacity=3, village_code=home)
            for n in range(2):
                worker = factories.make_worker(full_name=f"Pekerja {len(workers)}", village_code=village, user=n == 0)
                factories.sponsor_worker(sponsor, worker)
                workers.append(worker)
            sponsors.append(sponsor)
    billing_run(period=current, notify=False)
    today = local_today()
    due_dates = [today + dt.timedelta(days=3), today, today - dt.timedelta(days=3), today - dt.timedelta(days=7)]
    invoices = list(Invoice.objects.filter(sponsor__in=sponsors).order_by("pk"))
    assert len(invoices) == 4
    for invoice, due in zip(invoices, due_dates, strict=True):
        Invoice.objects.filter(pk=invoice.pk).update(due_date=due)
    states = [(-2, -1, 0), (-3, -2, -1), (-3, -2), (-9, -8)]  # protected, grace 1 and 2 months, lapsed
    for i, worker in enumerate(workers):
        factories.paid_months(worker, invoices[0], *states[i % 4], current=current)
    return paser, sponsors, workers


def test_per_regency_scans_together_write_what_the_whole_scan_writes(regency, two_regencies):
    paser, sponsors, workers = two_regencies
    now = timezone.now()
    whole = reminders_scan(now=now)
    expected = outbox()
    kinds = {row[1] for row in expected.values()}
    assert {"invoice_due_soon", "invoice_due_today", "invoice_overdue", "worker_new_sponsor"} <= kinds, kinds
    assert kinds & {"coverage_lapsing", "worker_at_risk", "worker_lapsed", "worker_protected"}, kinds

    Notification.objects.all().delete()
    parts = [reminders_scan(regency_id=rid, now=now) for rid in (regency.pk, paser.pk)]
    assert outbox() == expected
    for name in ("invoices", "coverage", "new_sponsor"):  # no row written twice, none missed
        assert sum(p[name] for p in parts) == whole[name], (name, parts, whole)
    assert all(p[name] for p in parts for name in ("invoices", "coverage", "new_sponsor")), parts
    # a second round of per-regency scans writes nothing (the dedupe keys are unchanged)
    assert [reminders_scan(regency_id=rid, now=now) for rid in (regency.pk, paser.pk)] == [
        {"invoices": 0, "coverage": 0, "new_sponsor": 0}
    ] * 2


def test_an_invoice_belongs_to_its_sponsors_regency_a_worker_to_their_villages(regency, two_regencies):
    paser, sponsors, workers = two_regencies
    now = timezone.now()
    reminders_scan(regency_id=paser.pk, now=now)
    paser_sponsor_users = {s.user_id for s in sponsors[2:]}
    invoice_rows = Notification.objects.filter(kind__startswith="invoice_")
    assert invoice_rows and {n.recipient_id for n in invoice_rows} <= paser_sponsor_users
    paser_workers = {w.pk for w in workers if w.village.code == PASER_VILLAGE}
    for n in Notification.objects.exclude(kind__startswith="invoice_"):
        worker_id = int(n.dedupe_key.split(":")[1]) if n.dedupe_key.startswith("worker:") else None
        if worker_id is not None:
            assert worker_id in paser_workers, n.dedupe_key
    # the lapsing notice about a Paser worker goes to a Ponorogo sponsor, written by Paser's scan
    ponorogo_sponsor_users = {s.user_id for s in sponsors[:2]}
    assert Notification.objects.filter(kind="coverage_lapsing", recipient_id__in=ponorogo_sponsor_users).exists()


def test_a_wit_regency_uses_its_own_date(regency, agency):
    """23:30 WIB on 14 December is 01:30 WIT on the 15th: the WIT regency's bill due on the 15th is due today, and
    its lifetime and the quiet hours are WIT's; Ponorogo at that instant is still on the 14th."""
    papua = second_regency(zone=RegencyConfig.Zone.WIT)
    wib_sponsor = factories.make_sponsor(agency=agency, capacity=3)
    factories.sponsor_worker(wib_sponsor, factories.make_worker())
    wit_sponsor = factories.make_sponsor(agency=factories.make_agency(papua), capacity=3, village_code=PASER_VILLAGE)
    factories.sponsor_worker(wit_sponsor, factories.make_worker(village_code=PASER_VILLAGE))
    billing_run(period=dt.date(2026, 12, 1), notify=False)
    wit_invoice = wit_sponsor.invoices.get()
    wib_invoice = wib_sponsor.invoices.get()
    Invoice.objects.filter(pk=wit_invoice.pk).update(due_date=dt.date(2026, 12, 15))
    Invoice.objects.filter(pk=wib_invoice.pk).update(due_date=dt.date(2026, 12, 14))
    now = dt.datetime(2026, 12, 14, 23, 30, tzinfo=WIB)
    assert now.astimezone(WIT) == dt.datetime(2026, 12, 15, 1, 30, tzinfo=WIT)

    # the whole-deployment scan (WIB date) misses the WIT bill due "today"
    assert reminders_scan(now=now)["invoices"] == 1
    Notification.objects.all().delete()

    assert reminders_scan(regency_id=papua.pk, now=now)["invoices"] == 1
    row = Notification.objects.get(recipient=wit_sponsor.user, kind__startswith="invoice_")
    assert row.kind == "invoice_due_today" and row.dedupe_key == f"invoice:{wit_invoice.pk}:reminder:2026-12-15"
    assert row.expires_at == dt.datetime(2026, 12, 16, tzinfo=WIT)  # end of the due day, WIT
    assert row.next_attempt_at == dt.datetime(2026, 12, 15, 6, tzinfo=WIT)  # held by quiet hours to 06:00 WIT

    assert reminders_scan(regency_id=regency.pk, now=now)["invoices"] == 1
    row = Notification.objects.get(recipient=wib_sponsor.user, kind__startswith="invoice_")
    assert row.kind == "invoice_due_today" and row.dedupe_key == f"invoice:{wib_invoice.pk}:reminder:2026-12-14"
    assert row.expires_at == dt.datetime(2026, 12, 15, tzinfo=WIB)


def test_the_dispatcher_enqueues_one_scan_per_regency_with_its_slot(regency, agency, monkeypatch):
    papua = second_regency(zone=RegencyConfig.Zone.WIT)  # no agency: only a worker, sponsored from Ponorogo
    sponsor = factories.make_sponsor(agency=agency, capacity=3)
    factories.sponsor_worker(sponsor, factories.make_worker(user=True))
    factories.sponsor_worker(sponsor, factories.make_worker(village_code=PASER_VILLAGE, user=True))
    now = dt.datetime(2026, 12, 14, 23, 5, tzinfo=WIB)
    Sponsorship.objects.update(started_at=now - dt.timedelta(days=1))  # within the new-sponsor lookback

    calls = []
    monkeypatch.setattr(
        tasks.scan_reminders_regency, "apply_async", lambda args, countdown: calls.append((args, countdown))
    )
    slots = reminder_scan_dispatch(now=now)
    expected = {
        regency.pk: (scheduling.slot_delay(regency.code), dt.date(2026, 12, 14)),
        papua.pk: (scheduling.slot_delay(papua.code), dt.date(2026, 12, 15)),
    }
    assert {s.regency_id: (s.delay_s, s.local_date) for s in slots} == expected
    assert sorted(calls) == sorted(([rid], delay) for rid, (delay, _) in expected.items())
    assert all(0 <= delay < scheduling.SPREAD_SECONDS for _, delay in calls)
    # every hour, not once a day: the next tick enqueues both again (the outbox keys make it a no-op)
    reminder_scan_dispatch(now=now + dt.timedelta(hours=1))
    assert len(calls) == 4
    assert not RegencyJobRun.objects.exists()

    monkeypatch.undo()  # eager tasks: each regency's scan runs now, on its own local date
    reminder_scan_dispatch(now=now)
    keys = set(Notification.objects.filter(kind="worker_new_sponsor").values_list("dedupe_key", flat=True))
    assert len(keys) == 2


@pytest.mark.parametrize("broker_down", [False, True])
def test_a_failing_regency_does_not_stop_the_others(regency, agency, monkeypatch, broker_down):
    broken = second_regency(zone=RegencyConfig.Zone.WIT)
    factories.sponsor_worker(
        factories.make_sponsor(agency=factories.make_agency(broken), capacity=3, village_code=PASER_VILLAGE),
        factories.make_worker(village_code=PASER_VILLAGE, user=True),
    )
    sponsor = factories.make_sponsor(agency=agency, capacity=3)
    worker = factories.make_worker(user=True)
    factories.sponsor_worker(sponsor, worker)
    now = dt.datetime(2026, 12, 14, 10, 5, tzinfo=WIB)
    Sponsorship.objects.update(started_at=now - dt.timedelta(days=1))  # within the new-sponsor lookback
    RegencyConfig.objects.filter(regency=broken).update(timezone="Asia/Atlantis")  # its scan raises at once
    with pytest.raises(Exception):  # noqa: B017,PT011 - ZoneInfoNotFoundError
        reminders_scan(regency_id=broken.pk)
    if broker_down:

        def refuse(*args, **kwargs):
            raise ConnectionError("broker unreachable")

        monkeypatch.setattr(tasks.scan_reminders_regency, "apply_async", refuse)
    slots = reminder_scan_dispatch(now=now)
    assert {s.regency_id for s in slots} == {regency.pk, broken.pk}
    [row] = Notification.objects.filter(kind="worker_new_sponsor")
    assert row.recipient_id == worker.user_id
    assert not Notification.objects.exclude(recipient__in=[worker.user_id, sponsor.user_id]).exists()
