"""Races on PostgreSQL, with real threads and real transactions: nothing duplicated, nothing lost.

Each test releases N threads at once through a barrier; each thread has its own database connection.
"""

import datetime as dt
import threading

import pytest
from django.db import connections
from django.utils import timezone

from backend.api.errors import ConflictError
from sponsorship.people.models import Sponsor, Sponsorship, Worker
from sponsorship.people.services.sponsorships import sponsorship_start
from tests import factories

# No serialized_rollback: it re-inserts content types that a previous transactional test's flush already
# re-created (IntegrityError on django_content_type). The reference rows are put back explicitly instead.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _reference_rows(transactional_db):

    factories.restore_reference_rows()


def race(functions):
    """Run the callables at the same instant; return [("ok", value) | ("err", exception)] in order."""
    barrier = threading.Barrier(len(functions))
    results = [None] * len(functions)

    def run(i, fn):
        try:
            barrier.wait(timeout=10)
            results[i] = ("ok", fn())
        except Exception as exc:  # noqa: BLE001 — reported to the test
            results[i] = ("err", exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(functions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_eight_sponsors_race_for_one_worker(regency):
    agency = factories.make_agency(regency)
    sponsors = [factories.make_sponsor(agency=agency, capacity=3) for _ in range(8)]
    worker = factories.make_worker()
    results = race([lambda s=s: sponsorship_start(sponsor=s, worker=worker, source="admin") for s in sponsors])
    wins = [r for r in results if r[0] == "ok"]
    losses = [r[1] for r in results if r[0] == "err"]
    assert len(wins) == 1, results
    assert len(losses) == 7 and all(isinstance(e, ConflictError) and e.code == "worker_taken" for e in losses), losses
    assert Sponsorship.objects.filter(worker=worker, status="active").count() == 1
    # The losers' capacity slots were given back: counters equal the real number of active sponsorships.
    for sponsor in Sponsor.objects.filter(pk__in=[s.pk for s in sponsors]):
        assert sponsor.active_sponsorships == Sponsorship.objects.filter(sponsor=sponsor, status="active").count()


def test_capacity_race_one_free_slot_six_workers(regency):
    sponsor = factories.make_sponsor(agency=factories.make_agency(regency), capacity=2)
    factories.sponsor_worker(sponsor, factories.make_worker())
    workers = [factories.make_worker() for _ in range(6)]
    results = race([lambda w=w: sponsorship_start(sponsor=sponsor, worker=w, source="admin") for w in workers])
    assert sum(1 for r in results if r[0] == "ok") == 1, results
    assert all(r[1].code == "capacity_full" for r in results if r[0] == "err")
    sponsor.refresh_from_db()
    assert sponsor.active_sponsorships == 2 == Sponsorship.objects.filter(sponsor=sponsor, status="active").count()
    assert Worker.objects.filter(current_payer="sponsor").count() == 2


def test_parallel_duplicate_notifications_write_one_outbox_row(regency):
    from notifications.models import Notification
    from notifications.services import notify

    user = factories.make_sponsor(agency=factories.make_agency(regency)).user
    context = {
        "sponsor_name": "Budi",
        "amount_idr": 16800,
        "invoice_number": "INV-9",
        "invoice_id": 9,
        "period_label": "Desember 2026",
        "workers": 1,
    }
    results = race(
        [
            lambda: notify(user=user, kind="payment_received", context=context, dedupe_key="race-receipt-9")
            for _ in range(8)
        ]
    )
    assert all(r[0] == "ok" for r in results), results
    assert sum(1 for r in results if r[1] is not None) == 1
    assert Notification.objects.filter(dedupe_key="race-receipt-9").count() == 1


def _billing_world(regency, sponsors=4):
    agency = factories.make_agency(regency)
    for _ in range(sponsors):
        sponsor = factories.make_sponsor(agency=agency, capacity=2)
        for _ in range(2):
            factories.sponsor_worker(sponsor, factories.make_worker())
    # started before this month's due date, so this month is billed too (docs/money.md)
    from sponsorship.people.models import Sponsorship

    Sponsorship.objects.update(started_at=timezone.now() - dt.timedelta(days=62))


def test_two_billing_runs_in_parallel_issue_one_invoice_per_sponsor(regency):
    from sponsorship.billing.models import Invoice, InvoiceLine
    from sponsorship.billing.services.billing import billing_run
    from sponsorship.core.periods import add_months, local_today, month_start

    _reference_rows()
    _billing_world(regency)
    period = add_months(month_start(local_today()), 1)
    results = race([lambda: billing_run(period=period, notify=False) for _ in range(3)])
    assert all(r[0] == "ok" for r in results), results
    assert Invoice.objects.filter(period=period).count() == 4
    assert InvoiceLine.objects.filter(invoice__period=period).count() == 8
    assert sum(r[1].invoices for r in results) == 4  # together they issued each invoice exactly once


def test_two_reminder_scans_in_parallel_send_once(regency):
    from notifications.models import Notification
    from sponsorship.billing.reminders import reminders_scan
    from sponsorship.billing.services.billing import billing_run, due_date_for
    from sponsorship.core.periods import local_today, month_start

    _reference_rows()
    _billing_world(regency, sponsors=3)
    period = month_start(local_today())
    billing_run(period=period, notify=False, now=timezone.now() - dt.timedelta(days=10))
    due = due_date_for(period)
    scan_day = due - dt.timedelta(days=3)  # "due in 3 days" for every invoice
    noon = timezone.make_aware(dt.datetime.combine(scan_day, dt.time(12)))
    results = race([lambda: reminders_scan(today=scan_day, now=noon) for _ in range(3)])
    assert all(r[0] == "ok" for r in results), results
    keys = list(Notification.objects.values_list("dedupe_key", flat=True))
    assert keys and len(keys) == len(set(keys))
    assert Notification.objects.filter(kind="invoice_due_soon").count() == 3


def test_double_clicked_pay_makes_one_payment_attempt(regency, settings):
    from simulators.midtrans import MidtransSimulator
    from sponsorship.billing.models import Invoice, PaymentAttempt
    from sponsorship.billing.services.billing import billing_run
    from sponsorship.billing.services.checkout import payment_start
    from sponsorship.core.periods import add_months, local_today, month_start

    _reference_rows()
    sim = MidtransSimulator(server_key="SB-Mid-server-RACE", retry_scale=0.001, jitter=0.0).start()
    try:
        settings.MIDTRANS_API_BASE_URL, settings.MIDTRANS_SERVER_KEY = sim.base_url, "SB-Mid-server-RACE"
        settings.MIDTRANS_TIMEOUT_SECONDS, settings.PUBLIC_BASE_URL = 2.0, ""
        _billing_world(regency, sponsors=1)
        period = add_months(month_start(local_today()), 1)
        billing_run(period=period, notify=False)
        invoice = Invoice.objects.get(period=period)
        results = race([lambda: payment_start(invoice=Invoice.objects.get(pk=invoice.pk)) for _ in range(4)])
        assert all(r[0] == "ok" for r in results), results
        assert PaymentAttempt.objects.filter(invoice=invoice).count() == 1
        assert len({r[1].attempt.order_id for r in results}) == 1
    finally:
        sim.stop()


def _reference_rows():
    factories.restore_reference_rows()
