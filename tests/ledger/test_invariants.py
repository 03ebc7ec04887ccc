"""The ledger's invariants (sponsorship/dashboard/invariants.py), `manage.py check_ledger` and the nightly job.

A clean history made through the real services and the simulator (pay, double payment, refund, chargeback,
re-bill) passes every check; each kind of damage, written straight into the tables as a bug or a hand edit
would, is reported by its check with the rows and what differs.
"""

import json

import pytest
from django.core.management import call_command
from django.db import connection

from notifications.models import Notification
from sponsorship.billing.models import CoverageMonth, Invoice, InvoiceLine, PaymentAttempt
from sponsorship.billing.services.billing import billing_run
from sponsorship.core.models import AuditLog
from sponsorship.dashboard.invariants import ledger_check
from sponsorship.dashboard.services.ledger import ledger_check_nightly
from sponsorship.dashboard.tasks import check_ledger
from sponsorship.people.models import Sponsor
from tests.billing.conftest import DEC_2026, sim_control
from tests.billing.test_billfix import note_for, pay_invoice, post_note


def _broken(report):
    return {c.name: c.count for c in report.checks if c.count}


@pytest.fixture
def history(family, gateway_settings, api, sim, http, client, regency):
    """December paid by the family's sponsor, refunded from the Midtrans dashboard, billed again and paid."""
    sponsor, _ = family
    billing_run(period=DEC_2026, notify=False)
    invoice = Invoice.objects.get(sponsor=sponsor)
    order_id = pay_invoice(api, sim, http, client, invoice, "gopay")
    sim_control(http, sim, "refund", {"order_id": order_id})
    assert post_note(client, note_for(order_id, status_code="200")).status_code == 200
    billing_run(period=DEC_2026, notify=False)
    rebill = Invoice.objects.get(sponsor=sponsor, status="issued")
    pay_invoice(api, sim, http, client, rebill, "other_qris")
    return sponsor, rebill


def test_a_clean_history_passes_every_check_and_the_gateway_agrees(history, regency, sim):
    report = ledger_check(regency=regency, gateway=True)
    assert report.ok, report.to_dict()
    assert [c.name for c in report.checks] == [
        "money_balance",
        "coverage_lines",
        "double_billing",
        "worker_status",
        "dashboard_figures",
        "payers",
        "payroll",
        "gateway_amounts",
    ]
    assert ledger_check().ok  # every regency


def test_each_kind_of_damage_is_reported_with_its_rows(history, regency, sim):
    sponsor, rebill = history
    # a coverage row lost (e.g. a bad hand edit): paid but nobody protected, and the money no longer adds up
    lost = CoverageMonth.objects.filter(invoice=rebill).order_by("pk").first()
    CoverageMonth.objects.filter(pk=lost.pk).delete()
    report = ledger_check(regency=regency)
    assert _broken(report) == {"money_balance": 1, "coverage_lines": 1}
    (coverage,) = next(c for c in report.checks if c.name == "coverage_lines").violations
    assert coverage.rows["worker_id"] == lost.worker_id and coverage.rows["month"] == lost.month
    assert coverage.differs["problem"] == "paid_line_without_coverage"
    (money,) = next(c for c in report.checks if c.name == "money_balance").violations
    assert money.rows == {"sponsor_id": sponsor.pk} and money.differs["gap_idr"] == -lost.amount_idr

    # the same worker-month on two live invoices
    line = InvoiceLine.objects.filter(invoice=rebill).first()
    other = Invoice.objects.create(
        sponsor=sponsor,
        number="INV-X",
        kind="prepay",
        period=DEC_2026,
        status="issued",
        issued_at=rebill.issued_at,
        due_date=rebill.due_date,
        subtotal_idr=line.amount_idr,
        amount_idr=line.amount_idr,
    )
    InvoiceLine.objects.create(
        invoice=other,
        worker_id=line.worker_id,
        month=line.month,
        jkk_idr=line.jkk_idr,
        jkm_idr=line.jkm_idr,
        amount_idr=line.amount_idr,
    )
    # a counter drifted, the summary table tampered with, the gateway's refunded amount not recorded
    Sponsor.objects.filter(pk=sponsor.pk).update(active_sponsorships=2)
    with connection.cursor() as cur:
        cur.execute("UPDATE sponsorship_dash_agency_month SET collected_idr = collected_idr + 1")
    attempt = PaymentAttempt.objects.get(status="refunded")
    PaymentAttempt.objects.filter(pk=attempt.pk).update(refunded_amount_idr=0)

    report = ledger_check(regency=regency, gateway=True)
    broken = _broken(report)
    assert broken["double_billing"] == 1 and broken["worker_status"] == 1 and broken["gateway_amounts"] == 1
    assert broken["dashboard_figures"] >= 1
    double = next(c for c in report.checks if c.name == "double_billing").violations[0]
    assert double.rows["invoice_ids"] == sorted([rebill.pk, other.pk])
    status = next(c for c in report.checks if c.name == "worker_status").violations[0]
    assert status.differs == {"problem": "sponsor_counter", "active_sponsorships_stored": 2, "active_rows": 3}
    gateway = next(c for c in report.checks if c.name == "gateway_amounts").violations[0]
    assert gateway.rows["order_id"] == attempt.order_id
    assert gateway.differs["refunded_idr"] == {"ours": 0, "gateway": attempt.refunded_amount_idr}
    figures = next(c for c in report.checks if c.name == "dashboard_figures").violations[0]
    assert figures.differs["summary"]["collected_idr"] == figures.differs["raw"]["collected_idr"] + 1


