"""Payroll deduction over HTTP (docs/payroll.md): the issue's "done when", scoping, file checks, the alert."""

import csv
import io

import pytest
from openpyxl import Workbook, load_workbook

from notifications.models import Notification
from sponsorship.billing.models import (
    CoverageMonth,
    PaymentAttempt,
    PayrollConsent,
    PayrollDeduction,
    PayrollList,
    PayrollTransfer,
)
from sponsorship.billing.selectors.coverage import worker_coverage_status
from sponsorship.core.models import AuditLog
from sponsorship.core.periods import add_months, local_today, month_start
from sponsorship.dashboard.invariants import ledger_check
from sponsorship.people.models import Role
from tests import factories
from tests.billing.conftest import gateway_settings, sim  # noqa: F401 - fixtures: the real Midtrans simulator

PDF = b"%PDF-1.4\n% signed consent form\n"


def _xlsx(rows) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _upload(name: str, content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content)


def _consent_in_app(api, sponsor, kind="salary"):
    client = api(sponsor.user)
    state = client.get("/api/v1/sponsor/payroll/consent/").json()
    response = client.post(
        "/api/v1/sponsor/payroll/consent/",
        {
            "kind": kind,
            "golongan": "III/b",
            "account_number": "0012345678",
            "consent_text_version": state["consent_text_version"],
            "confirm": True,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture
def asn_with_workers(agency):
    """Three ASN of one agency, two workers each."""
    out = []
    for i in range(3):
        sponsor = factories.make_sponsor(agency=agency, capacity=3, full_name=f"ASN Uji {i}")
        for _ in range(2):
            factories.sponsor_worker(sponsor, factories.make_worker())
        out.append(sponsor)
    return out


@pytest.mark.django_db
def test_done_when_treasurer_file_one_missing_row_covered_protected_missing_gets_link_invariants_hold(
    api,
    agency,
    agency_admin,
    asn_with_workers,
    sim,
    gateway_settings,
    django_capture_on_commit_callbacks,  # noqa: F811
):
    """An admin produces a treasurer file for an agency, imports a confirmation with one missing row, the covered
    sponsors' workers are protected, the missing one gets a payment link, and the invariants hold."""
    a, b, c = asn_with_workers
    for sponsor in (a, b):
        _consent_in_app(api, sponsor)
    # c signed a paper form; the agency admin records it with the scan.
    admin = api(agency_admin)
    response = admin.post(
        "/api/v1/admin/payroll/consents/",
        {"sponsor_id": c.pk, "kind": "tpp", "golongan": "II/c", "scan": _upload("form.pdf", PDF)},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    assert response.json()["channel"] == "paper" and response.json()["has_scan"]

    month = add_months(month_start(local_today()), 1)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            "/api/v1/admin/payroll/lists/", {"agency_id": agency.pk, "payroll_month": f"{month:%Y-%m}"}, format="json"
        )
    assert response.status_code == 201, response.content
    listed = response.json()
    assert listed["rows_count"] == 3 and listed["status"] == "draft"
    amount = {row["nip"]: row["amount_idr"] for row in listed["rows"]}
    assert all(v > 0 for v in amount.values())

    # The treasurer's file, in both formats.
    xlsx = admin.get(f"/api/v1/admin/payroll/lists/{listed['id']}/file/?download=xlsx")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert [c.value for c in sheet[1]][:5] == ["NIP", "Nama", "Golongan", "Jumlah", "Rekening"]
    assert {sheet.cell(row=r, column=1).value for r in range(2, 5)} == set(amount)
    text = admin.get(f"/api/v1/admin/payroll/lists/{listed['id']}/file/?download=csv").content.decode("utf-8-sig")
    assert len(list(csv.reader(io.StringIO(text)))) == 4

    assert admin.post(f"/api/v1/admin/payroll/lists/{listed['id']}/send/").status_code == 200
    # Locked once sent.
    again = admin.post(
        "/api/v1/admin/payroll/lists/", {"agency_id": agency.pk, "payroll_month": f"{month:%Y-%m}"}, format="json"
    )
    assert again.status_code == 409

    # The confirmation: a and c deducted, b missing (not in the file).
    today = local_today()
    content = _xlsx(
        [
            ("NIP", "Jumlah", "Referensi", "Tanggal"),
            (a.nip, amount[a.nip], "TRF-001", today.strftime("%d/%m/%Y")),
            (c.nip, amount[c.nip], "TRF-001", today.strftime("%d/%m/%Y")),
        ]
    )
    report = admin.post(
        f"/api/v1/admin/payroll/lists/{listed['id']}/confirmations/",
        {"file": _upload("konfirmasi.xlsx", content)},
        format="multipart",
    )
    assert report.status_code == 201, report.content
    assert report.json()["problems"] == [] and report.json()["valid_rows"] == 2
    assert not CoverageMonth.objects.filter(month=month).exists()  # nothing written before confirming

    with django_capture_on_commit_callbacks(execute=True):
        confirmed = admin.post(f"/api/v1/admin/payroll/confirmations/{report.json()['id']}/confirm/", {}, format="json")
    # Applied by a task: 202 with the status URL and the progress; the task (eager here) ran after commit.
    assert confirmed.status_code == 202, confirmed.content
    assert confirmed.json()["status"] == "applying" and confirmed.json()["progress"] == {"done": 0, "total": 2}
    assert confirmed["Location"] == confirmed.json()["status_url"]
    done = admin.get(confirmed.json()["status_url"]).json()
    assert done["status"] == "applied" and done["progress"] == {"done": 2, "total": 2}
    assert done["result"]["fallback_links"] == 1

    # The covered sponsors' workers are protected for the month.
    for sponsor in (a, c):
        for sp in sponsor.sponsorships.all():
            assert CoverageMonth.objects.filter(worker_id=sp.worker_id, month=month, sponsor=sponsor).exists()
            assert worker_coverage_status(sp.worker, today=month).state == "protected"
    # The missing one is not, and got a payment link on the simulator.
    for sp in b.sponsorships.all():
        assert not CoverageMonth.objects.filter(worker_id=sp.worker_id, month=month).exists()
    row_b = PayrollDeduction.objects.get(sponsor=b, payroll_month=month)
    assert row_b.status == "missing" and row_b.fallback_sent_at is not None
    link = PaymentAttempt.objects.get(invoice=row_b.invoice, status="open")
    assert link.redirect_url.startswith(sim.base_url)
    note = Notification.objects.get(recipient=b.user, dedupe_key=f"payroll_fallback:{row_b.pk}")
    assert note.data["redirect_url"] == link.redirect_url
    assert not Notification.objects.filter(recipient=a.user, dedupe_key__startswith="payroll_fallback").exists()

    # The bank's transfer matches the confirmed rows: no alert.
    transfer = admin.post(
        "/api/v1/admin/payroll/transfers/",
        {
            "agency_id": agency.pk,
            "payroll_month": f"{month:%Y-%m}",
            "amount_idr": amount[a.nip] + amount[c.nip],
            "reference": "BANK-77",
            "transfer_date": today.isoformat(),
        },
        format="json",
    )
    assert transfer.status_code == 201 and transfer.json()["matched"] is True

    report = ledger_check(regency=agency.regency)
    assert report.ok, report.to_dict()


@pytest.mark.django_db
def test_transfer_mismatch_is_an_alert_flag_and_audit(
    api, agency, agency_admin, regency_admin, asn_with_workers, django_capture_on_commit_callbacks
):
    sponsor = asn_with_workers[0]
    _consent_in_app(api, sponsor)
    month = add_months(month_start(local_today()), 1)
    admin = api(agency_admin)
    listed = admin.post(
        "/api/v1/admin/payroll/lists/", {"agency_id": agency.pk, "payroll_month": f"{month:%Y-%m}"}, format="json"
    ).json()
    admin.post(f"/api/v1/admin/payroll/lists/{listed['id']}/send/")
    amount = listed["rows"][0]["amount_idr"]
    upload = admin.post(
        f"/api/v1/admin/payroll/lists/{listed['id']}/confirmations/",
        {
            "file": _upload(
                "k.csv", f"NIP,Jumlah,Referensi,Tanggal\n{sponsor.nip},{amount},R1,{local_today():%d/%m/%Y}\n".encode()
            )
        },
        format="multipart",
    ).json()
    with django_capture_on_commit_callbacks(execute=True):
        admin.post(f"/api/v1/admin/payroll/confirmations/{upload['id']}/confirm/", {}, format="json")
    response = admin.post(
        "/api/v1/admin/payroll/transfers/",
        {
            "agency_id": agency.pk,
            "payroll_month": f"{month:%Y-%m}",
            "amount_idr": amount - 1000,
            "reference": "BANK-1",
            "transfer_date": local_today().isoformat(),
        },
        format="json",
    )
    assert response.status_code == 201 and response.json()["matched"] is False
    assert AuditLog.objects.filter(action="payroll_transfer.mismatch").exists()
    assert Notification.objects.filter(recipient=regency_admin, kind="ledger_alert").exists()
    assert Notification.objects.filter(recipient=agency_admin, kind="ledger_alert").exists()
    overview = api(regency_admin).get("/api/v1/admin/payroll/overview/").json()
    (entry,) = [m for m in overview["months"] if m["list_id"] == listed["id"]]
    assert entry["transfer_mismatch"] is True and entry["received_idr"] == amount - 1000
    report = ledger_check(regency=agency.regency, only=["payroll"])
    assert not report.ok and report.violations[0].differs["problem"].startswith("bank transfer differs")
    # The same reference twice is refused; the second transfer that completes the sum clears the flag.
    dup = admin.post(
        "/api/v1/admin/payroll/transfers/",
        {
            "agency_id": agency.pk,
            "payroll_month": f"{month:%Y-%m}",
            "amount_idr": 1000,
            "reference": "BANK-1",
            "transfer_date": local_today().isoformat(),
        },
        format="json",
    )
    assert dup.status_code == 409
    admin.post(
        "/api/v1/admin/payroll/transfers/",
        {
            "agency_id": agency.pk,
            "payroll_month": f"{month:%Y-%m}",
            "amount_idr": 1000,
            "reference": "BANK-2",
            "transfer_date": local_today().isoformat(),
        },
        format="json",
    )
    assert set(PayrollTransfer.objects.values_list("matched", flat=True)) == {True}
    assert ledger_check(regency=agency.regency, only=["payroll"]).ok


@pytest.mark.django_db
def test_agency_admin_sees_and_acts_on_own_agency_only(api, agency, other_agency, asn_with_workers):
    other_admin = factories.make_user("admin.dinkes", Role.AGENCY_ADMIN, agency=other_agency)
    _consent_in_app(api, asn_with_workers[0])
    month = add_months(month_start(local_today()), 1)
    client = api(other_admin)
    response = client.post(
        "/api/v1/admin/payroll/lists/", {"agency_id": agency.pk, "payroll_month": f"{month:%Y-%m}"}, format="json"
    )
    assert response.status_code == 404
    own_admin = factories.make_user("admin.dik", Role.AGENCY_ADMIN, agency=agency)
    listed = (
        api(own_admin)
        .post(
            "/api/v1/admin/payroll/lists/", {"agency_id": agency.pk, "payroll_month": f"{month:%Y-%m}"}, format="json"
        )
        .json()
    )
    assert client.get(f"/api/v1/admin/payroll/lists/{listed['id']}/").status_code == 404
    assert client.get(f"/api/v1/admin/payroll/lists/{listed['id']}/file/").status_code == 404
    assert client.get("/api/v1/admin/payroll/consents/").json() == []
    assert client.get("/api/v1/admin/payroll/overview/").json()["agencies"] == []
    consent = PayrollConsent.objects.get()
    assert client.post(f"/api/v1/admin/payroll/consents/{consent.pk}/stop/").status_code == 404
    # A paper consent for another agency's ASN: not found.
    response = client.post(
        "/api/v1/admin/payroll/consents/",
        {"sponsor_id": asn_with_workers[1].pk, "kind": "salary", "scan": _upload("f.pdf", PDF)},
        format="multipart",
    )
    assert response.status_code == 404
    # A sponsor cannot reach the admin API, and an admin not the sponsor's own consent API.
    assert api(asn_with_workers[0].user).get("/api/v1/admin/payroll/lists/").status_code == 403
    assert api(own_admin).get("/api/v1/sponsor/payroll/consent/").status_code == 403


@pytest.mark.django_db
def test_scan_is_validated_by_content_and_size(api, agency_admin, asn_with_workers):
    client = api(agency_admin)
    sponsor = asn_with_workers[0]
    fake = client.post(
        "/api/v1/admin/payroll/consents/",
        {"sponsor_id": sponsor.pk, "kind": "salary", "scan": _upload("form.pdf", b"MZ\x90\x00 not a pdf")},
        format="multipart",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert fake.status_code == 400 and "PDF, JPEG or PNG" in fake.json()["message"]
    big = client.post(
        "/api/v1/admin/payroll/consents/",
        {"sponsor_id": sponsor.pk, "kind": "salary", "scan": _upload("form.pdf", PDF + b"0" * (2 * 1024 * 1024))},
        format="multipart",
    )
    assert big.status_code == 413
    assert not PayrollConsent.objects.exists()
    png = client.post(
        "/api/v1/admin/payroll/consents/",
        {"sponsor_id": sponsor.pk, "kind": "salary", "scan": _upload("form.png", b"\x89PNG\r\n\x1a\n" + b"x" * 100)},
        format="multipart",
    )
    assert png.status_code == 201
    scan = client.get(f"/api/v1/admin/payroll/consents/{png.json()['id']}/scan/")
    assert scan.status_code == 200 and scan["Content-Type"] == "image/png"


@pytest.mark.django_db
def test_sponsor_consent_rules_and_indonesian_errors(api, asn_with_workers):
    sponsor = asn_with_workers[0]
    client = api(sponsor.user)
    state = client.get("/api/v1/sponsor/payroll/consent/").json()
    assert state["consent"] is None and state["monthly_amount_estimate_idr"] > 0
    assert state["consent_text"]
    unconfirmed = client.post(
        "/api/v1/sponsor/payroll/consent/",
        {"kind": "salary", "consent_text_version": state["consent_text_version"], "confirm": False},
        format="json",
    )
    assert unconfirmed.status_code == 400 and unconfirmed.json()["code"] == "not_confirmed"
    outdated = client.post(
        "/api/v1/sponsor/payroll/consent/",
        {"kind": "salary", "consent_text_version": "1999.1", "confirm": True},
        format="json",
    )
    assert outdated.status_code == 400 and "teks persetujuan" in outdated.json()["message"].lower()
    _consent_in_app(api, sponsor)
    twice = client.post(
        "/api/v1/sponsor/payroll/consent/",
        {"kind": "tpp", "consent_text_version": state["consent_text_version"], "confirm": True},
        format="json",
    )
    assert twice.status_code == 409
    stopped = client.post("/api/v1/sponsor/payroll/consent/stop/").json()
    # Never deducted yet: it ends at once.
    assert stopped["consent"] is None
    assert PayrollConsent.objects.get().status == "ended"
    assert client.post("/api/v1/sponsor/payroll/consent/stop/").status_code == 404


@pytest.mark.django_db
def test_confirmation_report_rows_and_nothing_written(api, agency, agency_admin, asn_with_workers):
    a, b, _c = asn_with_workers
    _consent_in_app(api, a)
    _consent_in_app(api, b)
    month = add_months(month_start(local_today()), 1)
    admin = api(agency_admin)
    listed = admin.post(
        "/api/v1/admin/payroll/lists/", {"agency_id": agency.pk, "payroll_month": f"{month:%Y-%m}"}, format="json"
    ).json()
    # Not sent yet: no confirmation.
    early = admin.post(
        f"/api/v1/admin/payroll/lists/{listed['id']}/confirmations/",
        {"file": _upload("k.csv", b"NIP,Jumlah\n1,2\n")},
        format="multipart",
    )
    assert early.status_code == 409
    admin.post(f"/api/v1/admin/payroll/lists/{listed['id']}/send/")
    today = f"{local_today():%d/%m/%Y}"
    body = (
        "NIP;Jumlah;Referensi;Tanggal\n"
        f"{a.nip};abc;R1;{today}\n"
        f"199001012020121001;10000;R1;{today}\n"
        f"{b.nip};5000;;{today}\n"
        f"{b.nip};0;;\n"
    ).encode()
    report = admin.post(
        f"/api/v1/admin/payroll/lists/{listed['id']}/confirmations/",
        {"file": _upload("k.csv", body)},
        format="multipart",
    ).json()
    problems = {(p["row"], p["column"]) for p in report["problems"]}
    assert {(2, "Jumlah"), (3, "NIP"), (4, "Referensi"), (5, "NIP")} <= problems
    refused = admin.post(f"/api/v1/admin/payroll/confirmations/{report['id']}/confirm/", {}, format="json")
    assert refused.status_code == 400
    assert not PaymentAttempt.objects.exists()
    missing_header = admin.post(
        f"/api/v1/admin/payroll/lists/{listed['id']}/confirmations/",
        {"file": _upload("k.csv", b"Nama,Rekening\nx,y\n")},
        format="multipart",
    ).json()
    assert {p["column"] for p in missing_header["problems"]} == {"NIP", "Jumlah"}
    assert admin.delete(f"/api/v1/admin/payroll/confirmations/{missing_header['id']}/").status_code == 200
    assert PayrollList.objects.get().status == "sent"


@pytest.mark.django_db
def test_dashboard_page_shows_figures_and_serves_the_file_in_scope(client, agency, other_agency, asn_with_workers):
    from sponsorship.billing.services.payroll import payroll_list_produce, payroll_list_send

    _consent_in_app_direct(asn_with_workers[0])
    month = add_months(month_start(local_today()), 1)
    payroll_list = payroll_list_produce(agency=agency, month=month)
    payroll_list_send(payroll_list=payroll_list, actor=None)
    own = factories.make_user("admin.opd.web", Role.AGENCY_ADMIN, agency=agency)
    client.force_login(own)
    page = client.get("/dashboard/payroll/", HTTP_ACCEPT_LANGUAGE="id")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Potong gaji" in html and 'data-testid="payroll-months"' in html
    assert 'data-testid="payroll-not-returned"' not in html  # next month's salary is not paid yet
    assert client.get(f"/dashboard/payroll/lists/{payroll_list.pk}.csv").status_code == 200
    other = factories.make_user("admin.dinkes.web", Role.AGENCY_ADMIN, agency=other_agency)
    client.force_login(other)
    assert client.get(f"/dashboard/payroll/lists/{payroll_list.pk}.csv").status_code == 404
    assert agency.name not in client.get("/dashboard/payroll/").content.decode()


def _consent_in_app_direct(sponsor):
    from sponsorship.billing.services.payroll import consent_create

    return consent_create(
        sponsor=sponsor, kind="salary", actor=sponsor.user, consent_text_version="2026.1", confirmed=True
    )


@pytest.mark.django_db
def test_valid_rows_only_leaves_a_row_with_a_problem_listed_not_missing(
    api, agency, agency_admin, asn_with_workers, django_capture_on_commit_callbacks
):
    a, b, _c = asn_with_workers
    _consent_in_app(api, a)
    _consent_in_app(api, b)
    month = add_months(month_start(local_today()), 1)
    admin = api(agency_admin)
    listed = admin.post(
        "/api/v1/admin/payroll/lists/", {"agency_id": agency.pk, "payroll_month": f"{month:%Y-%m}"}, format="json"
    ).json()
    admin.post(f"/api/v1/admin/payroll/lists/{listed['id']}/send/")
    amount = {r["nip"]: r["amount_idr"] for r in listed["rows"]}
    today = f"{local_today():%d/%m/%Y}"
    body = f"NIP,Jumlah,Referensi,Tanggal\n{a.nip},{amount[a.nip]},R1,{today}\n{b.nip},12x,R1,{today}\n".encode()
    report = admin.post(
        f"/api/v1/admin/payroll/lists/{listed['id']}/confirmations/",
        {"file": _upload("k.csv", body)},
        format="multipart",
    ).json()
    assert report["valid_rows"] == 1 and len(report["problems"]) == 1
    with django_capture_on_commit_callbacks(execute=True):
        done = admin.post(
            f"/api/v1/admin/payroll/confirmations/{report['id']}/confirm/", {"mode": "valid_only"}, format="json"
        )
    assert done.status_code == 202, done.content
    assert PayrollDeduction.objects.get(sponsor=a).status == "confirmed"
    assert PayrollDeduction.objects.get(sponsor=b).status == "listed"  # fixed in a later file, no payment link
    assert ledger_check(regency=agency.regency, only=["payroll", "money_balance"]).ok
