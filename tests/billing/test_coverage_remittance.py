import csv
import datetime as dt

import pytest
from openpyxl import load_workbook

from backend.api.errors import ApplicationError
from notifications.models import Notification
from sponsorship.billing.gateways.base import TransactionStatus
from sponsorship.billing.models import CoverageMonth, Invoice, PaymentAttempt
from sponsorship.billing.selectors.coverage import worker_coverage_status
from sponsorship.billing.services.billing import billing_run, invoice_create_prepay
from sponsorship.billing.services.remittance import remittance_export, remittance_import_results
from sponsorship.billing.services.settlement import (
    invoice_settle_by_credit,  # noqa: F401
    payment_settle,
)
from sponsorship.core.models import AuditLog

D = dt.date


def _pay(invoice):
    n = PaymentAttempt.objects.filter(invoice=invoice).count()
    attempt = PaymentAttempt.objects.create(
        invoice=invoice,
        order_id=f"{invoice.number}-T{n}",
        amount_idr=invoice.amount_idr,
        status="superseded" if n else "pending",
    )
    return payment_settle(
        attempt=attempt,
        status=TransactionStatus(
            order_id=attempt.order_id,
            transaction_id="t",
            transaction_status="settlement",
            status_code="200",
            gross_amount_idr=invoice.amount_idr,
            fraud_status="accept",
        ),
    )


def test_status_not_enrolled_protected_grace_lapsed(family):
    worker = family[1][0]
    assert worker_coverage_status(worker, today=D(2026, 12, 5)).state == "not_enrolled"
    months = [D(2026, 1, 1), D(2026, 2, 1), D(2026, 3, 1)]
    s = worker_coverage_status(worker, today=D(2026, 3, 20), months=months)
    assert (s.state, s.protected_until, s.months_paid, s.months_of_membership) == ("protected", D(2026, 3, 31), 3, 3)
    s = worker_coverage_status(worker, today=D(2026, 5, 10), months=months)  # April unpaid, May not yet due
    assert (s.state, s.arrears_months, s.arrears_idr) == ("grace", 1, 8_400)
    s = worker_coverage_status(worker, today=D(2026, 7, 16), months=months)  # Apr, May, Jun, Jul(past due)
    assert s.state == "lapsed" and s.arrears_months == 4
    again = months + [D(2026, 9, 1)]
    s = worker_coverage_status(worker, today=D(2026, 9, 3), months=again)
    assert s.state == "protected" and s.months_of_membership == 1  # rejoined after a lapse: from zero


def test_settled_invoice_creates_one_coverage_row_per_worker_month_and_notifies(
    family, django_capture_on_commit_callbacks
):
    sponsor, workers = family
    with django_capture_on_commit_callbacks(execute=True):
        invoice = invoice_create_prepay(sponsor=sponsor, months=3, today=D(2026, 11, 20))
    with django_capture_on_commit_callbacks(execute=True):
        assert _pay(invoice) == "settled"
    assert CoverageMonth.objects.count() == 9
    assert _pay(invoice).startswith("settled+surplus")  # a second attempt on a paid invoice → credit
    assert CoverageMonth.objects.count() == 9
    s = worker_coverage_status(workers[0], today=D(2026, 11, 25))
    assert s.state == "protected" and s.protected_until == D(2027, 1, 31)
    kinds = set(Notification.objects.values_list("kind", flat=True))
    assert {"invoice_issued", "payment_received"} <= kinds


def test_billing_run_notifies_invoice_issued(family, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        billing_run(period=D(2026, 12, 1))
    assert Notification.objects.filter(kind="invoice_issued").count() == 1


def test_remittance_export_marks_rows_and_is_audited_then_import_sets_kpj(family, tmp_path):
    sponsor, workers = family
    billing_run(period=D(2026, 12, 1), notify=False)
    _pay(Invoice.objects.get())
    result = remittance_export(period=D(2026, 12, 1), out_dir=tmp_path)
    assert result.batch.rows == 3 and result.batch.total_idr == 25_200
    rows = list(csv.reader(result.csv_path.open()))
    assert rows[0] == [
        "NIK",
        "Nama",
        "KPJ",
        "Periode",
        "JKK",
        "JKM",
        "JHT",
        "Total",
        "Kode Wadah",
        "Sumber Dana",
        "Keterangan",
    ]
    assert len(rows) == 4
    assert rows[0][:8] == ["NIK", "Nama", "KPJ", "Periode", "JKK", "JKM", "JHT", "Total"] and len(rows) == 4
    assert {r[0] for r in rows[1:]} == {w.nik for w in workers}
    assert load_workbook(result.xlsx_path).active.max_row == 4
    assert not CoverageMonth.objects.filter(remittance__isnull=True).exists()
    assert AuditLog.objects.filter(action="personal_data.export").exists()
    with pytest.raises(ApplicationError):
        remittance_export(period=D(2026, 12, 1), out_dir=tmp_path)  # never twice
    results = tmp_path / "hasil.csv"
    results.write_text(f"NIK,KPJ,Status\n{workers[0].nik},12345678901,terdaftar\n0000,1,x\n")
    assert remittance_import_results(path=results) == {"updated": 1, "unknown_nik": 0, "invalid": 1, "rejected": []}
    workers[0].refresh_from_db()
    assert workers[0].kpj == "12345678901"
    assert CoverageMonth.objects.filter(worker=workers[0], registration_status="terdaftar").count() == 1
