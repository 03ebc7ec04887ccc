"""Issue 13 defect 4: every dashboard figure has one definition (docs/figures.md), and
expected = collected + outstanding + written off holds, in the summary and in the raw recomputation alike.

The money moves through the real services: payments and money going back come from the Midtrans simulator over
HTTP (signed notifications to the webhook), the re-bill from the billing run.
"""

import datetime as dt

import pytest

from sponsorship.billing.models import Invoice
from sponsorship.billing.services.billing import billing_run
from sponsorship.dashboard.selectors import AdminScope, admin_scope, money
from tests import factories
from tests.billing.conftest import DEC_2026, family, gateway_settings, http, reference_rows, sim, sim_control  # noqa: F401
from tests.billing.test_billfix import note_for, pay_invoice, post_note

from .test_summary_agrees import rebuilt, table

D = dt.date
AFTER_DUE = D(2026, 12, 20)  # December's invoices (due 15 Dec) have fallen due


def _december(scope, today=AFTER_DUE):
    rows = {r["month"]: r for r in money.money_by_month(scope, today=today)}
    raw = {r["month"]: r for r in money.money_by_month_raw(scope, today=today)}
    assert rows == raw
    return rows[DEC_2026.isoformat()]


def _assert_identity(row):
    assert row["expected_idr"] == row["collected_idr"] + row["outstanding_idr"] + row["written_off_idr"], row


def _assert_on_time_agrees(scopes, today=AFTER_DUE):
    assert table() == rebuilt()
    for scope in scopes:
        assert money.on_time_rate(scope, today=today) == money.on_time_rate_raw(scope, today=today)
        assert money.agency_money(scope, today=today) == money.agency_money_raw(scope, today=today)


@pytest.fixture
def punctual(agency, gateway_settings):  # noqa: F811
    """Two more sponsors of the same agency who pay December on time and keep it paid."""
    sponsors = [factories.make_sponsor(agency=agency, capacity=2) for _ in range(2)]
    for s in sponsors:
        factories.sponsor_worker(s, factories.make_worker())
    return sponsors


def test_refund_then_rebill_counts_the_month_once_and_on_time_has_one_definition(
    family,  # noqa: F811
    punctual,
    regency_admin,
    api,
    sim,  # noqa: F811
    http,  # noqa: F811
    client,
):
    sponsor, workers = family
    billing_run(period=DEC_2026, notify=False)
    for s in (sponsor, *punctual):
        pay_invoice(api, sim, http, client, Invoice.objects.get(sponsor=s, period=DEC_2026), "gopay")
    first = Invoice.objects.get(sponsor=sponsor, period=DEC_2026)
    order_id = first.attempts.get().order_id
    sim_control(http, sim, "refund", {"order_id": order_id})  # refunded from the Midtrans dashboard
    assert post_note(client, note_for(order_id, status_code="200")).status_code == 200
    rerun = billing_run(period=DEC_2026, notify=False)  # the months are billable again: a supplementary invoice
    assert (rerun.invoices, rerun.lines) == (1, 3)

    scope = admin_scope(regency_admin)
    row = _december(scope)
    _assert_identity(row)
    rebill = sum(i.subtotal_idr for i in Invoice.objects.filter(sponsor=sponsor, status="issued"))
    others = sum(Invoice.objects.filter(sponsor__in=punctual).values_list("subtotal_idr", flat=True))
    # the refunded invoice and its re-bill are one month of premiums, not two
    assert row["outstanding_idr"] == rebill
    assert row["written_off_idr"] == 0
    assert row["collected_idr"] == others
    assert row["expected_idr"] == others + rebill
    # the refunded invoice is no longer judged; the re-bill (overdue on the 20th) and the two paid ones are
    rate = money.on_time_rate(scope, today=AFTER_DUE)
    assert (rate["invoices_due"], rate["paid_on_time"], rate["pct"]) == (3, 2, 66.7)
    _assert_on_time_agrees([scope, AdminScope(regency=scope.regency, agency=sponsor.agency)])
    # before the re-bill falls due, the rate is over the paid ones only, in both definitions
    early = money.on_time_rate(scope, today=D(2026, 12, 3))
    assert (early["invoices_due"], early["paid_on_time"]) == (2, 2)
    _assert_on_time_agrees([scope], today=D(2026, 12, 3))


def test_chargeback_without_rebill_is_written_off_not_expected_twice_nor_lost(
    family,  # noqa: F811
    punctual,
    regency_admin,
    api,
    sim,  # noqa: F811
    http,  # noqa: F811
    client,
):
    sponsor, workers = family
    billing_run(period=DEC_2026, notify=False)
    for s in (sponsor, *punctual):
        pay_invoice(api, sim, http, client, Invoice.objects.get(sponsor=s, period=DEC_2026), "other_qris")
    invoice = Invoice.objects.get(sponsor=sponsor, period=DEC_2026)
    order_id = invoice.attempts.get().order_id
    sim_control(http, sim, "chargeback", {"order_id": order_id})
    assert post_note(client, note_for(order_id, status_code="200")).status_code == 200
    invoice.refresh_from_db()
    assert invoice.status == "refunded"

    scope = admin_scope(regency_admin)
    row = _december(scope)
    _assert_identity(row)
    assert row["written_off_idr"] == invoice.subtotal_idr  # billed, paid, taken back, not billed again
    others = sum(Invoice.objects.filter(sponsor__in=punctual).values_list("subtotal_idr", flat=True))
    assert row["collected_idr"] == others and row["outstanding_idr"] == 0
    rate = money.on_time_rate(scope, today=AFTER_DUE)
    assert (rate["invoices_due"], rate["paid_on_time"], rate["pct"]) == (2, 2, 100.0)
    _assert_on_time_agrees([scope])
    # the month billed again later moves from written off to outstanding: still counted once
    billing_run(period=DEC_2026, notify=False)
    row = _december(scope)
    _assert_identity(row)
    assert row["written_off_idr"] == 0 and row["outstanding_idr"] == invoice.subtotal_idr
