"""Issue #4 gaps: late additions are billed, money going back (reversal, refund, chargeback) takes coverage back,
refund cases are refunded through Midtrans (the real midtransclient against the simulator, over HTTP)."""

import datetime as dt
import json
import threading

import pytest
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sponsorship.billing.models import (
    CoverageMonth,
    CreditEntry,
    Invoice,
    InvoiceLine,
    PaymentAttempt,
    PaymentNotification,
    RefundCase,
)
from sponsorship.billing.selectors.coverage import worker_coverage_status
from sponsorship.billing.services.billing import billing_run, periods_to_bill
from sponsorship.billing.services.refunds import refund_case_refund
from sponsorship.core.models import AuditLog
from sponsorship.people.models import Sponsor, Sponsorship
from sponsorship.people.services.sponsorships import sponsorship_end
from tests import factories
from tests.billing.conftest import DEC_2026, notification_from_status, sim_control

D = dt.date
JAN_2027 = D(2027, 1, 1)
NOTIFY = "/api/v1/payments/midtrans/notification/"
WIB = dt.timezone(dt.timedelta(hours=7))


def post_note(client, payload):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(NOTIFY, data=json.dumps(payload), content_type="application/json")


def note_for(order_id, **override):
    return notification_from_status(order_id, **override)


def dashboard_summary_agrees():
    """The trigger-maintained dashboard summary follows coverage removal and invoice status changes."""
    from tests.dashboard.test_summary_agrees import rebuilt, table

    assert table() == rebuilt()


def pay_invoice(api, sim, http, client, invoice, method):
    order_id = api(invoice.sponsor.user).post(f"/api/v1/sponsor/invoices/{invoice.pk}/pay/").json()["order_id"]
    sim_control(http, sim, "pay", {"order_id": order_id, "method": method})
    assert post_note(client, note_for(order_id)).status_code == 200
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    return order_id


# ---- 1. late additions ----------------------------------------------------------------------------------
def test_worker_accepted_after_the_invoice_gets_a_supplementary_invoice(agency):
    sponsor = factories.make_sponsor(agency=agency, capacity=3)
    for _ in range(2):
        factories.sponsor_worker(sponsor, factories.make_worker())
    first = billing_run(period=DEC_2026, notify=False)
    assert (first.invoices, first.lines) == (1, 2)
    late = factories.make_worker(full_name="Wahyu Baru")
    factories.sponsor_worker(sponsor, late)
    second = billing_run(period=DEC_2026, notify=False, now=timezone.make_aware(dt.datetime(2026, 12, 14, 9)))
    assert (second.invoices, second.lines) == (1, 1)
    main, extra = Invoice.objects.filter(sponsor=sponsor, period=DEC_2026).order_by("sequence")
    assert (main.sequence, extra.sequence) == (1, 2)
    assert extra.number == main.number + "-S2" and extra.kind == "monthly"
    assert list(extra.lines.values_list("worker_id", flat=True)) == [late.pk]
    assert extra.due_date == D(2026, 12, 17)  # 14 Dec + 3 days (the month's own due date, the 15th, is too close)
    assert main.due_date == D(2026, 12, 15)
    # idempotent: nothing left to bill; no worker-month is on two live invoices
    assert billing_run(period=DEC_2026, notify=False).invoices == 0
    assert InvoiceLine.objects.filter(month=DEC_2026).count() == 3
    assert InvoiceLine.objects.filter(month=DEC_2026).values("worker_id").distinct().count() == 3


def test_a_covered_or_billed_month_is_never_billed_again_and_a_voided_one_is(family):
    sponsor, workers = family
    billing_run(period=DEC_2026, notify=False)
    invoice = Invoice.objects.get()
    from sponsorship.billing.services.billing import invoice_void

    invoice_void(invoice=invoice, reason="salah data")
    rerun = billing_run(period=DEC_2026, notify=False)  # the sponsorships are still active: the month is owed
    assert (rerun.invoices, rerun.lines) == (1, 3)
    assert Invoice.objects.get(status="issued").sequence == 2


