"""Issue 13 defect 6: an invoice paid twice whose first payment is taken back (the second moves onto it), coverage
taken back after it was remitted to BPJS (reclaimed in the next remittance file), and a partial chargeback.
Real midtransclient against the simulator; notifications are the simulator's status record."""

import csv
import datetime as dt
import json

import pytest
from django.db.models import Sum
from django.test import TestCase

from backend.api.errors import ApplicationError
from sponsorship.billing.models import (
    CoverageMonth,
    CreditEntry,
    Invoice,
    PaymentAttempt,
    RefundCase,
    RemittanceClawback,
)
from sponsorship.billing.selectors.coverage import worker_coverage_status
from sponsorship.billing.services.billing import billing_run
from sponsorship.billing.services.remittance import remittance_export
from sponsorship.core.models import AuditLog
from sponsorship.people.models import Sponsorship
from sponsorship.people.services.sponsorships import sponsorship_end
from tests.billing.conftest import DEC_2026, notification_from_status, sim_control

D = dt.date
NOTIFY = "/api/v1/payments/midtrans/notification/"


def post_note(client, payload):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(NOTIFY, data=json.dumps(payload), content_type="application/json")


def credit_balance(sponsor) -> int:
    return CreditEntry.objects.filter(sponsor=sponsor).aggregate(total=Sum("amount_idr"))["total"] or 0


@pytest.fixture
def invoice(family, gateway_settings):
    billing_run(period=DEC_2026, notify=False)
    return Invoice.objects.get(sponsor=family[0])


