"""Issue 13 defect 2: the webhook tells genuinely different events apart (two equal partial refunds), a stale
notification never swallows the genuine one that follows, and reconciliation compares refunded amounts too.
Real midtransclient against the simulator; notifications are what the simulator's status record says."""

import datetime as dt
import json

import pytest
from django.test import TestCase

from sponsorship.billing.models import CoverageMonth, Invoice, PaymentAttempt, PaymentNotification
from sponsorship.billing.services.billing import billing_run
from sponsorship.billing.services.reconciliation import payments_reconcile, payments_reconcile_returns
from tests.billing.conftest import DEC_2026, notification_from_status, sim_control

NOTIFY = "/api/v1/payments/midtrans/notification/"


def post_note(client, payload):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(NOTIFY, data=json.dumps(payload), content_type="application/json")


@pytest.fixture
def invoice(family, gateway_settings):
    billing_run(period=DEC_2026, notify=False)
    return Invoice.objects.get(sponsor=family[0])


def checkout(api, invoice) -> str:
    return api(invoice.sponsor.user).post(f"/api/v1/sponsor/invoices/{invoice.pk}/pay/").json()["order_id"]


def paid(api, sim, http, client, invoice, method="gopay") -> str:
    order_id = checkout(api, invoice)
    sim_control(http, sim, "pay", {"order_id": order_id, "method": method})
    assert post_note(client, notification_from_status(order_id)).json()["status"] == "accepted"
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    return order_id


def test_a_second_partial_refund_of_the_same_amount_is_applied(invoice, api, sim, http, client):
    order_id = paid(api, sim, http, client, invoice)
    sim_control(http, sim, "refund", {"order_id": order_id, "amount": 8_400, "refund_key": "dash-1"})
    first = notification_from_status(order_id, status_code="200")
    assert post_note(client, first).json()["status"] == "accepted"
    assert PaymentAttempt.objects.get(order_id=order_id).refunded_amount_idr == 8_400
    sim_control(http, sim, "refund", {"order_id": order_id, "amount": 8_400, "refund_key": "dash-2"})
    second = notification_from_status(order_id, status_code="200")
    # same order, transaction, status, status code and gross amount: only the refunds differ
    assert {k: second[k] for k in ("transaction_status", "status_code", "gross_amount")} == {
        k: first[k] for k in ("transaction_status", "status_code", "gross_amount")
    }
    answer = post_note(client, second)
    assert answer.json()["status"] == "accepted", answer.content
    attempt = PaymentAttempt.objects.get(order_id=order_id)
    assert attempt.refunded_amount_idr == 16_800  # what the gateway says was refunded
    # a true copy of the second one is still a duplicate
    assert post_note(client, second).json()["status"] == "duplicate"
    assert PaymentAttempt.objects.get(order_id=order_id).refunded_amount_idr == 16_800


def test_the_simulator_sends_two_equal_partial_refunds_as_four_distinct_notifications(invoice, api, sim, http, client):
    """What the simulator itself would POST (the status record as a notification, before and after the bank
    confirmed each refund): four different events, none a duplicate of another."""
    order_id = paid(api, sim, http, client, invoice)
    bodies = []
    for key in ("dash-a", "dash-b"):
        sim_control(http, sim, "refund", {"order_id": order_id, "amount": 8_400, "refund_key": key})
        tx = sim.state.find(order_id)
        confirmed = sim.state.view(tx, "notification")
        unconfirmed = json.loads(json.dumps(confirmed))
        unconfirmed["refunds"][-1].pop("bank_confirmed_at")
        bodies += [unconfirmed, confirmed]
    answers = [post_note(client, body).json()["status"] for body in bodies]
    assert answers == ["accepted"] * 4
    assert PaymentAttempt.objects.get(order_id=order_id).refunded_amount_idr == 16_800


def test_a_stale_settlement_does_not_swallow_the_genuine_one(invoice, api, sim, http, client):
    order_id = checkout(api, invoice)
    sim.state.snap_attempt(sim.state.snap_orders[order_id], "bca_va")  # the customer chose a VA: pending
    early = notification_from_status(order_id, transaction_status="settlement", status_code="200")
    assert post_note(client, early).json()["status"] == "accepted"
    stale = PaymentNotification.objects.get()
    assert stale.state == "processed" and stale.outcome.startswith("unconfirmed")
    invoice.refresh_from_db()
    assert invoice.status == "issued"  # the status API still says pending: nothing was paid
    sim_control(http, sim, "pay", {"order_id": order_id})
    genuine = notification_from_status(order_id)
    assert genuine["transaction_status"] == "settlement"
    answer = post_note(client, genuine)
    assert answer.json()["status"] == "accepted", answer.content
    invoice.refresh_from_db()
    assert invoice.status == "paid" and CoverageMonth.objects.filter(invoice=invoice).count() == 3
    # even a byte-for-byte copy of the early one, sent again now, is confirmed and harmless
    assert post_note(client, early).status_code == 200
    assert CoverageMonth.objects.count() == 3