def test_sponsorship_started_after_the_due_date_is_first_billed_next_month(agency):
    sponsor = factories.make_sponsor(agency=agency, capacity=3)
    early, late = factories.make_worker(), factories.make_worker()
    factories.sponsor_worker(sponsor, early)
    factories.sponsor_worker(sponsor, late)
    # 15 Dec 2026 is the due date: started that evening (WIB) → billed for December; the 16th → from January
    Sponsorship.objects.filter(worker=early).update(started_at=dt.datetime(2026, 12, 15, 23, 30, tzinfo=WIB))
    Sponsorship.objects.filter(worker=late).update(started_at=dt.datetime(2026, 12, 16, 0, 30, tzinfo=WIB))
    billing_run(period=DEC_2026, notify=False, now=dt.datetime(2026, 12, 16, 8, tzinfo=WIB))
    december = set(InvoiceLine.objects.filter(month=DEC_2026).values_list("worker_id", flat=True))
    assert early.pk in december and late.pk not in december
    billing_run(period=JAN_2027, notify=False, now=dt.datetime(2026, 12, 22, 8, tzinfo=WIB))
    assert {early.pk, late.pk} <= set(InvoiceLine.objects.filter(month=JAN_2027).values_list("worker_id", flat=True))


def test_daily_run_bills_this_month_and_next_once_in_the_window(settings):
    settings.BILLING_ISSUE_DAYS_BEFORE = 10
    assert periods_to_bill(D(2026, 12, 3)) == [DEC_2026]
    assert periods_to_bill(D(2026, 12, 22)) == [DEC_2026, JAN_2027]


def test_supplementary_run_query_count_does_not_grow_with_rows(agency):
    def make(n):
        made = []
        for _ in range(n):
            s = factories.make_sponsor(agency=agency, capacity=3)
            factories.sponsor_worker(s, factories.make_worker())
            made.append(s)
        return made

    small = make(2)
    billing_run(period=DEC_2026, notify=False)
    for s in small:
        factories.sponsor_worker(s, factories.make_worker())
    with CaptureQueriesContext(connection) as q_small:
        assert billing_run(period=DEC_2026, notify=False).invoices == 2
    large = make(8)
    billing_run(period=JAN_2027, notify=False)
    for s in small + large:
        factories.sponsor_worker(s, factories.make_worker())
    with CaptureQueriesContext(connection) as q_large:
        assert billing_run(period=JAN_2027, notify=False).invoices == 10
    assert len(q_large.captured_queries) == len(q_small.captured_queries)


@pytest.mark.django_db(transaction=True)
def test_parallel_runs_bill_a_late_addition_once(agency):
    from tests.factories import restore_reference_rows

    restore_reference_rows()
    sponsors = []
    for _ in range(5):
        s = factories.make_sponsor(agency=agency, capacity=3)
        factories.sponsor_worker(s, factories.make_worker())
        sponsors.append(s)
    billing_run(period=DEC_2026, notify=False)
    for s in sponsors:
        factories.sponsor_worker(s, factories.make_worker())
    barrier, results, errors = threading.Barrier(3), [], []

    def run():
        from django.db import connection as conn

        try:
            barrier.wait()
            results.append(billing_run(period=DEC_2026, notify=False))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors, errors
    assert sum(r.invoices for r in results) == 5 and sum(r.lines for r in results) == 5
    assert Invoice.objects.filter(sequence=2).count() == 5
    assert InvoiceLine.objects.count() == 10
    assert InvoiceLine.objects.values("worker_id", "month").distinct().count() == 10


@pytest.mark.django_db(transaction=True)
def test_a_billing_run_waits_for_a_prepay_in_flight_and_never_bills_its_months_twice(agency):
    """Without the shared billing lock the run would not see the uncommitted prepay and bill its month again."""
    from django.db import transaction

    from sponsorship.billing.services.billing import invoice_create_prepay
    from tests.factories import restore_reference_rows

    restore_reference_rows()
    sponsor = factories.make_sponsor(agency=agency, capacity=3)
    for _ in range(2):
        factories.sponsor_worker(sponsor, factories.make_worker())
    in_flight, release, out, errors = threading.Event(), threading.Event(), {}, []

    def prepay():
        from django.db import connection as conn

        try:
            with transaction.atomic():
                out["prepay"] = invoice_create_prepay(sponsor=Sponsor.objects.get(pk=sponsor.pk), months=3)
                in_flight.set()
                release.wait(10)  # the sponsor's request is still writing when the daily run starts
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
            in_flight.set()
        finally:
            conn.close()

    def run():
        from django.db import connection as conn

        try:
            out["run"] = billing_run(period=out["prepay"].period, notify=False)  # its first month
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            conn.close()

    p = threading.Thread(target=prepay)
    p.start()
    assert in_flight.wait(10) and not errors, errors
    r = threading.Thread(target=run)
    r.start()
    r.join(1.0)
    assert r.is_alive(), ("the billing run must wait for the prepay in flight", errors, out)
    release.set()
    p.join(10)
    r.join(20)
    assert not errors, errors
    assert out["run"].invoices == 0  # the prepay already bills that month for both workers
    assert InvoiceLine.objects.count() == 6
    assert InvoiceLine.objects.values("worker_id", "month").distinct().count() == 6


