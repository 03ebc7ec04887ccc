"""The at-risk dashboard: who loses protection within 30 days, why, what has been done; scoped, with CSV."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from sponsorship.billing.protection_reminders import protection_clock_scan
from sponsorship.billing.services.protection_log import record_protection_action
from sponsorship.dashboard.selectors import admin_scope
from sponsorship.dashboard.selectors.at_risk import at_risk_workers
from sponsorship.people.models import BenefitReceived, Cohort, CohortMember
from sponsorship.people.services.sponsorships import sponsorship_end
from tests import factories
from tests.dashboard.money_data import bill, pay

pytestmark = pytest.mark.django_db
WIB = ZoneInfo("Asia/Jakarta")
D = dt.date
TODAY = D(2026, 12, 20)


@pytest.fixture
def scenario(regency, agency, other_agency, settings):
    """Four workers: paid ahead (safe), sponsor not paying January, sponsor gone, a cohort ending."""
    settings.DASHBOARD_CACHE_SECONDS = 0
    payer = factories.make_sponsor(agency=agency, full_name="Ani Lestari")
    late = factories.make_sponsor(agency=agency, full_name="Catur Prasetyo")
    gone = factories.make_sponsor(agency=other_agency, full_name="Bambang Wijaya")
    safe, unpaid, left = (factories.make_worker(full_name=n) for n in ("Aman Sentosa", "Belum Bayar", "Ditinggal"))
    in_cohort = factories.make_worker(full_name="Kohort Apbd", village_code="35.02.17.1002")
    factories.sponsor_worker(payer, safe)
    factories.sponsor_worker(late, unpaid)
    ending = factories.sponsor_worker(gone, left)
    december = bill(D(2026, 12, 1))
    for sponsor in (payer, late, gone):
        pay(december[sponsor.pk], dt.datetime(2026, 12, 3, 10, tzinfo=WIB))
    sponsorship_end(sponsorship=ending, reason="sponsor_left")
    pay(bill(D(2027, 1, 1))[payer.pk], dt.datetime(2026, 12, 4, 10, tzinfo=WIB))  # only the payer pays January
    cohort = Cohort.objects.create(
        regency=regency, name="APBD", funder="apbd", starts_on=D(2026, 3, 1), funded_until=D(2026, 12, 31)
    )
    CohortMember.objects.create(cohort=cohort, worker=in_cohort)
    record_protection_action(unpaid.pk, "reminded_sponsor", at=dt.datetime(2026, 12, 17, 9, tzinfo=WIB))
    BenefitReceived.objects.create(worker=safe, kind="jkk", received_on=D(2026, 10, 1), amount_idr=2_000_000)
    BenefitReceived.objects.create(worker=in_cohort, kind="jkm", received_on=D(2026, 11, 1))
    return {"safe": safe, "unpaid": unpaid, "left": left, "cohort": in_cohort}


def by_name(rows):
    return {r["worker_name"]: r for r in rows}


def test_who_is_at_risk_and_why(scenario, regency_admin):
    rows = by_name(at_risk_workers(admin_scope(regency_admin), today=TODAY))
    assert set(rows) == {"Belum Bayar", "Ditinggal", "Kohort Apbd"}  # the one paid for January is safe
    assert rows["Belum Bayar"]["reason"] == "sponsor_not_paying" and rows["Belum Bayar"]["days_left"] == 11
    assert [a["kind"] for a in rows["Belum Bayar"]["actions"]] == ["reminded_sponsor"]
    assert "ASN diingatkan 17 Desember 2026" in rows["Belum Bayar"]["actions_text"]
    assert rows["Ditinggal"]["reason"] == "sponsor_left"
    assert rows["Kohort Apbd"]["reason"] == "cohort_ending" and rows["Kohort Apbd"]["ends_on"] == D(2026, 12, 31)
    assert at_risk_workers(admin_scope(regency_admin), today=TODAY, days=5) == []  # all three have 11 days


def test_agency_admin_sees_only_workers_of_its_own_asn(scenario, agency_admin, api, monkeypatch):
    monkeypatch.setattr("sponsorship.dashboard.selectors.at_risk.local_today", lambda: TODAY)
    body = api(agency_admin).get("/api/v1/admin/dashboard/at-risk/").json()
    assert [r["worker_name"] for r in body["rows"]] == ["Belum Bayar"]
    assert body["reasons"] == {"sponsor_not_paying": 1} and body["with_action"] == 1


def test_regency_api_csv_and_page(scenario, regency_admin, api, monkeypatch, sponsor):
    monkeypatch.setattr("sponsorship.dashboard.selectors.at_risk.local_today", lambda: TODAY)
    body = api(regency_admin).get("/api/v1/admin/dashboard/at-risk/").json()
    assert len(body["rows"]) == 3 and body["reasons"]["cohort_ending"] == 1
    csv = api(regency_admin).get("/api/v1/admin/dashboard/at-risk/?download=csv")
    assert csv.status_code == 200 and "Belum Bayar" in csv.content.decode() and "Sisa hari" in csv.content.decode()
    assert api(sponsor.user).get("/api/v1/admin/dashboard/at-risk/").status_code == 403
    client = Client()
    client.force_login(regency_admin)
    page = client.get("/dashboard/at-risk/")
    assert page.status_code == 200 and "Belum Bayar" in page.content.decode()
    assert client.get("/dashboard/export/at_risk.csv").status_code == 200


def test_benefits_counted_per_regency_and_kecamatan(scenario, regency_admin, agency_admin, api):
    body = api(regency_admin).get("/api/v1/admin/dashboard/benefits/").json()
    assert body["regency_total"] == {"jkk": 1, "jkm": 1, "total": 2, "amount_idr": 2_000_000}
    (district,) = [r for r in body["rows"] if r["total"]]
    assert district["code"] == "35.02.17" and district["jkk"] == 1 and district["jkm"] == 1
    assert api(agency_admin).get("/api/v1/admin/dashboard/benefits/").json()["regency_total"]["total"] == 1


def test_a_reminder_scan_shows_up_as_done(scenario, regency_admin):
    protection_clock_scan(now=dt.datetime(2026, 12, 24, 9, tzinfo=WIB))
    rows = by_name(at_risk_workers(admin_scope(regency_admin), today=D(2026, 12, 24)))
    kinds = [a["kind"] for a in rows["Belum Bayar"]["actions"]]
    assert kinds.count("reminded_sponsor") == 2  # the manual one on the 17th, the scan's 7-day one
