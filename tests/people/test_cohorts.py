"""Budget cohorts: imported from a CSV of NIKs with a row report, offered to ASN sponsors before the funding ends;
benefits received: the sponsor is told only with the family's consent."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from notifications.models import Notification
from sponsorship.billing.models import ProtectionAction
from sponsorship.billing.protection_reminders import protection_clock_scan
from sponsorship.core.models import AuditLog
from sponsorship.people.models import BenefitReceived, Cohort, CohortMember, MatchPriority, Role
from tests import factories
from tests.dashboard.money_data import bill, pay

pytestmark = pytest.mark.django_db
WIB = ZoneInfo("Asia/Jakarta")
D = dt.date


def upload(rows, name="nik.csv"):
    text = "\n".join(["nik", *rows]) + "\n"
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def form(rows, **extra):
    return {
        "name": "APBD 2026 Maret-Desember",
        "funder": "apbd",
        "starts_on": "2026-03-01",
        "funded_until": "2026-12-31",
        "file": upload(rows),
        **extra,
    }


@pytest.fixture
def workers(regency):
    return [factories.make_worker(nik=factories.make_nik(sex=s)) for s in ("M", "F")]


def test_import_a_cohort_by_nik(api, regency_admin, workers):
    niks = [w.nik for w in workers]
    response = api(regency_admin).post("/api/v1/admin/cohorts/", form(niks), format="multipart")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["added"] == 2 and body["problems"] == [] and body["cohort"]["members"] == 2
    cohort = Cohort.objects.get()
    assert set(cohort.members.values_list("worker_id", flat=True)) == {w.pk for w in workers}
    audit = AuditLog.objects.get(action="cohort.import")
    assert workers[0].nik not in str(audit.after)  # no NIK in the audit detail
    listed = api(regency_admin).get("/api/v1/admin/cohorts/").json()
    assert listed[0]["members"] == 2


def test_a_bad_row_writes_nothing_and_is_reported_in_indonesian(api, regency_admin, workers):
    rows = [workers[0].nik, "123", workers[0].nik, factories.make_nik(village_code="35.02.17.1002")]
    response = api(regency_admin).post("/api/v1/admin/cohorts/", form(rows), format="multipart")
    assert response.status_code == 400
    body = response.json()
    assert "tidak ada yang diimpor" in body["message"]
    problems = {p["row"]: p["problem"] for p in body["extra"]["rows"]}
    assert set(problems) == {3, 4, 5}
    assert "baris 2" in problems[4] and "Tidak ada pekerja" in problems[5]
    assert not Cohort.objects.exists()
    only_valid = api(regency_admin).post(
        "/api/v1/admin/cohorts/", form(rows, valid_rows_only="true"), format="multipart"
    )
    assert only_valid.status_code == 201 and only_valid.json()["added"] == 1


def test_only_a_regency_admin_imports_and_never_another_regencys_workers(api, agency_admin, workers, regency):
    assert (
        api(agency_admin).post("/api/v1/admin/cohorts/", form([workers[0].nik]), format="multipart").status_code == 403
    )
    other = factories.make_user("admin.lain", Role.REGENCY_ADMIN, regency=regency.parent)  # a province, no workers
    response = api(other).post("/api/v1/admin/cohorts/", form([workers[0].nik]), format="multipart")
    assert response.status_code == 400 and not Cohort.objects.exists()


def test_a_cohort_ending_in_december_is_offered_in_november(regency, workers):
    cohort = Cohort.objects.create(
        regency=regency, name="DBHCHT 2026", funder="dbhcht", starts_on=D(2026, 3, 1), funded_until=D(2026, 12, 31)
    )
    for w in workers:
        CohortMember.objects.create(cohort=cohort, worker=w)
    sponsored = workers[1]
    factories.sponsor_worker(factories.make_sponsor(), sponsored)  # already has an ASN: nothing to offer
    for day in (D(2026, 10, 31), D(2026, 11, 15)):
        protection_clock_scan(now=dt.datetime.combine(day, dt.time(9), tzinfo=WIB))
    assert not MatchPriority.objects.exists()
    protection_clock_scan(now=dt.datetime.combine(D(2026, 11, 16), dt.time(9), tzinfo=WIB))  # 45 days before
    protection_clock_scan(now=dt.datetime.combine(D(2026, 11, 17), dt.time(9), tzinfo=WIB))
    flag = MatchPriority.objects.get()
    assert (flag.worker_id, flag.reason, flag.until) == (workers[0].pk, "cohort_ending", D(2026, 12, 31))
    (offer,) = ProtectionAction.objects.filter(kind="offered")
    assert offer.worker_id == workers[0].pk and offer.detail["days_left"] == 45
    assert offer.at.astimezone(WIB).date() == D(2026, 11, 16)


# -- benefits received ---------------------------------------------------------------------------------------
@pytest.fixture
def sponsored(regency, sponsor):
    worker = factories.make_worker()
    factories.sponsor_worker(sponsor, worker)
    pay(bill(D(2026, 11, 1))[sponsor.pk], dt.datetime(2026, 11, 3, 10, tzinfo=WIB))
    return worker, sponsor


def test_the_sponsor_is_told_about_a_benefit_only_with_consent(api, regency_admin, sponsored):
    worker, sponsor = sponsored
    url = f"/api/v1/admin/workers/{worker.pk}/benefits/"
    no = api(regency_admin).post(
        url, {"kind": "jkk", "received_on": "2026-11-20", "amount_idr": 3_500_000, "sponsor_may_be_told": False}
    )
    assert no.status_code == 201 and no.json()["sponsor_told"] is False
    assert not Notification.objects.filter(kind="benefit_received_sponsor").exists()
    assert not ProtectionAction.objects.filter(kind="benefit_notified").exists()
    yes = api(regency_admin).post(url, {"kind": "jkm", "received_on": "2026-11-25", "sponsor_may_be_told": True})
    assert yes.status_code == 201 and yes.json()["sponsor_told"] is True
    told = Notification.objects.get(kind="benefit_received_sponsor")
    assert told.recipient_id == sponsor.user_id and "JKM" in told.body and worker.full_name in told.body
    assert ProtectionAction.objects.filter(kind="benefit_notified", worker=worker).count() == 1
    again = api(regency_admin).post(url, {"kind": "jkm", "received_on": "2026-11-25", "sponsor_may_be_told": True})
    assert again.status_code == 409 and BenefitReceived.objects.count() == 2


def test_benefit_input_errors_are_4xx_and_scoped(api, agency_admin, other_agency, sponsored, regency_admin):
    worker, _ = sponsored
    url = f"/api/v1/admin/workers/{worker.pk}/benefits/"
    assert api(regency_admin).post(url, {"kind": "jht", "received_on": "2026-11-25"}).status_code == 400
    future = api(regency_admin).post(url, {"kind": "jkk", "received_on": "2099-01-01", "sponsor_may_be_told": True})
    assert future.status_code == 400 and "masa depan" in future.json()["message"]
    outsider = factories.make_user("admin.lain", Role.AGENCY_ADMIN, agency=other_agency)
    body = {"kind": "jkk", "received_on": "2026-11-25", "sponsor_may_be_told": True}
    assert api(outsider).post(url, body).status_code == 404
    assert api(agency_admin).post(url, body).status_code == 201  # its own ASN's worker