def test_reconciliation_heals_a_missed_refund(invoice, api, sim, http, client):
    order_id = paid(api, sim, http, client, invoice)
    sim_control(http, sim, "refund", {"order_id": order_id, "amount": 8_400, "refund_key": "dash-1"})
    assert post_note(client, notification_from_status(order_id, status_code="200")).status_code == 200
    sim_control(http, sim, "refund", {"order_id": order_id, "amount": 8_400, "refund_key": "dash-2"})
    # the second refund's notification never arrives; the live-attempt reconciliation does not look at it
    payments_reconcile(older_than_minutes=0)
    assert PaymentAttempt.objects.get(order_id=order_id).refunded_amount_idr == 8_400
    counts = payments_reconcile_returns(days=30)
    assert counts == {"refunded": 1}, counts
    assert PaymentAttempt.objects.get(order_id=order_id).refunded_amount_idr == 16_800
    assert payments_reconcile_returns(days=30) == {"in_agreement": 1}


def test_reconciliation_heals_a_missed_chargeback_and_leaves_old_payments_alone(invoice, api, sim, http, client):
    order_id = paid(api, sim, http, client, invoice, method="other_qris")
    sim_control(http, sim, "chargeback", {"order_id": order_id})
    assert payments_reconcile_returns(days=30) == {"charged_back+undone": 1}
    invoice.refresh_from_db()
    assert invoice.status == "refunded" and not CoverageMonth.objects.exists()
    PaymentAttempt.objects.filter(order_id=order_id).update(settled_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    assert payments_reconcile_returns(days=30) == {}


def test_reconciliation_heals_a_missed_bank_reversal(invoice, api, sim, http, client):
    order_id = paid(api, sim, http, client, invoice, method="permata_va")
    sim_control(http, sim, "reverse", {"order_id": order_id})  # its notification is lost
    assert payments_reconcile_returns(days=30) == {"reversed": 1}
    invoice.refresh_from_db()
    assert invoice.status == "issued" and not CoverageMonth.objects.exists()


def test_va_payments_are_asked_about_for_a_few_days_only(invoice, api, sim, http, client):
    """A VA payment cannot be refunded or charged back, only reversed within minutes: no nightly status call for
    it after REVERSAL_WINDOW_DAYS, while e-wallet payments are checked for the whole window."""
    order_id = paid(api, sim, http, client, invoice, method="bca_va")
    assert payments_reconcile_returns(days=30) == {"in_agreement": 1}
    ten_days_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    PaymentAttempt.objects.filter(order_id=order_id).update(settled_at=ten_days_ago)
    assert payments_reconcile_returns(days=30) == {}
    PaymentAttempt.objects.filter(order_id=order_id).update(payment_type="gopay")
    assert payments_reconcile_returns(days=30) == {"in_agreement": 1}


def test_a_refund_total_the_gateway_does_not_list_yet_is_unconfirmed_and_does_not_block_the_real_one(
    invoice, api, sim, http, client
):
    """The signature covers only order id, status code and gross amount: a copy with a bigger refund total is
    'signed' too. We book what the status API lists, and such a row gives up its key."""
    order_id = paid(api, sim, http, client, invoice)
    sim_control(http, sim, "refund", {"order_id": order_id, "amount": 8_400, "refund_key": "dash-1"})
    real = notification_from_status(order_id, status_code="200")
    inflated = {**real, "refund_amount": "25200.00"}
    assert post_note(client, inflated).json()["status"] == "accepted"
    row = PaymentNotification.objects.get(transaction_status="partial_refund")
    assert row.outcome.startswith("unconfirmed_partial_refund") and row.dedupe_key is None
    assert PaymentAttempt.objects.get(order_id=order_id).refunded_amount_idr == 8_400  # the gateway's word
    assert post_note(client, real).json()["status"] == "accepted"
    assert PaymentAttempt.objects.get(order_id=order_id).refunded_amount_idr == 8_400


@pytest.mark.django_db(transaction=True)
def test_two_equal_partial_refunds_posted_by_the_simulator_over_http(
    family, gateway_settings, api, sim, http, live_server, settings
):
    """No hand-made notifications: the simulator posts its own signed refund notifications to this server."""
    import time

    from tests.factories import restore_reference_rows

    restore_reference_rows()
    settings.PUBLIC_BASE_URL = live_server.url  # checkouts carry X-Override-Notification to this server
    billing_run(period=DEC_2026, notify=False)
    invoice = Invoice.objects.get()

    def wait_for(predicate, what):
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}")

    order_id = checkout(api, invoice)
    sim_control(http, sim, "pay", {"order_id": order_id, "method": "gopay"})
    wait_for(lambda: Invoice.objects.get(pk=invoice.pk).status == "paid", "the settlement")
    for key in ("dash-1", "dash-2"):
        sim_control(http, sim, "refund", {"order_id": order_id, "amount": 8_400, "refund_key": key})
    rows = PaymentNotification.objects.filter(transaction_status="partial_refund")
    wait_for(lambda: rows.count() == 4 and not rows.filter(state="received").exists(), "4 processed notifications")
    assert set(rows.values_list("state", flat=True)) == {"processed"}  # four events, no duplicate among them
    assert PaymentAttempt.objects.get(order_id=order_id).refunded_amount_idr == 16_800