# ---- 2. money going back takes coverage back ------------------------------------------------------------
@pytest.fixture
def invoice(family, gateway_settings):
    billing_run(period=DEC_2026, notify=False)
    return Invoice.objects.get(sponsor=family[0])


def test_bank_reversal_removes_coverage_and_makes_the_invoice_payable_again(invoice, family, api, sim, http, client):
    worker = family[1][0]
    order_id = pay_invoice(api, sim, http, client, invoice, "permata_va")
    assert CoverageMonth.objects.filter(invoice=invoice).count() == 3
    assert worker_coverage_status(worker, today=D(2026, 12, 20)).state == "protected"
    sim_control(http, sim, "reverse", {"order_id": order_id})  # settlement → deny (Permata)
    reversal = note_for(order_id)
    assert reversal["transaction_status"] == "deny"
    assert post_note(client, reversal).status_code == 200
    invoice.refresh_from_db()
    attempt = PaymentAttempt.objects.get(order_id=order_id)
    assert attempt.status == "reversed" and invoice.status == "issued" and invoice.paid_at is None
    assert not CoverageMonth.objects.exists()
    assert worker_coverage_status(worker, today=D(2026, 12, 20)).state != "protected"
    row = PaymentNotification.objects.get(transaction_status="deny")
    assert row.state == "processed" and row.outcome == "reversed" and '"deny"' in row.raw_body
    audit = AuditLog.objects.get(action="payment.reversed")
    assert len(audit.after["coverage_removed"]) == 3 and audit.after["invoice"] == "paid->issued"
    dashboard_summary_agrees()
    # payable again: a new attempt pays it and coverage comes back
    again = api(invoice.sponsor.user).post(f"/api/v1/sponsor/invoices/{invoice.pk}/pay/")
    assert again.status_code == 201 and again.json()["order_id"] != order_id
    sim_control(http, sim, "pay", {"order_id": again.json()["order_id"], "method": "bca_va"})
    assert post_note(client, note_for(again.json()["order_id"])).status_code == 200
    invoice.refresh_from_db()
    assert invoice.status == "paid" and CoverageMonth.objects.filter(invoice=invoice).count() == 3
    assert worker_coverage_status(worker, today=D(2026, 12, 20)).state == "protected"
    # a late copy of the deny changes nothing
    assert post_note(client, {**reversal, "transaction_id": reversal["transaction_id"]}).json()["status"] == "duplicate"
    assert CoverageMonth.objects.count() == 3


def test_refund_from_the_midtrans_dashboard_takes_coverage_back(invoice, family, api, sim, http, client):
    order_id = pay_invoice(api, sim, http, client, invoice, "gopay")
    sim_control(http, sim, "refund", {"order_id": order_id})  # full refund made outside Pengampu
    assert post_note(client, note_for(order_id, status_code="200")).status_code == 200
    invoice.refresh_from_db()
    assert invoice.status == "refunded" and not CoverageMonth.objects.exists()
    attempt = PaymentAttempt.objects.get(order_id=order_id)
    assert attempt.status == "refunded" and attempt.refunded_amount_idr == 25_200
    assert AuditLog.objects.filter(action="payment.refunded", object_id=str(attempt.pk)).exists()
    assert worker_coverage_status(family[1][0], today=D(2026, 12, 20)).state != "protected"
    dashboard_summary_agrees()
    # the refunded invoice is not live: the next run bills those worker-months again
    rerun = billing_run(period=DEC_2026, notify=False)
    assert (rerun.invoices, rerun.lines) == (1, 3)


