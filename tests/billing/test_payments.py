"""Paying through the real midtransclient against the local simulator, and the webhook."""

import datetime as dt
import json
import threading
import time

import pytest
from django.core.management import call_command
from django.test import TestCase
from django.utils import timezone

from sponsorship.billing.gateways.midtrans import signature
from sponsorship.billing.models import (
    CoverageMonth,
    CreditEntry,
    Invoice,
    PaymentAttempt,
    PaymentNotification,
    RefundCase,
)
from sponsorship.billing.selectors.coverage import worker_coverage_status
from sponsorship.billing.services.billing import billing_run
from sponsorship.billing.services.reconciliation import notifications_sweep, payments_reconcile
from tests.billing.conftest import DEC_2026, notification_from_status, signed, sim_control

NOTIFY = "/api/v1/payments/midtrans/notification/"


@pytest.fixture
def invoice(family, gateway_settings):
    billing_run(period=DEC_2026, notify=False)
    return Invoice.objects.get(sponsor=family[0])


def pay(api, invoice):
    return api(invoice.sponsor.user).post(f"/api/v1/sponsor/invoices/{invoice.pk}/pay/")


def post_note(client, payload):
    """POST like Midtrans. The test's transaction never commits, so run the after-commit callbacks here:
    that is where processing is enqueued (and, with eager Celery as in dev, runs)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(NOTIFY, data=json.dumps(payload), content_type="application/json")


def test_signature_test_vectors_from_the_reference():
    assert signature("PREM-2025-07-P42", "200", "50400.00", "SB-Mid-server-LOCALTEST").startswith("2c3071b7b3c20bd7")
    assert signature("PREM-2025-07-P42", "201", "50400.00", "SB-Mid-server-LOCALTEST").startswith("e759d7de0ec718e4")
    assert signature("PREM-2025-07-P42", "202", "50400.00", "SB-Mid-server-LOCALTEST").startswith("2c7ad086d2d0a6bb")


def test_pay_returns_snap_token_and_double_click_reuses_the_attempt(invoice, api, sim):
    first = pay(api, invoice)
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["token"] and body["redirect_url"].startswith(sim.base_url) and body["amount_idr"] == 25_200
    second = pay(api, invoice)
    assert second.status_code == 200 and second.json()["order_id"] == body["order_id"]
    assert PaymentAttempt.objects.filter(invoice=invoice).count() == 1


@pytest.mark.django_db(transaction=True)
def test_parallel_double_click_creates_one_live_attempt(family, gateway_settings, api):
    billing_run(period=DEC_2026, notify=False)
    invoice = Invoice.objects.get()
    answers, barrier = [], threading.Barrier(2)

    def click():
        from django.db import connection

        barrier.wait()
        answers.append(pay(api, invoice))
        connection.close()

    threads = [threading.Thread(target=click) for _ in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(a.status_code for a in answers) == [200, 201]
    assert len({a.json()["order_id"] for a in answers}) == 1
    assert PaymentAttempt.objects.count() == 1


@pytest.mark.parametrize(
    "fault,expected",
    [
        ({"mode": "http_500"}, 503),
        ({"mode": "http_503"}, 503),
        ({"mode": "http_502_html"}, 503),
        ({"mode": "close"}, 503),
        ({"mode": "delay", "seconds": 2.5}, 503),
    ],
)
def test_gateway_failure_answers_503_and_invoice_stays_payable(invoice, api, sim, http, fault, expected):
    sim_control(http, sim, "faults", {"path_prefix": "/snap/v1/transactions", "count": 1, **fault})
    started = time.monotonic()
    response = pay(api, invoice)
    assert response.status_code == expected and response.json()["code"] == "gateway_unavailable"
    assert time.monotonic() - started < 2.5  # the 1 s timeout fired
    invoice.refresh_from_db()
    assert invoice.status == "issued"
    assert PaymentAttempt.objects.get().status == "gateway_failed"
    retry = pay(api, invoice)
    assert retry.status_code == 201 and PaymentAttempt.objects.filter(status="open").count() == 1


def test_wrong_server_key_is_a_502(invoice, api, settings):
    settings.MIDTRANS_SERVER_KEY = "SB-Mid-server-WRONG"
    response = pay(api, invoice)
    assert response.status_code == 502 and response.json()["code"] == "gateway_rejected"


def test_settlement_notification_pays_invoice_and_creates_coverage(invoice, api, sim, http, client, family):
    order_id = pay(api, invoice).json()["order_id"]
    sim_control(http, sim, "pay", {"order_id": order_id, "method": "bca_va"})
    response = post_note(client, notification_from_status(order_id))
    assert response.status_code == 200, response.content
    invoice.refresh_from_db()
    assert invoice.status == "paid" and invoice.paid_at
    assert CoverageMonth.objects.filter(invoice=invoice).count() == 3
    status = worker_coverage_status(family[1][0], today=dt.date(2026, 12, 20))
    assert status.state == "protected" and status.protected_until == dt.date(2026, 12, 31)
    # Duplicate: harmless, answered 200, stored as evidence.
    again = post_note(client, notification_from_status(order_id))
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert CoverageMonth.objects.count() == 3 and PaymentNotification.objects.count() == 2


def test_late_pending_or_expire_never_undoes_a_settlement(invoice, api, sim, http, client):
    order_id = pay(api, invoice).json()["order_id"]
    sim_control(http, sim, "pay", {"order_id": order_id, "method": "bni_va"})
    settled = notification_from_status(order_id)
    assert post_note(client, settled).status_code == 200
    late_pending = signed({**settled, "transaction_status": "pending", "status_code": "201"})
    late_expire = signed({**settled, "transaction_status": "expire", "status_code": "202"})
    assert post_note(client, late_pending).status_code == 200
    assert post_note(client, late_expire).status_code == 200
    assert PaymentAttempt.objects.get().status == "settled"
    invoice.refresh_from_db()
    assert invoice.status == "paid"


def test_out_of_order_pending_after_settlement_from_status_api(invoice, api, sim, http, client):
    """A pending notification arriving first is confirmed against the status API, which already says settled."""
    order_id = pay(api, invoice).json()["order_id"]
    sim_control(http, sim, "pay", {"order_id": order_id, "method": "bri_va"})
    pending_first = signed(
        {**notification_from_status(order_id), "transaction_status": "pending", "status_code": "201"}
    )
    assert post_note(client, pending_first).status_code == 200
    assert PaymentAttempt.objects.get().status == "settled"


def test_forged_signature_is_403_and_changes_nothing(invoice, api, sim, http, client):
    order_id = pay(api, invoice).json()["order_id"]
    sim_control(http, sim, "pay", {"order_id": order_id, "method": "bca_va"})
    forged = notification_from_status(order_id)
    forged["signature_key"] = signature(order_id, "200", forged["gross_amount"], "SB-Mid-server-ATTACKER")
    response = post_note(client, forged)
    assert response.status_code == 403
    invoice.refresh_from_db()
    assert invoice.status == "issued" and not CoverageMonth.objects.exists()
    note = PaymentNotification.objects.get()
    assert note.state == "rejected" and note.signature_valid is False and note.raw_body


def test_recorded_reference_payloads(db, client, gateway_settings):
    """Verbatim docs samples: their signatures are illustrative (reference §10.5), so they are refused;
    re-signed with our key they are authentic but their order ids lack this deployment's prefix: 200 "ignored"
    (another deployment's), stored and logged; with our prefix, an order we never created: 404 and logged."""
    bca_settlement = {
        "va_numbers": [{"va_number": "333333333333333", "bank": "bca"}],
        "transaction_time": "2021-06-23 11:27:20",
        "transaction_status": "settlement",
        "transaction_id": "9aed5972-5b6a-401e-894b-a32c91ed1a3a",
        "status_message": "midtrans payment notification",
        "status_code": "200",
        "signature_key": (
            "fe5f725ea770c451017e9d6300af72b830a668d2f7d5da9b778ec2c4f9177efe"
            "5127d492d9ddfbcf6806ea5cd7dc1a7337c674d6139026b28f49ad0ea1ce5107"
        ),
        "settlement_time": "2021-06-23 11:27:50",
        "payment_type": "bank_transfer",
        "payment_amounts": [],
        "order_id": "bca-va-01",
        "merchant_id": "G141532850",
        "gross_amount": "100000.00",
        "fraud_status": "accept",
        "currency": "IDR",
    }
    qris_expire = {
        "transaction_time": "2020-09-29 11:31:39",
        "transaction_status": "expire",
        "transaction_id": "9728e0fd-a49c-4c25-8c88-404ef1c45e0e",
        "status_message": "midtrans payment notification",
        "status_code": "202",
        "signature_key": (
            "4580d8fc6c4a8dca3319efc1f629b8b33e923ec62b2e6ad7254ed6230ef0e579"
            "77b2f6124ba8f2a7a71c53ac7368f3f795ffbdecac3b5cf23e82f1ca5440ad1a"
        ),
        "payment_type": "qris",
        "order_id": "order03",
        "merchant_id": "M099098",
        "gross_amount": "275000.00",
        "fraud_status": "accept",
        "currency": "IDR",
        "acquirer": "gopay",
    }
    for sample in (bca_settlement, qris_expire):
        assert post_note(client, sample).status_code == 403
        assert post_note(client, signed(sample)).json() == {"status": "ignored"}
        ours = signed({**sample, "order_id": f"TEST-{sample['order_id']}"})
        assert post_note(client, ours).status_code == 404
    assert PaymentNotification.objects.filter(state="other_deployment").count() == 2
    assert PaymentNotification.objects.filter(state="unknown_order").count() == 2
    assert post_note(client, {"numeric": 1}).status_code == 403
    assert client.post(NOTIFY, data="not json", content_type="application/json").status_code == 400


def test_amount_mismatch_is_flagged_never_paid(invoice, api, sim, http, client):
    order_id = pay(api, invoice).json()["order_id"]
    PaymentAttempt.objects.filter(order_id=order_id).update(amount_idr=25_000)  # our record disagrees
    sim_control(http, sim, "pay", {"order_id": order_id, "method": "bca_va"})
    assert post_note(client, notification_from_status(order_id)).status_code == 200
    invoice.refresh_from_db()
    assert invoice.status == "issued" and not CoverageMonth.objects.exists()
    assert PaymentAttempt.objects.get().status == "flagged"
    assert RefundCase.objects.get().reason == "amount_mismatch"


def test_status_api_down_leaves_the_row_replayable_and_replay_command_finishes(invoice, api, sim, http, client):
    """The webhook answered 200 once the row was stored; the status call failing is our problem to retry."""
    order_id = pay(api, invoice).json()["order_id"]
    sim_control(http, sim, "pay", {"order_id": order_id, "method": "bca_va"})
    note = notification_from_status(order_id)
    sim_control(http, sim, "faults", {"path_prefix": "/v2/", "mode": "http_503", "count": 1})
    assert post_note(client, note).status_code == 200
    row = PaymentNotification.objects.get()
    assert row.state == "failed" and row.outcome == "status_unavailable" and row.attempts == 1
    invoice.refresh_from_db()
    assert invoice.status == "issued"
    call_command("replay_notifications")
    row.refresh_from_db()
    assert row.state == "processed" and row.attempts == 2
    invoice.refresh_from_db()
    assert invoice.status == "paid" and CoverageMonth.objects.count() == 3


def test_processing_failure_is_recorded_and_the_sweep_completes_it(invoice, api, sim, http, client, monkeypatch):
    order_id = pay(api, invoice).json()["order_id"]
    sim_control(http, sim, "pay", {"order_id": order_id, "method": "bca_va"})
    from sponsorship.billing.services import settlement

    def boom(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(settlement, "payment_apply_status", boom)
    assert post_note(client, notification_from_status(order_id)).status_code == 200  # stored: acknowledged
    row = PaymentNotification.objects.get()
    assert row.state == "failed" and "disk full" in row.error
    invoice.refresh_from_db()
    assert invoice.status == "issued" and not CoverageMonth.objects.exists()  # the failed try left nothing behind
    monkeypatch.undo()
    assert notifications_sweep() == {}  # backoff: not retried within the first minute
    later = timezone.now() + dt.timedelta(minutes=2)
    assert notifications_sweep(now=later) == {"settled": 1}
    row.refresh_from_db()
    assert row.state == "processed" and row.error == "" and row.attempts == 2
    invoice.refresh_from_db()
    assert invoice.status == "paid" and CoverageMonth.objects.count() == 3
    assert notifications_sweep(now=later) == {}  # processed rows are never processed again


def test_lost_enqueue_is_picked_up_by_the_sweep(invoice, api, sim, http, client, monkeypatch):
    """Broker down when the task is enqueued: the webhook still acknowledges (the row is stored), nothing is lost."""
    order_id = pay(api, invoice).json()["order_id"]
    sim_control(http, sim, "pay", {"order_id": order_id, "method": "gopay"})
    from sponsorship.billing import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionError("redis: connection refused")

    monkeypatch.setattr(tasks.process_payment_notifications, "delay", broker_down)
    assert post_note(client, notification_from_status(order_id)).status_code == 200
    assert PaymentNotification.objects.get().state == "received"
    assert notifications_sweep() == {}  # it may still be on its way
    assert notifications_sweep(now=timezone.now() + dt.timedelta(minutes=3)) == {"settled": 1}
    invoice.refresh_from_db()
    assert invoice.status == "paid" and PaymentNotification.objects.get().state == "processed"


def test_processing_twice_is_harmless(invoice, api, sim, http, client):
    from sponsorship.billing.services.settlement import notification_process

    order_id = pay(api, invoice).json()["order_id"]
    sim_control(http, sim, "pay", {"order_id": order_id, "method": "bca_va"})
    assert post_note(client, notification_from_status(order_id)).status_code == 200
    row = PaymentNotification.objects.get()
    assert notification_process(note_id=row.pk) == "skipped_processed"
    PaymentNotification.objects.filter(pk=row.pk).update(state="failed")  # as if a worker died before marking it
    assert notification_process(note_id=row.pk) == "no_change_settled"
    assert CoverageMonth.objects.count() == 3 and not CreditEntry.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_failure_to_store_answers_503_so_midtrans_retries(
    family, gateway_settings, api, sim, http, client, monkeypatch
):
    billing_run(period=DEC_2026, notify=False)
    invoice = Invoice.objects.get()
    order_id = pay(api, invoice).json()["order_id"]
    sim_control(http, sim, "pay", {"order_id": order_id, "method": "bca_va"})
    body = notification_from_status(order_id)
    from sponsorship.billing.services import webhook

    monkeypatch.setattr(
        webhook, "_ACCEPT_SQL", webhook._ACCEPT_SQL.replace("INSERT INTO {note}", "INSERT INTO {note}_gone")
    )
    assert post_note(client, body).status_code == 503
    assert not PaymentNotification.objects.exists()
    monkeypatch.undo()
    assert post_note(client, body).status_code == 200  # Midtrans's retry
    invoice.refresh_from_db()
    assert invoice.status == "paid"


def test_second_payment_of_same_months_becomes_credit_on_next_invoice(invoice, api, sim, http, client):
    first = pay(api, invoice).json()["order_id"]
    PaymentAttempt.objects.filter(order_id=first).update(created_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    second = pay(api, invoice).json()["order_id"]
    assert first != second
    for order_id in (first, second):
        sim_control(http, sim, "pay", {"order_id": order_id, "method": "bca_va"})
        assert post_note(client, notification_from_status(order_id)).status_code == 200
    assert CoverageMonth.objects.count() == 3
    assert CreditEntry.objects.get().amount_idr == 25_200
    billing_run(period=dt.date(2027, 1, 1), notify=False)
    january = Invoice.objects.get(period=dt.date(2027, 1, 1))
    assert january.credit_applied_idr == min(25_200, january.subtotal_idr)
    assert january.amount_idr == january.subtotal_idr - january.credit_applied_idr


def test_reconciliation_settles_a_payment_whose_notification_was_lost(invoice, api, sim, http):
    order_id = pay(api, invoice).json()["order_id"]
    sim_control(http, sim, "pay", {"order_id": order_id, "method": "other_qris"})
    assert payments_reconcile(older_than_minutes=0) == {"settled": 1}
    invoice.refresh_from_db()
    assert invoice.status == "paid" and CoverageMonth.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_twenty_identical_notifications_in_parallel_give_one_coverage_set(
    family, gateway_settings, api, sim, http, live_server
):
    billing_run(period=DEC_2026, notify=False)
    invoice = Invoice.objects.get()
    order_id = pay(api, invoice).json()["order_id"]
    sim_control(http, sim, "pay", {"order_id": order_id, "method": "bca_va"})
    body = json.dumps(notification_from_status(order_id))
    barrier, codes = threading.Barrier(20), []

    def send():
        import requests

        s = requests.Session()
        s.trust_env = False
        barrier.wait()
        codes.append(
            s.post(
                live_server.url + NOTIFY, data=body, headers={"Content-Type": "application/json"}, timeout=30
            ).status_code
        )

    threads = [threading.Thread(target=send) for _ in range(20)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert codes == [200] * 20
    assert CoverageMonth.objects.count() == 3
    assert PaymentAttempt.objects.get().status == "settled"
    assert not CreditEntry.objects.exists() and not RefundCase.objects.exists()
    assert PaymentNotification.objects.count() == 20


@pytest.mark.django_db(transaction=True)
def test_full_path_over_http(family, gateway_settings, api, sim, http, live_server, settings):
    """invoice → pay API → customer pays on the simulator → signed notification to this server → coverage → status."""
    settings.PUBLIC_BASE_URL = live_server.url
    sponsor, workers = family
    billing_run(period=DEC_2026, notify=False)
    invoice = Invoice.objects.get()
    paid = pay(api, invoice).json()
    page = http.get(paid["redirect_url"], timeout=5)
    assert page.status_code == 200
    sim_control(http, sim, "pay", {"order_id": paid["order_id"], "method": "gopay"})
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        invoice.refresh_from_db()
        if invoice.status == "paid":
            break
        time.sleep(0.1)
    assert invoice.status == "paid"
    assert CoverageMonth.objects.filter(invoice=invoice).count() == 3
    status = api(sponsor.user).get(f"/api/v1/workers/{workers[2].pk}/coverage/", HTTP_ACCEPT_LANGUAGE="en")
    assert status.status_code == 200
    assert PaymentNotification.objects.filter(state="processed").exists()


def test_wakeups_of_a_burst_are_coalesced_into_few_celery_messages(monkeypatch):
    """Outside eager mode the web process enqueues one message per ~20 ms window, not one per notification."""
    from sponsorship.billing import tasks
    from sponsorship.billing.services import webhook
    from sponsorship.billing.services.webhook import _WakeUps

    sent = []
    monkeypatch.setattr(webhook, "_celery_eager", lambda: False)
    monkeypatch.setattr(tasks.process_payment_notifications, "delay", lambda ids: sent.append(list(ids)))
    wakeups = _WakeUps(window_seconds=0.05)
    for note_id in (11, 12, 13):
        wakeups.add(note_id)
    deadline = time.monotonic() + 5
    while not sent and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)
    assert sent == [[11, 12, 13]]
    wakeups.add(14)
    wakeups.flush()  # what atexit does when the process stops
    assert sent[-1] == [14]
