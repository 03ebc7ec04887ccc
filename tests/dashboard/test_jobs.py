"""Exports and the BPJS remittance file as background jobs (docs/long-work.md).

The request answers 202 with a QUEUED job; the task prepares the file (progress on the job); asking again meanwhile
answers the same job; a second delivery does nothing; a job whose worker died is queued again by the sweep; the file
is the requester's only.
"""

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone

from sponsorship.billing.models import CoverageMonth, RemittanceBatch
from sponsorship.core.models import AuditLog
from sponsorship.dashboard import tasks
from sponsorship.dashboard.models import Job
from sponsorship.dashboard.selectors import admin_scope
from sponsorship.dashboard.services import jobs
from sponsorship.people.models import Role
from tests import factories

pytestmark = pytest.mark.django_db
JOBS = "/api/v1/admin/jobs/"


@pytest.fixture
def no_worker(settings):
    """A broker nobody consumes: queued tasks wait, as in production while the worker is busy or down."""
    from backend.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    app.conf.broker_url = "memory://"
    yield
    app.conf.task_always_eager = True


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.JOB_FILES_DIR = str(tmp_path / "jobs")
    settings.REMITTANCE_DIR = str(tmp_path / "remittance")


def test_an_export_is_queued_prepared_by_the_task_and_downloaded_by_its_requester(
    api, agency, regency_admin, no_worker, django_capture_on_commit_callbacks
):
    factories.make_sponsor(agency=agency)
    client = api(regency_admin)
    ask = {"kind": "export", "table": "agencies", "format": "csv"}
    with django_capture_on_commit_callbacks(execute=True) as queued:
        first = client.post(JOBS, ask, format="json")
    assert first.status_code == 202, first.json()
    body = first.json()
    assert body["status"] == "queued" and body["download_url"] is None and len(queued) == 1
    # A double click: the same job, nothing queued twice.
    with django_capture_on_commit_callbacks(execute=True) as again:
        second = client.post(JOBS, ask, format="json")
    assert second.status_code == 202 and second.json()["id"] == body["id"] and again == []
    assert client.get(f"{JOBS}{body['id']}/download/").status_code == 409

    assert tasks.run_job.apply(args=[body["id"]]).get() == "done"
    assert tasks.run_job.apply(args=[body["id"]]).get() is None  # a redelivery does nothing
    done = client.get(f"{JOBS}{body['id']}/").json()
    assert done["status"] == "done" and done["progress"] == {"done": 3, "total": 3, "stage": "done"}
    assert done["result"]["rows"] == 1 and done["download_url"] == f"{JOBS}{body['id']}/download/"
    download = client.get(done["download_url"])
    assert download.status_code == 200 and download["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:2] == ["Peringkat", "OPD"] and len(rows) == 2
    assert AuditLog.objects.filter(action="export.report").count() == 1
    # Finished: asking again makes a new job (the figures may have changed).
    with django_capture_on_commit_callbacks(execute=True):
        third = client.post(JOBS, ask, format="json")
    assert third.json()["id"] != body["id"]


def test_a_job_and_its_file_are_the_requesters_only(api, agency, regency, regency_admin):
    job, _ = jobs.job_request(
        actor=regency_admin, scope=admin_scope(regency_admin), kind="export", params={"table": "agencies"}
    )
    jobs.job_run(job_id=job.pk)
    colleague = factories.make_user("admin.kab.2", Role.REGENCY_ADMIN, regency=regency)
    for path in (f"{JOBS}{job.pk}/", f"{JOBS}{job.pk}/download/"):
        assert api(colleague).get(path).status_code == 404
    assert api(colleague).get(JOBS).json() == []
    assert api(regency_admin).get(f"{JOBS}{job.pk}/download/").status_code == 200
    worker_user = factories.make_user("sponsor.x", Role.SPONSOR)
    assert api(worker_user).get(JOBS).status_code == 403


def test_bad_requests_are_clear_4xx_in_indonesian(api, regency_admin):
    client = api(regency_admin)
    unknown = client.post(JOBS, {"kind": "export", "table": "nope"}, format="json")
    assert unknown.status_code == 400 and unknown.json()["message"] == "Laporan tidak dikenal."
    assert client.post(JOBS, {"kind": "bogus"}, format="json").status_code == 400
    # The remittance file (clear NIKs) is for superusers only.
    denied = client.post(JOBS, {"kind": "remittance", "period": "2026-12"}, format="json")
    assert denied.status_code == 403 and denied.json()["code"] == "permission_denied"


def test_a_job_whose_worker_died_is_queued_again_and_finished_once(agency, regency_admin, no_worker):
    job, created = jobs.job_request(
        actor=regency_admin, scope=admin_scope(regency_admin), kind="export", params={"table": "agencies"}
    )
    assert created
    # Claimed by a worker that died: RUNNING, heartbeat 10 minutes old.
    Job.objects.filter(pk=job.pk).update(
        status="running", heartbeat_at=timezone.now() - dt.timedelta(minutes=10), attempts=1
    )
    live, _ = jobs.job_request(
        actor=regency_admin, scope=admin_scope(regency_admin), kind="export", params={"table": "arrears"}
    )
    Job.objects.filter(pk=live.pk).update(status="running", heartbeat_at=timezone.now(), attempts=1)
    assert jobs.job_run(job_id=live.pk) is None  # a live worker's job is not taken over
    assert jobs.job_sweep() == 1
    assert jobs.job_run(job_id=job.pk) == "done"
    job.refresh_from_db()
    assert job.attempts == 2 and job.file and job.finished_at


def test_a_job_interrupted_too_often_fails(agency, regency_admin, no_worker):
    job, _ = jobs.job_request(
        actor=regency_admin, scope=admin_scope(regency_admin), kind="export", params={"table": "agencies"}
    )
    Job.objects.filter(pk=job.pk).update(
        status="running", heartbeat_at=timezone.now() - dt.timedelta(minutes=10), attempts=3
    )
    assert jobs.job_run(job_id=job.pk) is None
    job.refresh_from_db()
    assert job.status == "failed" and job.error


@pytest.fixture
def paid_month(sponsor):
    from sponsorship.billing.models import Invoice
    from sponsorship.billing.services.billing import billing_run
    from tests.billing.test_coverage_remittance import _pay

    for name in ("Slamet Riyadi", "Siti Aminah"):
        factories.sponsor_worker(sponsor, factories.make_worker(full_name=name))
    billing_run(period=dt.date(2026, 12, 1), notify=False)
    _pay(Invoice.objects.get())
    return dt.date(2026, 12, 1)


def test_the_remittance_file_as_a_job_marks_rows_once(api, paid_month, django_capture_on_commit_callbacks):
    admin = factories.make_user("root", None)
    admin.is_superuser = admin.is_staff = True
    admin.save()
    client = api(admin)
    with django_capture_on_commit_callbacks(execute=True):  # no broker: the task runs in-process after commit
        response = client.post(JOBS, {"kind": "remittance", "period": "2026-12"}, format="json")
    assert response.status_code == 202, response.json()
    body = client.get(f"{JOBS}{response.json()['id']}/").json()
    assert body["status"] == "done" and body["result"]["rows"] == 2
    batch = RemittanceBatch.objects.get()
    assert body["result"]["remittance_batch"] == batch.pk
    assert CoverageMonth.objects.filter(remittance=batch).count() == 2
    download = client.get(body["download_url"])
    assert download.status_code == 200 and body["file_name"].endswith(".xlsx")
    # The same month again: nothing left to remit, a failed job with the reason (no second file, no double pay).
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(JOBS, {"kind": "remittance", "period": "2026-12"}, format="json").json()
    again = client.get(f"{JOBS}{again['id']}/").json()
    assert again["status"] == "failed" and "2026-12" in again["error"]
    assert RemittanceBatch.objects.count() == 1


def test_the_background_work_page_prepares_a_file_and_lists_it_for_its_requester_only(
    agency, regency, regency_admin, django_capture_on_commit_callbacks
):
    from django.test import Client

    client = Client()
    client.force_login(regency_admin)
    page = client.get("/dashboard/jobs/")
    assert page.status_code == 200 and "Pekerjaan latar" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):  # no broker: prepared in-process after commit
        posted = client.post("/dashboard/jobs/", {"table": "agencies", "format": "csv"})
    assert posted.status_code == 302 and posted.url == "/dashboard/jobs/"
    job = Job.objects.get(requested_by=regency_admin)
    assert job.status == "done"
    listed = client.get("/dashboard/jobs/").content.decode()
    assert f"/dashboard/jobs/{job.pk}/download/" in listed
    assert client.get(f"/dashboard/jobs/{job.pk}/download/").status_code == 200
    colleague = factories.make_user("admin.kab.3", Role.REGENCY_ADMIN, regency=regency)
    other = Client()
    other.force_login(colleague)
    assert other.get(f"/dashboard/jobs/{job.pk}/download/").status_code == 404
    assert f"/dashboard/jobs/{job.pk}/download/" not in other.get("/dashboard/jobs/").content.decode()