def test_partial_refund_and_chargeback(invoice, family, api, sim, http, client):
    order_id = pay_invoice(api, sim, http, client, invoice, "other_qris")
    sim_control(http, sim, "refund", {"order_id": order_id, "amount": 5_200, "refund_key": "dash-1"})
    assert post_note(client, note_for(order_id, status_code="200")).status_code == 200
    invoice.refresh_from_db()
    assert invoice.status == "refunded" and not CoverageMonth.objects.exists()
    kept = CreditEntry.objects.get(kind="restored")
    assert kept.amount_idr == 20_000  # paid 25,200, 5,200 returned: the rest stays the sponsor's credit
    sim_control(http, sim, "chargeback", {"order_id": order_id})  # the rest is charged back
    assert post_note(client, note_for(order_id, status_code="200")).status_code == 200
    attempt = PaymentAttempt.objects.get(order_id=order_id)
    assert attempt.status == "charged_back" and attempt.refunded_amount_idr == 25_200
    assert sum(CreditEntry.objects.values_list("amount_idr", flat=True)) == 0
    dashboard_summary_agrees()


# ---- 3. refund cases through Midtrans -------------------------------------------------------------------
@pytest.fixture
def double_paid(invoice, family, api, sim, http, client):
    """Two checkouts of one invoice both paid, after the sponsor stopped sponsoring: the second is a refund case."""

    def open_checkout():
        order_id = api(invoice.sponsor.user).post(f"/api/v1/sponsor/invoices/{invoice.pk}/pay/").json()["order_id"]
        PaymentAttempt.objects.filter(order_id=order_id).update(
            created_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
        )  # stale: the next click opens another
        return order_id

    def settle(order_id, method):
        sim_control(http, sim, "pay", {"order_id": order_id, "method": method})
        assert post_note(client, note_for(order_id)).status_code == 200

    def make(method):
        first, second = open_checkout(), open_checkout()
        settle(first, "bca_va")
        for s in Sponsorship.objects.filter(sponsor=family[0], status="active"):
            sponsorship_end(sponsorship=s, reason="sponsor_request")
        settle(second, method)
        return RefundCase.objects.select_related("attempt").get(attempt__order_id=second)

    return make


def test_refund_case_is_refunded_through_midtrans_and_the_notification_confirms_it(
    double_paid, sim, http, client, admin_client_for_refunds
):
    case = double_paid("gopay")
    assert case.reason == "double_payment" and case.amount_idr == 25_200 and case.status == "open"
    outcome, case = refund_case_refund(case=case, actor=admin_client_for_refunds)
    assert outcome == "refunded" and case.status == "refunded" and case.refunded_amount_idr == 25_200
    assert case.refund_key.startswith(f"rc{case.pk}-")
    tx = sim.state.find(case.attempt.order_id)
    assert [r["refund_key"] for r in tx["refunds"]] == [case.refund_key] and tx["transaction_status"] == "refund"
    assert post_note(client, note_for(case.attempt.order_id, status_code="200")).status_code == 200
    case.refresh_from_db()
    assert case.bank_confirmed_at and case.status == "refunded"
    case.attempt.refresh_from_db()
    assert case.attempt.status == "refunded"
    assert CoverageMonth.objects.count() == 3  # the first payment's coverage is untouched
    assert Invoice.objects.get().status == "paid"
    actions = list(
        AuditLog.objects.filter(object_id=str(case.pk), action__startswith="refund.").values_list("action", flat=True)
    )
    assert sorted(actions) == ["refund.done", "refund.request"]
    with pytest.raises(Exception) as err:  # a second click: the case is not open any more
        refund_case_refund(case=case)
    assert err.value.status_code == 409


def test_va_refund_case_is_marked_for_manual_transfer(double_paid, sim):
    case = double_paid("bni_va")
    outcome, case = refund_case_refund(case=case)
    assert outcome == "manual_transfer" and case.status == "manual_transfer"
    assert "transfer bank manual" in case.note
    assert sim.state.find(case.attempt.order_id)["refunds"] == []  # nothing was sent to Midtrans
    assert AuditLog.objects.filter(action="refund.manual_transfer", object_id=str(case.pk)).exists()


