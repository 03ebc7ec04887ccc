import datetime as dt
import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backend.api.errors import ConflictError
from sponsorship.billing.models import CoverageMonth, CreditEntry, Invoice, InvoiceLine, PremiumRate
from sponsorship.billing.services.billing import (
    billing_run,
    due_date_for,
    invoice_create_arrears,
    invoice_create_prepay,
    invoice_void,
    period_to_bill,
)
from sponsorship.billing.services.rates import premium_for
from sponsorship.core.models import AuditLog
from sponsorship.people.models import Sponsorship
from sponsorship.people.services.sponsorships import sponsorship_end
from tests import factories

D = dt.date


@pytest.mark.parametrize(
    "month,transport,source,expected",
    [
        (D(2025, 12, 1), False, "sponsor", 16_800),
        (D(2026, 1, 1), True, "sponsor", 8_400),  # transport discount from Jan 2026
        (D(2026, 3, 1), False, "sponsor", 16_800),  # others only from Apr 2026
        (D(2026, 4, 1), False, "sponsor", 8_400),
        (D(2026, 12, 1), False, "self", 8_400),
        (D(2027, 1, 1), False, "sponsor", 16_800),  # others end Dec 2026
        (D(2027, 3, 1), True, "sponsor", 8_400),  # transport until Mar 2027
        (D(2027, 4, 1), True, "sponsor", 16_800),
        (D(2026, 6, 1), False, "regency_budget", 16_800),  # never for APBD
    ],
)
def test_premium_comes_from_the_rate_table(db, month, transport, source, expected):
    premium = premium_for(month=month, is_transport=transport, funding_source=source)
    assert premium.amount_idr == expected
    assert premium.jkk_idr + premium.jkm_idr == expected


def test_jht_is_optional_two_percent(db):
    assert premium_for(month=D(2025, 1, 1), is_transport=False, with_jht=True).amount_idr == 16_800 + 20_000


def test_due_date_moves_past_weekend_and_holiday(db):
    # 15 Aug 2026 is a Saturday, 17 Aug is Independence Day (holiday row) -> Tuesday 18 Aug.
    assert due_date_for(D(2026, 8, 1)) == D(2026, 8, 18)
    assert due_date_for(D(2026, 12, 1)) == D(2026, 12, 15)


def test_period_to_bill_waits_for_the_issue_day(settings):
    settings.BILLING_ISSUE_DAYS_BEFORE = 10
    assert period_to_bill(D(2026, 11, 15)) is None
    assert period_to_bill(D(2026, 11, 21)) == D(2026, 12, 1)


def test_monthly_run_issues_one_invoice_with_lines_and_is_idempotent(family):
    sponsor, workers = family
    result = billing_run(period=D(2026, 12, 1), notify=False)
    assert (result.invoices, result.lines) == (1, 3)
    invoice = Invoice.objects.get(sponsor=sponsor)
    assert invoice.amount_idr == 3 * 8_400 and invoice.due_date == D(2026, 12, 15)
    assert sorted(invoice.lines.values_list("worker_id", flat=True)) == sorted(w.pk for w in workers)
    assert billing_run(period=D(2026, 12, 1), notify=False).invoices == 0
    assert Invoice.objects.count() == 1
    assert AuditLog.objects.filter(action="billing.run").exists()


def test_issued_invoices_never_change_when_rates_change(family):
    billing_run(period=D(2027, 1, 1), notify=False)
    PremiumRate.objects.create(name="Kenaikan", valid_from=D(2027, 1, 1), jkm_idr=9_000, priority=50)
    invoice = Invoice.objects.get()
    assert invoice.amount_idr == 16_800 * 2 + 8_400
    assert sum(invoice.lines.values_list("amount_idr", flat=True)) == invoice.subtotal_idr
    billing_run(period=D(2027, 2, 1), notify=False)
    assert Invoice.objects.get(period=D(2027, 2, 1)).lines.first().jkm_idr in (9_000, 4_500)


