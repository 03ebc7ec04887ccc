"""The payroll rail's second round (docs/payroll.md): the confirmation applied by a resumable task, an
over-deduction paid and owed back, supplementary invoices, the list day and cut-off on working days, and the
dashboard forms driven with the Django test client."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from notifications.models import Notification
from sponsorship.billing import tasks
from sponsorship.billing.models import (
    CoverageMonth,
    Invoice,
    PaymentAttempt,
    PayrollConfirmation,
    PayrollConsent,
    PayrollDeduction,
    PayrollList,
    PayrollTransfer,
    RefundCase,
)
from sponsorship.billing.services import payroll_settle as settle
from sponsorship.billing.services.billing import billing_run
from sponsorship.billing.services.payroll import (
    first_open_payroll_month,
    payroll_cutoff_date,
    payroll_list_date,
    payroll_list_produce,
)
from sponsorship.billing.services.payroll_settle import (
    APPLY_CHUNK,
    payroll_confirmation_apply_queued,
    payroll_confirmation_confirm_request,
    payroll_transfer_record,
)
from sponsorship.core.models import AuditLog
from sponsorship.dashboard.invariants import ledger_check
from sponsorship.dashboard.selectors import admin_scope
from sponsorship.dashboard.selectors.payroll import payroll_overview
from sponsorship.dashboard.services.payroll_import import confirmation_preview
from sponsorship.regions.models import RegencyHoliday
from tests import factories
from tests.billing.conftest import gateway_settings, sim  # noqa: F401 - fixtures: the real Midtrans simulator
from tests.billing.test_payroll_cycle import M1, TODAY, _covered, _csv, _import, _produce_and_send, _row, world

__all__ = ["world"]  # the fixture, shared with the cycle test
PDF = b"%PDF-1.4\n% signed consent form\n"


# ---- 1. the apply runs in a task, resumable --------------------------------------------------------------------
@pytest.mark.django_db
def test_apply_is_resumable_after_a_worker_dies_midway_and_swept_when_lost(world, agency, monkeypatch):
    (s1, s2, s3, s4), admin = world
    payroll_list = _produce_and_send(agency, M1, admin)
    amounts = {r.sponsor_id: r.amount_idr for r in payroll_list.rows.all()}
    confirmation = confirmation_preview(
        payroll_list=payroll_list,
        file_name="k.csv",
        content=_csv([(s.nip, amounts[s.pk], "TRF-1") for s in (s1, s2, s3, s4)]),
        actor=admin,
    )
    # Confirmed; its task message is lost (the on-commit callback never runs in this test transaction).
    confirmation = payroll_confirmation_confirm_request(confirmation=confirmation, actor=admin)
    assert confirmation.status == "applying" and confirmation.progress_done == 0
    # Confirming again (a double click) answers the same file and audits nothing more.
    assert payroll_confirmation_confirm_request(confirmation=confirmation, actor=admin).status == "applying"
    assert AuditLog.objects.filter(action="payroll_confirmation.confirm").count() == 1

    # A worker settles the first chunk (two rows here) and is killed in the middle of the second.
    monkeypatch.setattr(settle, "APPLY_CHUNK", 2)
    original_row_apply = settle._confirmation_row_apply
    calls = {"n": 0}

    class Died(Exception):
        pass

    def row_apply(**kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise Died
        return original_row_apply(**kwargs)

    monkeypatch.setattr(settle, "_confirmation_row_apply", row_apply)
    with pytest.raises(Died):
        payroll_confirmation_apply_queued(confirmation_id=confirmation.pk)
    confirmation.refresh_from_db()
    # The first chunk is committed (two rows settled, progress 2); the second rolled back.
    assert confirmation.status == "applying" and confirmation.progress_done == 2
    assert PayrollDeduction.objects.filter(payroll_list=payroll_list, status="confirmed").count() == 2
    monkeypatch.setattr(settle, "_confirmation_row_apply", original_row_apply)

    # The sweep queues it again once it is stale (eager: it runs here) and the apply resumes at row 3.
    PayrollConfirmation.objects.filter(pk=confirmation.pk).update(
        confirmed_at=timezone.now() - dt.timedelta(minutes=20)
    )
    assert tasks.sweep_applying_payroll_confirmations.apply().get() == 1
    confirmation.refresh_from_db()
    assert confirmation.status == "applied" and confirmation.progress_done == 4
    assert confirmation.result["outcomes"] == {"confirmed": 4}
    assert PaymentAttempt.objects.filter(payment_type="payroll").count() == 4  # none twice
    for sponsor in (s1, s2, s3, s4):
        assert _covered(sponsor, M1)
    # A redelivered task changes nothing.
    assert tasks.payroll_confirmation_apply_task.apply(args=[confirmation.pk]).get() is None
    assert AuditLog.objects.filter(action="payroll_confirmation.apply").count() == 1
    assert ledger_check(regency=agency.regency, only=["payroll", "money_balance"]).ok


def test_apply_chunk_is_small_enough_to_show_progress():
    assert 1 <= APPLY_CHUNK <= 100


# ---- 2. over-deduction --------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_over_deduction_pays_the_bill_sends_no_link_and_owes_the_excess_back(
    world, agency, regency, django_capture_on_commit_callbacks
):
    (s1, s2, s3, s4), admin = world
    capture = django_capture_on_commit_callbacks
    with capture(execute=True):
        payroll_list = _produce_and_send(agency, M1, admin)
    amounts = {r.sponsor_id: r.amount_idr for r in payroll_list.rows.all()}
    rows = [(s1.nip, amounts[s1.pk] + 5000, "TRF-1")] + [(s.nip, amounts[s.pk], "TRF-1") for s in (s2, s3, s4)]
    result = _import(payroll_list, rows, actor=admin, capture=capture)
    assert result["outcomes"] == {"over": 1, "confirmed": 3} and result["fallback_links"] == 0

    over = _row(s1, M1)
    assert over.status == "confirmed" and over.deducted_idr == amounts[s1.pk] + 5000
    assert over.invoice.status == Invoice.Status.PAID and _covered(s1, M1)
    assert over.attempt.status == "settled" and over.attempt.paid_amount_idr == amounts[s1.pk] + 5000
    case = RefundCase.objects.get(attempt=over.attempt)
    assert (case.reason, case.amount_idr, case.status, case.sponsor_id) == ("payroll_excess", 5000, "open", s1.pk)
    # No payment link: the bill is paid.
    assert not Notification.objects.filter(dedupe_key__startswith="payroll_fallback").exists()
    assert not PaymentAttempt.objects.filter(invoice=over.invoice).exclude(payment_type="payroll").exists()

    # Admins see what is owed back (API overview, dashboard page) and in the month's reconciliation row.
    overview = payroll_overview(admin_scope(admin))
    [due] = overview["refunds_due"]
    assert (due["nip"], due["owed_idr"], due["deducted_idr"]) == (s1.nip, 5000, amounts[s1.pk] + 5000)
    [month] = [m for m in overview["months"] if m["list_id"] == payroll_list.pk]
    assert month["over_rows"] == 1 and month["excess_idr"] == 5000
    assert month["confirmed_idr"] == sum(amounts.values()) + 5000

    # Money in = settled + excess owed: the bank transfers all that was deducted and it matches.
    assert payroll_transfer_record(
        agency=agency,
        month=M1,
        amount_idr=sum(amounts.values()) + 5000,
        reference="BPD-1",
        transfer_date=TODAY,
        actor=admin,
    ).matched
    report = ledger_check(regency=regency)
    assert report.ok, report.to_dict()


# ---- 4. supplementary invoices --------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_supplementary_invoice_is_not_deducted_but_gets_a_payment_link(
    world,
    agency,
    regency,
    sim,
    gateway_settings,
    django_capture_on_commit_callbacks,  # noqa: F811
):
    """The treasurer deducts one amount per ASN: the month's invoice. A worker accepted after it was issued is billed
    on a supplementary invoice (sequence 2) that payroll never deducts; when the confirmation is applied, each listed
    ASN's supplementary invoice of the month that is still unpaid gets a Snap payment link, once."""
    (s1, s2, s3, s4), admin = world
    capture = django_capture_on_commit_callbacks
    with capture(execute=True):
        billing_run(period=M1, notify=False)
    # s1 accepts a third worker: the next run issues a supplementary invoice for M1.
    factories.sponsor_worker(s1, factories.make_worker())
    with capture(execute=True):
        billing_run(period=M1, notify=False)
    supplementary = Invoice.objects.get(sponsor=s1, period=M1, sequence=2)
    assert supplementary.status == Invoice.Status.ISSUED

    with capture(execute=True):
        payroll_list = _produce_and_send(agency, M1, admin)
    row = _row(s1, M1)
    assert row.invoice.sequence == 1 and row.amount_idr == row.invoice.amount_idr  # the month's invoice only
    assert not PayrollDeduction.objects.filter(invoice=supplementary).exists()
    amounts = {r.sponsor_id: r.amount_idr for r in payroll_list.rows.all()}
    result = _import(
        payroll_list, [(s.nip, amounts[s.pk], "TRF-1") for s in (s1, s2, s3, s4)], actor=admin, capture=capture
    )
    assert result["fallback_links"] == 0
    confirmation = PayrollConfirmation.objects.get(payroll_list=payroll_list)
    assert confirmation.result["supplementary_links"] == 1
    link = PaymentAttempt.objects.get(invoice=supplementary, status="open")
    assert link.redirect_url.startswith(sim.base_url)
    note = Notification.objects.get(recipient=s1.user, dedupe_key=f"payroll_supplementary:{supplementary.pk}")
    assert note.data["reason"] == "payroll_supplementary" and note.data["redirect_url"] == link.redirect_url
    # The month's invoice is paid by payroll; the new worker's month waits for the link.
    assert row.invoice.__class__.objects.get(pk=row.invoice_id).status == Invoice.Status.PAID
    assert ledger_check(regency=regency, only=["payroll", "money_balance"]).ok


