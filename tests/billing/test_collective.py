"""BPJS collective membership: the wadah and source code on the worker and in the remittance file; rejected
registrations with the reason and what to do; the 6-paid-month rule of the "counted by BPJS" figure."""

import csv
import datetime as dt
import io

import pytest
from django.core.management import call_command

from backend.api.errors import ApplicationError
from sponsorship.billing.models import Invoice
from sponsorship.billing.services.billing import billing_run, invoice_create_prepay
from sponsorship.billing.services.remittance import remittance_export, remittance_import_results
from sponsorship.core.periods import add_months, local_today, month_start
from sponsorship.dashboard.selectors import AdminScope
from sponsorship.dashboard.selectors.bpjs import counted_by_bpjs
from sponsorship.people.identifiers import mask_nik
from sponsorship.people.models import Worker
from sponsorship.people.services.collective import collective_group_save, worker_collective_group_set
from tests import factories

from .test_coverage_remittance import _pay

pytestmark = pytest.mark.django_db
D = dt.date


def test_remittance_carries_the_collective_code_and_records_it_on_the_worker(family, regency, tmp_path):
    sponsor, workers = family
    agency_group = collective_group_save(
        regency=regency,
        funder="asn_sponsors",
        agency=sponsor.agency,
        name="ASN Peduli Disdikbud",
        code="WDH-3502-001",
        source_code="SG",
    )
    corporate = collective_group_save(
        regency=regency, funder="corporate", name="CSR Bank Jatim", code="WDH-3502-CSR", source_code="SC"
    )
    worker_collective_group_set(worker=workers[2], group=corporate)
    billing_run(period=D(2026, 12, 1), notify=False)
    _pay(Invoice.objects.get())
    result = remittance_export(period=D(2026, 12, 1), out_dir=tmp_path)
    rows = list(csv.reader(result.csv_path.open()))
    assert rows[0][8:10] == ["Kode Wadah", "Sumber Dana"]
    by_nik = {r[0]: r[8:10] for r in rows[1:]}
    assert by_nik[workers[0].nik] == ["WDH-3502-001", "SG"]
    assert by_nik[workers[2].nik] == ["WDH-3502-CSR", "SC"]  # the worker's own group wins
    assert Worker.objects.get(pk=workers[0].pk).collective_group == agency_group


def test_only_one_active_group_per_funder_and_known_codes(regency, agency):
    collective_group_save(regency=regency, funder="regency_budget", name="APBD", code="A-1", source_code="SG")
    with pytest.raises(ApplicationError) as exc:
        collective_group_save(regency=regency, funder="regency_budget", name="APBD 2", code="A-2", source_code="SG")
    assert exc.value.status_code == 409
    with pytest.raises(ApplicationError):
        collective_group_save(regency=regency, funder="regency_budget", name="X", code="A-3", source_code="ZZ")


def test_rejected_registrations_come_back_with_reason_and_advice(family, tmp_path):
    sponsor, workers = family
    billing_run(period=D(2026, 12, 1), notify=False)
    _pay(Invoice.objects.get())
    remittance_export(period=D(2026, 12, 1), out_dir=tmp_path)
    results = tmp_path / "hasil.csv"
    results.write_text(
        "NIK,KPJ,Status,Alasan\n"
        f"{workers[0].nik},12345678901,Terdaftar,\n"
        f"{workers[1].nik},,Ditolak,NIK tidak ditemukan di Dukcapil\n"
        f"{workers[2].nik},10987654321,DITOLAK,Peserta sudah terdaftar aktif di wadah lain\n"
    )
    report = remittance_import_results(path=results)
    assert report["updated"] == 3
    rejected = {r["line"]: r for r in report["rejected"]}
    assert set(rejected) == {3, 4}
    assert rejected[3]["reason"] == "NIK tidak ditemukan di Dukcapil" and "Dukcapil" in rejected[3]["advice"]
    assert "dua kali" in rejected[4]["advice"] or "twice" in rejected[4]["advice"]
    assert workers[1].nik not in str(report) and rejected[3]["nik"] == mask_nik(workers[1].nik)
    assert Worker.objects.get(pk=workers[2].pk).kpj == ""  # a rejected registration sets no KPJ
    out = io.StringIO()
    call_command("import_remittance_results", str(results), stdout=out)
    assert "rejected: 2" in out.getvalue() and "NIK tidak ditemukan di Dukcapil" in out.getvalue()


def test_counted_by_bpjs_after_six_paid_months(regency, agency, other_agency):
    six = factories.make_sponsor(agency=agency, capacity=2)
    five = factories.make_sponsor(agency=other_agency, capacity=2)
    w6, w5 = factories.make_worker(), factories.make_worker()
    factories.sponsor_worker(six, w6)
    factories.sponsor_worker(five, w5)
    this_month = month_start(local_today())
    _pay(invoice_create_prepay(sponsor=six, months=6, today=add_months(this_month, -5)))
    _pay(invoice_create_prepay(sponsor=five, months=5, today=add_months(this_month, -4)))
    regency_wide = counted_by_bpjs(AdminScope(regency=regency, agency=None))
    assert (regency_wide["counted"], regency_wide["covered"], regency_wide["min_months"]) == (1, 2, 6)
    assert counted_by_bpjs(AdminScope(regency=regency, agency=agency))["counted"] == 1
    assert counted_by_bpjs(AdminScope(regency=regency, agency=other_agency))["counted"] == 0
    from sponsorship.regions.models import RegencyConfig

    RegencyConfig.objects.filter(regency=regency).update(bpjs_counted_months=5)
    assert counted_by_bpjs(AdminScope(regency=regency, agency=None))["counted"] == 2