def test_run_applies_credit_settles_fully_credited_invoices_and_numbers_supplementary_ones(agency):
    rich, partial, plain = (factories.make_sponsor(agency=agency, capacity=3) for _ in range(3))
    for sponsor, n in ((rich, 1), (partial, 3), (plain, 2)):
        for k in range(n):
            factories.sponsor_worker(sponsor, factories.make_worker(occupation="ojek" if k == 0 else "petani"))
    CreditEntry.objects.create(sponsor=rich, kind=CreditEntry.Kind.SURPLUS, amount_idr=500_000, note="lebih bayar")
    CreditEntry.objects.create(sponsor=partial, kind=CreditEntry.Kind.SURPLUS, amount_idr=20_000, note="lebih bayar")
    # an earlier December invoice for `plain` only: this run's is its supplementary one (sequence 2, "-S2")
    billing_run(period=D(2026, 12, 1), notify=False, now=timezone.make_aware(dt.datetime(2026, 11, 20, 9)))
    for inv in Invoice.objects.exclude(sponsor=plain):
        CreditEntry.objects.filter(invoice=inv).delete()
        CoverageMonth.objects.filter(invoice=inv).delete()
        inv.lines.all().delete()
        inv.delete()
    factories.sponsor_worker(plain, factories.make_worker())
    run = billing_run(period=D(2026, 12, 1), notify=False, now=timezone.make_aware(dt.datetime(2026, 11, 25, 9)))
    assert (run.invoices, run.lines) == (3, 1 + 3 + 1)
    plain_invoices = Invoice.objects.filter(sponsor=plain).order_by("sequence")
    assert [i.sequence for i in plain_invoices] == [1, 2] and plain_invoices[1].number.endswith("-S2")
    rich_invoice = Invoice.objects.get(sponsor=rich)  # fully credited: settled by the run, its month covered
    assert rich_invoice.status == "paid" and rich_invoice.amount_idr == 0
    assert rich_invoice.credit_applied_idr == rich_invoice.subtotal_idr
    assert CoverageMonth.objects.filter(invoice=rich_invoice).exists()
    partial_invoice = Invoice.objects.get(sponsor=partial)
    assert CreditEntry.objects.filter(
        sponsor=partial, kind="applied", amount_idr=-20_000, invoice=partial_invoice
    ).exists()
    assert partial_invoice.amount_idr == partial_invoice.subtotal_idr - 20_000
    assert run.amount_idr == sum(i.amount_idr for i in Invoice.objects.filter(batch=run.batch))


def test_ended_sponsorship_stops_future_billing(family):
    sponsor, workers = family
    sponsorship_end(sponsorship=Sponsorship.objects.get(worker=workers[0]), reason="sponsor_request")
    billing_run(period=D(2026, 12, 1), notify=False)
    assert Invoice.objects.get().lines.count() == 2


def test_billing_query_count_does_not_grow_with_rows(agency):
    def make(n):
        for _ in range(n):
            s = factories.make_sponsor(agency=agency, capacity=2)
            for _ in range(2):
                factories.sponsor_worker(s, factories.make_worker())

    make(2)
    with CaptureQueriesContext(connection) as small:
        billing_run(period=D(2026, 12, 1), notify=False)
    make(8)
    with CaptureQueriesContext(connection) as large:
        billing_run(period=D(2027, 1, 1), notify=False)
    assert len(large.captured_queries) == len(small.captured_queries)
    assert InvoiceLine.objects.filter(month=D(2027, 1, 1)).count() == 20


@pytest.mark.django_db(transaction=True)
def test_two_parallel_billing_runs_issue_one_invoice_per_sponsor(agency):
    sponsors = []
    for _ in range(6):
        s = factories.make_sponsor(agency=agency, capacity=3)
        for _ in range(3):
            factories.sponsor_worker(s, factories.make_worker())
        sponsors.append(s)
    barrier, results, errors = threading.Barrier(2), [], []

    def run():
        from django.db import connection as conn

        try:
            barrier.wait()
            results.append(billing_run(period=D(2026, 12, 1), notify=False))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors
    assert sum(r.invoices for r in results) == 6
    assert Invoice.objects.count() == 6 and InvoiceLine.objects.count() == 18
    for s in sponsors:
        assert Invoice.objects.get(sponsor=s).lines.count() == 3


