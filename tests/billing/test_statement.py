"""The sponsor's annual statement (issue 13, defect 5): its total is everything paid, cash and credit shown apart."""

import json

import pytest
from django.test import TestCase
from django.utils import timezone

from sponsorship.billing.models import CreditEntry, Invoice
from sponsorship.billing.services.billing import billing_run
from tests.billing.conftest import DEC_2026, notification_from_status, sim_control

pytestmark = pytest.mark.django_db


def test_statement_total_equals_its_per_worker_amounts_when_credit_paid_part(
    family, gateway_settings, api, sim, http, client
):
    sponsor, workers = family
    CreditEntry.objects.create(sponsor=sponsor, kind="surplus", amount_idr=5_000, note="kelebihan bayar")
    billing_run(period=DEC_2026, notify=False)
    invoice = Invoice.objects.get(sponsor=sponsor)
    assert invoice.credit_applied_idr == 5_000 and invoice.amount_idr == invoice.subtotal_idr - 5_000
    order_id = api(sponsor.user).post(f"/api/v1/sponsor/invoices/{invoice.pk}/pay/").json()["order_id"]
    sim_control(http, sim, "pay", {"order_id": order_id, "method": "bca_va"})
    with TestCase.captureOnCommitCallbacks(execute=True):
        client.post(
            "/api/v1/payments/midtrans/notification/",
            data=json.dumps(notification_from_status(order_id)),
            content_type="application/json",
        )
    invoice.refresh_from_db()
    assert invoice.status == "paid"

    year = timezone.localtime(invoice.paid_at).year
    body = api(sponsor.user).get(f"/api/v1/sponsor/statements/{year}/").json()
    assert body["total_idr"] == sum(w["amount_idr"] for w in body["workers"]) == invoice.subtotal_idr
    assert body["cash_idr"] == invoice.amount_idr and body["credit_idr"] == 5_000
    assert body["cash_idr"] + body["credit_idr"] == body["total_idr"]
    [payment] = body["payments"]
    assert (payment["total_idr"], payment["credit_idr"], payment["cash_idr"]) == (
        invoice.subtotal_idr,
        5_000,
        invoice.amount_idr,
    )
    printed = api(sponsor.user).get(f"/api/v1/sponsor/statements/{year}/?print=1").content.decode()
    assert "Dibayar dengan kredit" in printed and "Dibayar tunai" in printed