# ---- 5. list day and cut-off on working days ---------------------------------------------------------------------
@pytest.mark.django_db
def test_list_day_and_cut_off_come_the_working_day_before_a_weekend_or_holiday(agency, regency):
    march = dt.date(2027, 3, 1)
    # 20 March 2027 is a Saturday: the lists are produced on Friday the 19th.
    assert payroll_list_date(regency_id=regency.pk, month=march) == dt.date(2027, 3, 19)
    # The cut-off, the 25th (a Thursday), moves to Wednesday when the regency closes its offices that day.
    assert payroll_cutoff_date(regency_id=regency.pk, month=march) == dt.date(2027, 3, 25)
    RegencyHoliday.objects.create(regency=regency, date=dt.date(2027, 3, 25), name="uji: libur daerah")
    assert payroll_cutoff_date(regency_id=regency.pk, month=march) == dt.date(2027, 3, 24)
    # So on the 25th a consent or a stop is past the cut-off: it takes effect a month later.
    assert first_open_payroll_month(agency_id=agency.pk, today=dt.date(2027, 3, 24)) == dt.date(2027, 4, 1)
    assert first_open_payroll_month(agency_id=agency.pk, today=dt.date(2027, 3, 25)) == dt.date(2027, 5, 1)


# ---- 3. the dashboard forms ----------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_dashboard_forms_drive_the_whole_cycle(
    agency, other_agency, agency_admin, regency, django_capture_on_commit_callbacks
):
    """Record a paper consent with its scan, produce the list, download it, mark it sent, upload the confirmation,
    confirm it (progress, then the result), record the bank's transfer: all through the dashboard's forms."""
    capture = django_capture_on_commit_callbacks
    sponsor = factories.make_sponsor(agency=agency, capacity=3, full_name="ASN Form")
    factories.sponsor_worker(sponsor, factories.make_worker())
    elsewhere = factories.make_sponsor(agency=other_agency, capacity=3)
    factories.sponsor_worker(elsewhere, factories.make_worker())
    client = Client(enforce_csrf_checks=True)
    client.force_login(agency_admin)
    page = client.get("/dashboard/payroll/")
    assert page.status_code == 200
    csrf = page.cookies["csrftoken"].value

    def post(url, data, follow=False):
        return client.post(url, {**data, "csrfmiddlewaretoken": csrf}, follow=follow)

    # Without the CSRF token: refused.
    assert client.post("/dashboard/payroll/", {"action": "produce"}).status_code == 403

    # A paper consent; an ASN of another agency is not found for an agency admin.
    refused = post(
        "/dashboard/payroll/",
        {"action": "consent", "nip": elsewhere.nip, "kind": "salary", "scan": SimpleUploadedFile("f.pdf", PDF)},
    )
    assert refused.status_code == 200 and not PayrollConsent.objects.exists()
    done = post(
        "/dashboard/payroll/",
        {
            "action": "consent",
            "nip": sponsor.nip,
            "kind": "tpp",
            "golongan": "III/a",
            "account_number": "0099",
            "scan": SimpleUploadedFile("f.pdf", PDF),
        },
    )
    assert done.status_code == 302
    consent = PayrollConsent.objects.get(sponsor=sponsor)
    assert consent.channel == "paper" and consent.scan_sha256 and consent.recorded_by == agency_admin

    # Produce the list of the consent's first month; another agency is not in the form's choices.
    month = consent.start_month
    assert (
        post(
            "/dashboard/payroll/", {"action": "produce", "agency": other_agency.pk, "payroll_month": f"{month:%Y-%m}"}
        ).status_code
        == 200
    )
    assert not PayrollList.objects.exists()
    with capture(execute=True):
        produced = post(
            "/dashboard/payroll/", {"action": "produce", "agency": agency.pk, "payroll_month": f"{month:%Y-%m}"}
        )
    payroll_list = PayrollList.objects.get(agency=agency, payroll_month=month)
    assert produced.status_code == 302 and produced["Location"] == f"/dashboard/payroll/lists/{payroll_list.pk}/"
    detail = client.get(produced["Location"])
    assert detail.status_code == 200 and sponsor.nip.encode() in detail.content
    xlsx = client.get(f"/dashboard/payroll/lists/{payroll_list.pk}.xlsx")
    assert xlsx.status_code == 200 and xlsx["Content-Disposition"].endswith('.xlsx"')

    # Mark it sent: locked.
    assert post(f"/dashboard/payroll/lists/{payroll_list.pk}/", {"action": "send"}).status_code == 302
    payroll_list.refresh_from_db()
    assert payroll_list.status == "sent"

    # Upload the confirmation → the report page → confirm → progress, then the result.
    row = payroll_list.rows.get()
    body = f"NIP,Jumlah,Referensi,Tanggal\n{sponsor.nip},{row.amount_idr},TRF-9,{TODAY:%d/%m/%Y}\n".encode()
    uploaded = post(
        f"/dashboard/payroll/lists/{payroll_list.pk}/",
        {"action": "upload", "file": SimpleUploadedFile("konfirmasi.csv", body)},
    )
    confirmation = PayrollConfirmation.objects.get(payroll_list=payroll_list)
    assert (
        uploaded.status_code == 302 and uploaded["Location"] == f"/dashboard/payroll/confirmations/{confirmation.pk}/"
    )
    report = client.get(uploaded["Location"])
    assert b'data-testid="payroll-confirm-all"' in report.content
    with capture(execute=False) as queued:
        assert post(uploaded["Location"], {"action": "all"}).status_code == 302
    applying = client.get(uploaded["Location"])
    assert b'data-testid="payroll-progress"' in applying.content
    assert b'<progress max="1" value="0">' in applying.content
    with capture(execute=True):
        for callback in queued:
            callback()
    result = client.get(uploaded["Location"])
    assert b'data-testid="payroll-result"' in result.content
    assert _row(sponsor, month).status == "confirmed"
    assert CoverageMonth.objects.filter(sponsor=sponsor, month=month).exists()

    # The bank's transfer; a different amount is flagged.
    recorded = post(
        "/dashboard/payroll/",
        {
            "action": "transfer",
            "agency": agency.pk,
            "payroll_month": f"{month:%Y-%m}",
            "amount_idr": row.amount_idr,
            "reference": "BPD-7",
            "transfer_date": TODAY.isoformat(),
        },
    )
    assert recorded.status_code == 302
    assert PayrollTransfer.objects.get(reference="BPD-7").matched

    # Another agency's list and file are not found for this admin.
    with capture(execute=True):
        foreign = payroll_list_produce(agency=other_agency, month=month, actor=None)
    assert client.get(f"/dashboard/payroll/lists/{foreign.pk}/").status_code == 404
    assert post(f"/dashboard/payroll/lists/{foreign.pk}/", {"action": "send"}).status_code == 404