@pytest.fixture
def two_checkouts(invoice, api):
    def open_checkout():
        order_id = api(invoice.sponsor.user).post(f"/api/v1/sponsor/invoices/{invoice.pk}/pay/").json()["order_id"]
        PaymentAttempt.objects.filter(order_id=order_id).update(created_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        return order_id

    return open_checkout(), open_checkout()


def settle(sim, http, client, order_id, method):
    sim_control(http, sim, "pay", {"order_id": order_id, "method": method})
    assert post_note(client, notification_from_status(order_id)).status_code == 200


# ---- (a) paid twice, the first payment taken back -----------------------------------------------------------
def test_paid_twice_first_reversed_the_second_payment_moves_onto_the_invoice(
    invoice, two_checkouts, family, sim, http, client
):
    sponsor, workers = family
    first, second = two_checkouts
    settle(sim, http, client, first, "permata_va")
    settle(sim, http, client, second, "bca_va")
    assert credit_balance(sponsor) == 25_200  # the second payment bought nothing: surplus credit
    covered = set(CoverageMonth.objects.values_list("worker_id", "month"))
    sim_control(http, sim, "reverse", {"order_id": first})  # the bank takes the first payment back
    assert post_note(client, notification_from_status(first)).status_code == 200
    invoice.refresh_from_db()
    second_attempt = PaymentAttempt.objects.get(order_id=second)
    assert PaymentAttempt.objects.get(order_id=first).status == "reversed"
    assert invoice.status == "paid" and invoice.paid_at == second_attempt.settled_at
    assert set(CoverageMonth.objects.values_list("worker_id", "month")) == covered  # coverage unchanged
    assert set(CoverageMonth.objects.values_list("attempt_id", flat=True)) == {second_attempt.pk}
    assert credit_balance(sponsor) == 0  # the surplus now pays the invoice: no credit left over
    assert worker_coverage_status(workers[0], today=D(2026, 12, 20)).state == "protected"
    audit = AuditLog.objects.get(action="payment.reversed")
    assert audit.after["moved_to"].startswith(second) and audit.after["coverage_removed"] == []
    from tests.dashboard.test_summary_agrees import rebuilt, table

    assert table() == rebuilt()  # the trigger-kept dashboard summary follows paid_at moving to the second payment
    # the next invoice gets no credit from the double payment any more
    billing_run(period=D(2027, 1, 1), notify=False)
    assert Invoice.objects.get(period=D(2027, 1, 1)).credit_applied_idr == 0


def test_paid_twice_after_the_sponsor_left_the_open_refund_case_is_closed_instead(
    invoice, two_checkouts, family, sim, http, client
):
    sponsor, _ = family
    first, second = two_checkouts
    settle(sim, http, client, first, "gopay")
    for s in Sponsorship.objects.filter(sponsor=sponsor, status="active"):
        sponsorship_end(sponsorship=s, reason="sponsor_request")
    settle(sim, http, client, second, "bca_va")
    case = RefundCase.objects.get(attempt__order_id=second)
    assert case.status == "open" and case.amount_idr == 25_200
    sim_control(http, sim, "refund", {"order_id": first})  # the first one refunded from the Midtrans dashboard
    assert post_note(client, notification_from_status(first, status_code="200")).status_code == 200
    invoice.refresh_from_db()
    case.refresh_from_db()
    assert invoice.status == "paid" and CoverageMonth.objects.filter(invoice=invoice).count() == 3
    assert case.status == "resolved"  # nothing to give back: that money pays the invoice now
    assert credit_balance(sponsor) == 0


def test_paid_twice_but_the_credit_was_already_spent_the_invoice_is_payable_again(
    invoice, two_checkouts, family, sim, http, client
):
    sponsor, _ = family
    first, second = two_checkouts
    settle(sim, http, client, first, "permata_va")
    settle(sim, http, client, second, "bca_va")
    billing_run(period=D(2027, 1, 1), notify=False)  # January's invoice spends the surplus credit
    assert credit_balance(sponsor) == 0
    sim_control(http, sim, "reverse", {"order_id": first})
    assert post_note(client, notification_from_status(first)).status_code == 200
    invoice.refresh_from_db()
    assert invoice.status == "issued" and not CoverageMonth.objects.filter(invoice=invoice).exists()


# ---- (b) taken back after it was remitted to BPJS ---------------------------------------------------------------
def test_coverage_reversed_after_remittance_is_reclaimed_in_the_next_file(
    invoice, family, api, sim, http, client, tmp_path
):
    sponsor, workers = family
    order_id = api(sponsor.user).post(f"/api/v1/sponsor/invoices/{invoice.pk}/pay/").json()["order_id"]
    settle(sim, http, client, order_id, "permata_va")
    december = remittance_export(period=DEC_2026, out_dir=tmp_path)
    assert december.batch.rows == 3 and december.batch.clawback_rows == 0
    sim_control(http, sim, "reverse", {"order_id": order_id})
    assert post_note(client, notification_from_status(order_id)).status_code == 200
    assert not CoverageMonth.objects.exists()
    clawbacks = RemittanceClawback.objects.all()
    assert clawbacks.count() == 3 and {c.remitted_in_id for c in clawbacks} == {december.batch.pk}
    assert all(order_id in c.reason for c in clawbacks) and sum(c.amount_idr for c in clawbacks) == 25_200
    # the next file (any period) carries them as negative lines with the reason
    january = remittance_export(period=D(2027, 1, 1), out_dir=tmp_path)
    assert (january.batch.rows, january.batch.clawback_rows, january.batch.clawback_idr) == (0, 3, 25_200)
    rows = list(csv.reader(january.csv_path.open()))
    assert rows[0][-1] == "Keterangan" and len(rows) == 4
    assert {r[0] for r in rows[1:]} == {w.nik for w in workers}
    assert all(int(r[7]) < 0 and r[3] == "2026-12" and "Koreksi" in r[-1] for r in rows[1:])
    assert sum(int(r[7]) for r in rows[1:]) == -25_200
    assert set(RemittanceClawback.objects.values_list("claimed_in_id", flat=True)) == {january.batch.pk}
    # never reclaimed twice
    with pytest.raises(ApplicationError):
        remittance_export(period=D(2027, 1, 1), out_dir=tmp_path)


# ---- (c) a partial chargeback -----------------------------------------------------------------------------------
def test_partial_chargeback_undoes_the_payment_and_keeps_the_rest_as_credit_for_the_rebill(
    invoice, family, api, sim, http, client
):
    """The rule (docs/money-rules.md): money returned in part undoes the whole payment (its coverage, the
    invoice → refunded, its worker-months billable again); what was paid and not returned stays the sponsor's
    credit and is applied at once to the re-bill, so only the charged-back part is owed again."""
    sponsor, workers = family
    order_id = api(sponsor.user).post(f"/api/v1/sponsor/invoices/{invoice.pk}/pay/").json()["order_id"]
    settle(sim, http, client, order_id, "other_qris")
    sim_control(http, sim, "chargeback", {"order_id": order_id, "amount": 8_400})
    note = notification_from_status(order_id, status_code="200")
    assert note["transaction_status"] == "partial_chargeback"
    assert post_note(client, note).status_code == 200
    attempt = PaymentAttempt.objects.get(order_id=order_id)
    invoice.refresh_from_db()
    assert attempt.status == "charged_back" and attempt.refunded_amount_idr == 8_400
    assert invoice.status == "refunded" and not CoverageMonth.objects.exists()
    assert credit_balance(sponsor) == 25_200 - 8_400
    rebill = billing_run(period=DEC_2026, notify=False)
    assert (rebill.invoices, rebill.lines) == (1, 3)
    again = Invoice.objects.get(sponsor=sponsor, period=DEC_2026, status="issued")
    assert again.credit_applied_idr == 16_800 and again.amount_idr == 8_400
    order2 = api(sponsor.user).post(f"/api/v1/sponsor/invoices/{again.pk}/pay/").json()["order_id"]
    settle(sim, http, client, order2, "bca_va")
    assert CoverageMonth.objects.filter(invoice=again).count() == 3
    assert worker_coverage_status(workers[0], today=D(2026, 12, 20)).state == "protected"
    assert credit_balance(sponsor) == 0


# ---- (d) part of a payment that only bought surplus goes back (issue 13 defect 6) ------------------------------
def refund_part(sim, http, client, order_id, amount):
    sim_control(http, sim, "refund", {"order_id": order_id, "amount": amount})
    note = notification_from_status(order_id, status_code="200")
    assert post_note(client, note).status_code == 200
    return note


def test_partial_refunds_of_a_surplus_payment_take_back_only_what_was_returned(
    invoice, two_checkouts, family, sim, http, client
):
    """The second payment of a double payment is the sponsor's credit; refunded in part (twice, the same amount,
    from the Midtrans dashboard), only the refunded part leaves the credit."""
    from sponsorship.dashboard.invariants import ledger_check

    sponsor, _ = family
    first, second = two_checkouts
    settle(sim, http, client, first, "bca_va")
    settle(sim, http, client, second, "gopay")
    assert credit_balance(sponsor) == 25_200
    assert refund_part(sim, http, client, second, 8_400)["transaction_status"] == "partial_refund"
    assert PaymentAttempt.objects.get(order_id=second).refunded_amount_idr == 8_400
    assert credit_balance(sponsor) == 16_800  # the rest stays the sponsor's credit
    refund_part(sim, http, client, second, 8_400)  # a second equal partial refund is a new event (defect 2)
    assert PaymentAttempt.objects.get(order_id=second).refunded_amount_idr == 16_800
    assert credit_balance(sponsor) == 8_400
    invoice.refresh_from_db()
    assert invoice.status == "paid" and CoverageMonth.objects.filter(invoice=invoice).count() == 3
    assert ledger_check(gateway=True).ok


def test_partial_chargeback_of_a_surplus_payment_held_as_a_refund_case_reduces_the_case(
    invoice, two_checkouts, family, sim, http, client
):
    from sponsorship.dashboard.invariants import ledger_check

    sponsor, _ = family
    first, second = two_checkouts
    settle(sim, http, client, first, "bca_va")
    for s in Sponsorship.objects.filter(sponsor=sponsor, status="active"):
        sponsorship_end(sponsorship=s, reason="sponsor_request")
    settle(sim, http, client, second, "gopay")
    case = RefundCase.objects.get(attempt__order_id=second)
    assert case.status == "open" and case.amount_idr == 25_200
    sim_control(http, sim, "chargeback", {"order_id": second, "amount": 10_000})
    assert post_note(client, notification_from_status(second, status_code="200")).status_code == 200
    case.refresh_from_db()
    assert case.status == "open" and case.amount_idr - case.refunded_amount_idr == 15_200  # still owed back
    assert PaymentAttempt.objects.get(order_id=second).status == "charged_back"
    assert ledger_check(gateway=True).ok


# ---- (e) money goes back after its credit was spent on another invoice (issue 13 defect 6) ---------------------
def test_credit_already_spent_on_a_paid_invoice_that_invoice_is_undone_and_billed_again(
    invoice, two_checkouts, family, api, sim, http, client
):
    """The rule (docs/money-rules.md): the credit balance never goes negative. What is missing is taken back from
    the invoices the credit went to, newest first: a paid one is undone as in a refund (coverage removed,
    invoice refunded, its credit and cash back in the balance), an unpaid one is voided; the months are billed
    again by the next run, with whatever credit is left."""
    from sponsorship.dashboard.invariants import ledger_check

    sponsor, workers = family
    first, second = two_checkouts
    settle(sim, http, client, first, "bca_va")
    settle(sim, http, client, second, "gopay")
    billing_run(period=D(2027, 1, 1), notify=False)  # the surplus credit pays most of January
    january = Invoice.objects.get(sponsor=sponsor, period=D(2027, 1, 1))
    assert (january.status, january.credit_applied_idr, january.amount_idr) == ("issued", 25_200, 16_800)
    cash = api(sponsor.user).post(f"/api/v1/sponsor/invoices/{january.pk}/pay/").json()["order_id"]
    settle(sim, http, client, cash, "bca_va")  # the sponsor pays the rest: January is paid and covered
    assert CoverageMonth.objects.filter(invoice=january).count() == 3 and credit_balance(sponsor) == 0
    sim_control(http, sim, "refund", {"order_id": second})  # the whole second payment refunded
    assert post_note(client, notification_from_status(second, status_code="200")).status_code == 200
    # January gives back its credit (25,200) and its cash (16,800); the refund takes 25,200: never negative
    assert credit_balance(sponsor) == 16_800
    january.refresh_from_db()
    assert january.status == "refunded" and not CoverageMonth.objects.filter(invoice=january).exists()
    invoice.refresh_from_db()
    assert invoice.status == "paid" and CoverageMonth.objects.filter(invoice=invoice).count() == 3  # untouched
    assert ledger_check(gateway=True).ok
    rebill = billing_run(period=D(2027, 1, 1), notify=False)
    assert (rebill.invoices, rebill.lines) == (1, 3)
    again = Invoice.objects.get(sponsor=sponsor, period=D(2027, 1, 1), status="issued")
    assert (again.credit_applied_idr, again.amount_idr) == (16_800, 25_200)  # only the refunded part owed again
    assert ledger_check().ok


def test_credit_already_spent_on_an_unpaid_invoice_that_invoice_is_voided(
    invoice, two_checkouts, family, sim, http, client
):
    from sponsorship.billing.services.billing import invoice_create_prepay
    from sponsorship.dashboard.invariants import ledger_check

    sponsor, _ = family
    first, second = two_checkouts
    settle(sim, http, client, first, "bca_va")
    settle(sim, http, client, second, "gopay")
    prepay = invoice_create_prepay(sponsor=sponsor, months=2)  # the surplus credit pays half of it
    assert prepay.status == "issued" and prepay.credit_applied_idr == 25_200
    refund_part(sim, http, client, second, 10_000)
    prepay.refresh_from_db()
    assert prepay.status == "void"
    assert credit_balance(sponsor) == 15_200  # the credit came back from the voided invoice, less the refund
    assert ledger_check(gateway=True).ok
