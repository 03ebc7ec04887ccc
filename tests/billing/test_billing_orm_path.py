"""The billing run's ORM path (SQLite: the newcomer's first run has no data-modifying CTEs) follows the same rules as
the set-based PostgreSQL statement: the same scenario billed both ways gives the same invoices, lines, credit and
settled coverage, and the late-addition / covered-month / start-after-due-date tests pass through the ORM path too."""
import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from sponsorship.billing.models import CoverageMonth, CreditEntry, Invoice, InvoiceLine
from sponsorship.billing.services import billing
from sponsorship.billing.services.billing import billing_run
from tests import factories
from tests.billing import test_billfix as bf
from tests.billing.conftest import DEC_2026


def _snapshot():
    invoices = sorted((i.sponsor_id, i.number, i.sequence, i.kind, i.due_date, i.subtotal_idr, i.credit_applied_idr,
                       i.amount_idr, i.status) for i in Invoice.objects.all())
    lines = sorted(InvoiceLine.objects.values_list("invoice__number", "worker_id", "month", "rate_id", "jkk_idr",
                                                   "jkm_idr", "jht_idr", "amount_idr"))
    credit = sorted(CreditEntry.objects.values_list("sponsor_id", "kind", "amount_idr", "invoice__number", "note"))
    coverage = sorted(CoverageMonth.objects.values_list("worker_id", "month"))
    return invoices, lines, credit, coverage


def _bill_twice():
    first = billing_run(period=DEC_2026, notify=False, now=timezone.make_aware(dt.datetime(2026, 11, 25, 9)))
    return first, _snapshot()


def test_orm_path_bills_exactly_like_the_statement(agency, monkeypatch):
    rich, partial, plain = (factories.make_sponsor(agency=agency, capacity=3) for _ in range(3))
    for sponsor, n in ((rich, 1), (partial, 3), (plain, 2)):
        for k in range(n):
            factories.sponsor_worker(sponsor, factories.make_worker(occupation="ojek" if k == 0 else "petani"))
    CreditEntry.objects.create(sponsor=rich, kind=CreditEntry.Kind.SURPLUS, amount_idr=500_000, note="lebih bayar")
    CreditEntry.objects.create(sponsor=partial, kind=CreditEntry.Kind.SURPLUS, amount_idr=20_000, note="lebih bayar")
    # an earlier December invoice for `plain`: this run's is its supplementary one (sequence 2, "-S2")
    billing_run(period=DEC_2026, notify=False, now=timezone.make_aware(dt.datetime(2026, 11, 20, 9)))
    for inv in Invoice.objects.exclude(sponsor=plain):
        CreditEntry.objects.filter(invoice=inv).delete()
        CoverageMonth.objects.filter(invoice=inv).delete()
        inv.lines.all().delete()
        inv.delete()
    factories.sponsor_worker(plain, factories.make_worker())
    results = {}
    for path in (False, True):
        monkeypatch.setattr(billing, "SET_BASED_RUN", path)
        with transaction.atomic():
            run, snap = _bill_twice()
            results[path] = ((run.invoices, run.lines, run.amount_idr), snap)
            transaction.set_rollback(True)
    assert results[False] == results[True]
    (counts, (invoices, lines, credit, coverage)) = results[True]
    assert counts[0] == 3 and counts[1] == 1 + 3 + 1
    assert [i[2] for i in invoices if i[0] == plain.pk] == [1, 2]
    assert any(i[8] == "paid" and i[7] == 0 for i in invoices if i[0] == rich.pk)  # fully credited: settled
    assert any(c[1] == "applied" and c[2] == -20_000 for c in credit if c[0] == partial.pk)
    assert coverage  # the credited month is covered


@pytest.fixture
def orm_path(monkeypatch):
    monkeypatch.setattr(billing, "SET_BASED_RUN", False)


@pytest.mark.usefixtures("orm_path")
def test_orm_late_addition_gets_a_supplementary_invoice(agency):
    bf.test_worker_accepted_after_the_invoice_gets_a_supplementary_invoice(agency)


@pytest.mark.usefixtures("orm_path")
def test_orm_covered_or_billed_month_is_not_billed_again(family):
    bf.test_a_covered_or_billed_month_is_never_billed_again_and_a_voided_one_is(family)


@pytest.mark.usefixtures("orm_path")
def test_orm_started_after_the_due_date_is_billed_next_month(agency):
    bf.test_sponsorship_started_after_the_due_date_is_first_billed_next_month(agency)