def test_prepay_twelve_months_and_monthly_run_skips_them(family):
    sponsor, _ = family
    invoice = invoice_create_prepay(sponsor=sponsor, months=12, today=D(2026, 11, 20))
    assert invoice.months == 12 and invoice.lines.count() == 36 and invoice.period == D(2026, 11, 1)
    assert invoice.amount_idr == sum(invoice.lines.values_list("amount_idr", flat=True))
    assert billing_run(period=D(2026, 12, 1), notify=False).invoices == 0
    again = invoice_create_prepay(sponsor=sponsor, months=1, today=D(2026, 11, 20))
    assert set(again.lines.values_list("month", flat=True)) == {D(2027, 11, 1)}


def test_prepay_more_than_twelve_months_is_refused_over_http(family, api):
    sponsor, _ = family
    response = api(sponsor.user).post("/api/v1/sponsor/invoices/prepay/", {"months": 13}, format="json")
    assert response.status_code == 400 and "months" in response.json()["extra"]["fields"]
    response = api(sponsor.user).post("/api/v1/sponsor/invoices/prepay/", {"months": 3}, format="json")
    assert response.status_code == 201 and len(response.json()["lines"]) == 9


def test_arrears_collects_up_to_three_months_and_supersedes_monthly_invoices(family):
    sponsor, _ = family
    Sponsorship.objects.update(started_at=dt.datetime(2026, 1, 5, tzinfo=dt.UTC))
    for month in (D(2026, 8, 1), D(2026, 9, 1), D(2026, 10, 1)):
        billing_run(period=month, notify=False)
    invoice = invoice_create_arrears(sponsor=sponsor, today=D(2026, 11, 10))
    assert invoice.kind == "arrears" and invoice.months == 3 and invoice.lines.count() == 9
    assert Invoice.objects.filter(kind="monthly", status="void").count() == 3


def test_void_needs_a_reason_is_audited_and_only_for_unpaid(family, api, agency_admin):
    billing_run(period=D(2026, 12, 1), notify=False)
    invoice = Invoice.objects.get()
    client = api(agency_admin)
    assert client.post(f"/api/v1/invoices/{invoice.pk}/void/", {"reason": ""}, format="json").status_code == 400
    response = client.post(f"/api/v1/invoices/{invoice.pk}/void/", {"reason": "ASN pindah"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "void"
    assert AuditLog.objects.filter(action="invoice.void", object_id=str(invoice.pk)).exists()
    assert client.post(f"/api/v1/invoices/{invoice.pk}/void/", {"reason": "x"}, format="json").status_code == 409
    with pytest.raises(ConflictError):
        invoice_void(invoice=invoice, reason="again")


def test_invoice_list_is_scoped_to_the_caller(family, api, agency):
    sponsor, _ = family
    other = factories.make_sponsor(agency=agency)
    factories.sponsor_worker(other, factories.make_worker())
    billing_run(period=D(2026, 12, 1), notify=False)
    mine = api(sponsor.user).get("/api/v1/sponsor/invoices/").json()
    assert [i["number"] for i in mine["results"]] == [Invoice.objects.get(sponsor=sponsor).number]
    theirs = Invoice.objects.get(sponsor=other)
    assert api(sponsor.user).get(f"/api/v1/sponsor/invoices/{theirs.pk}/").status_code == 404
    assert api(None).get("/api/v1/sponsor/invoices/").status_code == 401
    detail = api(sponsor.user).get(f"/api/v1/sponsor/invoices/{Invoice.objects.get(sponsor=sponsor).pk}/").json()
    assert len(detail["lines"]) == 3