def test_gateway_down_is_503_the_case_stays_open_and_a_retry_uses_the_same_key(double_paid, sim, http):
    case = double_paid("shopeepay")
    sim_control(
        http,
        sim,
        "faults",
        {"path_prefix": f"/v2/{case.attempt.transaction_id}/refund", "mode": "http_503", "count": 1},
    )
    with pytest.raises(Exception) as err:
        refund_case_refund(case=case)
    assert err.value.status_code == 503 and err.value.code == "gateway_unavailable"
    case.refresh_from_db()
    assert case.status == "open" and "unavailable" in case.last_error and case.refund_key
    key = case.refund_key
    sim_control(
        http,
        sim,
        "faults",
        {"path_prefix": f"/v2/{case.attempt.transaction_id}/refund", "mode": "delay", "seconds": 1.5, "count": 1},
    )
    with pytest.raises(Exception) as err:  # timeout (1 s): Midtrans may have refunded; we cannot know
        refund_case_refund(case=case)
    assert err.value.status_code == 503
    outcome, case = refund_case_refund(case=case)
    assert outcome == "refunded" and case.refund_key == key
    refunds = sim.state.find(case.attempt.order_id)["refunds"]
    assert len(refunds) == 1 and refunds[0]["refund_key"] == key  # the retried key never refunds twice
    assert AuditLog.objects.filter(action="refund.failed", object_id=str(case.pk)).count() == 2


def test_gateway_refusal_is_502_and_the_case_stays_open(double_paid, sim, http):
    case = double_paid("gopay")
    sim_control(http, sim, "refund", {"order_id": case.attempt.order_id})  # someone refunded it already
    with pytest.raises(Exception) as err:
        refund_case_refund(case=case)
    assert err.value.status_code == 502 and err.value.code == "gateway_rejected"
    case.refresh_from_db()
    assert case.status == "open" and case.last_error


def test_admin_action_refunds_over_http(double_paid, sim, client, admin_client_for_refunds):
    case = double_paid("gopay")
    client.force_login(admin_client_for_refunds)
    response = client.post(
        "/admin/billing/refundcase/", {"action": "refund_via_midtrans", "_selected_action": [case.pk]}, follow=True
    )
    assert response.status_code == 200
    case.refresh_from_db()
    assert case.status == "refunded"
    assert "dikembalikan lewat Midtrans" in response.content.decode()


@pytest.fixture
def admin_client_for_refunds(db):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_superuser("refund.admin", "refund@example.test", "pw-refund-1")


@pytest.mark.django_db(transaction=True)
def test_simulator_sends_the_reversal_and_the_chargeback_over_http(
    family, gateway_settings, api, sim, http, live_server, settings
):
    """No hand-made notifications: the simulator posts the signed deny / chargeback to this server itself."""
    import time

    from tests.factories import restore_reference_rows

    restore_reference_rows()
    settings.PUBLIC_BASE_URL = live_server.url  # checkouts carry X-Override-Notification to this server
    sponsor, workers = family
    billing_run(period=DEC_2026, notify=False)
    invoice = Invoice.objects.get()

    def wait_for(predicate, what):
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}")

    def paid_by(method):
        order_id = api(sponsor.user).post(f"/api/v1/sponsor/invoices/{invoice.pk}/pay/").json()["order_id"]
        sim_control(http, sim, "pay", {"order_id": order_id, "method": method})
        wait_for(lambda: Invoice.objects.get(pk=invoice.pk).status == "paid", f"{method} settlement")
        return order_id

    first = paid_by("echannel")  # Mandiri bill: the bank reverses it
    assert CoverageMonth.objects.count() == 3
    sim_control(http, sim, "reverse", {"order_id": first})
    wait_for(lambda: PaymentAttempt.objects.get(order_id=first).status == "reversed", "the reversal")
    assert Invoice.objects.get(pk=invoice.pk).status == "issued" and not CoverageMonth.objects.exists()
    second = paid_by("gopay")
    assert CoverageMonth.objects.count() == 3
    sim_control(http, sim, "chargeback", {"order_id": second})
    wait_for(lambda: PaymentAttempt.objects.get(order_id=second).status == "charged_back", "the chargeback")
    assert Invoice.objects.get(pk=invoice.pk).status == "refunded" and not CoverageMonth.objects.exists()
    assert PaymentNotification.objects.filter(transaction_status="chargeback", state="processed").exists()
    assert worker_coverage_status(workers[0], today=D(2026, 12, 20)).state != "protected"