def test_check_ledger_command_exit_codes_and_json(history, regency, capsys):
    call_command("check_ledger", "--regency", "35.02")
    assert "money_balance" in capsys.readouterr().out
    with connection.cursor() as cur:
        cur.execute("UPDATE sponsorship_dash_agency_month SET outstanding_idr = outstanding_idr + 7")
    with pytest.raises(SystemExit) as exit_:
        call_command("check_ledger", "--regency", "35.02", "--json")
    assert exit_.value.code == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["regency"] == "35.02"
    figures = next(c for c in report["checks"] if c["name"] == "dashboard_figures")
    assert figures["violations"] >= 1 and figures["details"][0]["differs"]["table"] == "sponsorship_dash_agency_month"
    with pytest.raises(Exception, match="unknown regency"):
        call_command("check_ledger", "--regency", "99.99")


def test_nightly_job_records_the_result_and_alerts_the_regency_admins_in_indonesian(history, regency, regency_admin):
    assert check_ledger.apply().get() == {"35.02": 0}
    row = AuditLog.objects.get(action="ledger.check")
    assert row.after["ok"] is True and row.object_id == str(regency.pk)
    assert not Notification.objects.filter(kind="ledger_alert").exists()

    with connection.cursor() as cur:
        cur.execute("UPDATE sponsorship_dash_agency_month SET paid_on_time = paid_on_time + 1")
    assert ledger_check_nightly()["35.02"] >= 1
    row = AuditLog.objects.filter(action="ledger.check").latest("pk")
    assert row.after["ok"] is False and row.after["violations"]["dashboard_figures"] >= 1
    assert row.after["sample"][0]["check"] == "dashboard_figures"
    alert = Notification.objects.get(kind="ledger_alert", recipient=regency_admin)
    assert alert.title == "Pemeriksaan buku besar gagal: Kabupaten Ponorogo"
    assert "manage.py check_ledger --regency 35.02" in alert.body and "masalah" in alert.body
    ledger_check_nightly()  # the same night again: no second alert
    assert Notification.objects.filter(kind="ledger_alert").count() == 1


def test_the_schedule_runs_the_job_nightly():
    from backend.celery import beat_schedule

    entry = beat_schedule()["check-ledger"]
    assert entry["task"] == check_ledger.name
    assert entry["schedule"].hour == {2}


@pytest.mark.django_db(transaction=True)
def test_the_command_runs_in_a_read_only_snapshot(regency, capsys, monkeypatch):
    """Outside a caller's transaction (as on a server) the command's transaction is REPEATABLE READ READ ONLY:
    a check that tried to write would fail instead of changing production data."""
    from sponsorship.dashboard import invariants

    seen = {}

    def spy(ctx):
        with connection.cursor() as cur:
            cur.execute("SHOW transaction_read_only")
            seen["read_only"] = cur.fetchone()[0]
            cur.execute("SHOW transaction_isolation")
            seen["isolation"] = cur.fetchone()[0]
        return []

    monkeypatch.setitem(invariants.CHECKS, "probe", spy)
    call_command("check_ledger", "--json")
    assert json.loads(capsys.readouterr().out)["ok"] is True
    assert seen == {"read_only": "on", "isolation": "repeatable read"}
