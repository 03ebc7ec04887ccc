"""The personal-data access log (who read a clear NIK/phone, and why), its officer's view, and retention."""

import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from sponsorship.people.models import PersonalDataAccess, Role, Sponsorship, Worker
from sponsorship.people.services.access_log import personal_data_retention_run, worker_access_record
from sponsorship.people.services.sponsorships import sponsorship_end
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _ponorogo(regency):
    return regency


def _dpo(regency, username="dpo.kab"):
    user = factories.make_user(username, Role.REGENCY_ADMIN, regency=regency)
    user.user_permissions.add(Permission.objects.get(codename="view_personaldataaccess"))
    return user


def test_an_on_behalf_export_is_logged_with_who_and_why_and_the_officer_sees_it(regency, api, agency):
    admin = factories.make_user("admin.kab", Role.REGENCY_ADMIN, regency=regency)
    worker = factories.make_worker(phone="081234567890")
    r = api(admin).get(f"/api/v1/admin/workers/{worker.pk}/data-export/?purpose=complaint&note=aduan%20no.%2012")
    assert r.status_code == 200 and r.json()["worker"]["nik"] == worker.nik
    row = PersonalDataAccess.objects.get()
    assert (row.actor_id, row.actor_role, row.subject_id, row.purpose, row.note, row.channel) == (
        admin.pk,
        "regency_admin",
        str(worker.pk),
        "complaint",
        "aduan no. 12",
        "api",
    )
    assert row.fields == ["nik", "phone"] and row.regency_id == regency.pk
    # "other" needs a note; an unknown purpose is refused, and nothing is read or logged.
    bad = api(admin).get(f"/api/v1/admin/workers/{worker.pk}/data-export/?purpose=other")
    assert bad.status_code == 400 and bad.json()["code"] == "purpose_required"
    assert api(admin).get(f"/api/v1/admin/workers/{worker.pk}/data-export/?purpose=curious").status_code == 400
    assert PersonalDataAccess.objects.count() == 1

    # The regency's data-protection officer reads the log; a plain regency admin or an agency admin does not.
    listing = api(_dpo(regency)).get("/api/v1/admin/personal-data-access/")
    assert listing.status_code == 200
    [item] = listing.json()["results"]
    assert item["actor"] == "admin.kab" and item["purpose"] == "complaint" and item["fields"] == ["nik", "phone"]
    assert api(admin).get("/api/v1/admin/personal-data-access/").status_code == 403
    opd = factories.make_user("admin.opd", Role.AGENCY_ADMIN, agency=agency)
    assert api(opd).get("/api/v1/admin/personal-data-access/").status_code == 403


def test_the_officers_dashboard_page(regency, client):
    worker = factories.make_worker()
    worker_access_record(actor=None, worker=worker, fields=["nik"], purpose="complaint", channel="api", note="aduan 7")
    client.force_login(_dpo(regency))
    page = client.get("/dashboard/personal-data-access/")
    assert page.status_code == 200 and "aduan 7" in page.content.decode()
    assert "/dashboard/personal-data-access/" in client.get("/dashboard/").content.decode()  # in the menu
    client.force_login(factories.make_user("admin.biasa", Role.REGENCY_ADMIN, regency=regency))
    assert client.get("/dashboard/personal-data-access/").status_code == 403


def test_the_officer_sees_only_their_regency(regency, api):
    from sponsorship.regions.models import Region

    worker = factories.make_worker()
    worker_access_record(actor=None, worker=worker, fields=["nik"], purpose="support", channel="api")
    other = Region.objects.create(code="35.03", name="Trenggalek", level=Region.Level.REGENCY)
    assert api(_dpo(other, "dpo.lain")).get("/api/v1/admin/personal-data-access/").json()["results"] == []
    assert len(api(_dpo(regency)).get("/api/v1/admin/personal-data-access/").json()["results"]) == 1


def test_a_worker_reading_their_own_data_is_logged_too():
    from sponsorship.people.services.privacy import worker_data_export

    worker = factories.make_worker(user=True)
    worker_data_export(worker=worker, actor=worker.user)
    row = PersonalDataAccess.objects.get()
    assert row.actor_id == worker.user_id and row.purpose == "data_subject_request" and row.actor_role == "worker"


def test_the_log_is_append_only_in_the_database():
    worker = factories.make_worker()
    worker_access_record(actor=None, worker=worker, fields=["nik"], purpose="support", channel="api")
    row = PersonalDataAccess.objects.get()
    with pytest.raises(ValueError):
        row.save()
    with pytest.raises(ValueError):
        row.delete()
    for statement in (
        "UPDATE sponsorship_personaldataaccess SET purpose = 'other'",
        "DELETE FROM sponsorship_personaldataaccess",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert PersonalDataAccess.objects.count() == 1


def test_retention_deletes_old_access_rows_and_anonymises_long_ended_workers(settings):
    settings.PDP_ACCESS_LOG_RETENTION_DAYS = 365
    settings.PDP_ENDED_WORKER_RETENTION_DAYS = 30
    sponsor = factories.make_sponsor(capacity=3)
    ended_long_ago, ended_lately, still_sponsored = (factories.make_worker() for _ in range(3))
    for worker, days in ((ended_long_ago, 40), (ended_lately, 5)):
        sponsorship = factories.sponsor_worker(sponsor, worker)
        sponsorship_end(sponsorship=sponsorship, reason=Sponsorship.EndReason.WORKER_REQUEST)
        Sponsorship.objects.filter(pk=sponsorship.pk).update(ended_at=timezone.now() - dt.timedelta(days=days))
    factories.sponsor_worker(sponsor, still_sponsored)
    for worker in (ended_long_ago, ended_lately):
        worker_access_record(actor=None, worker=worker, fields=["nik"], purpose="support", channel="api")
    old = PersonalDataAccess.objects.order_by("id").first()
    with connection.cursor() as cursor:  # backdate one row (the trigger allows it only to the purge)
        cursor.execute("ALTER TABLE sponsorship_personaldataaccess DISABLE TRIGGER USER")
        cursor.execute(
            "UPDATE sponsorship_personaldataaccess SET at = now() - interval '400 days' WHERE id = %s", [old.pk]
        )
        cursor.execute("ALTER TABLE sponsorship_personaldataaccess ENABLE TRIGGER USER")

    assert personal_data_retention_run() == {"access_rows_deleted": 1, "workers_anonymised": 1}
    assert PersonalDataAccess.objects.count() == 1
    assert Worker.objects.get(pk=ended_long_ago.pk).anonymized_at is not None
    assert Worker.objects.get(pk=ended_lately.pk).anonymized_at is None
    assert Worker.objects.get(pk=still_sponsored.pk).anonymized_at is None
    # Idempotent: nothing left to do.
    assert personal_data_retention_run() == {"access_rows_deleted": 0, "workers_anonymised": 0}


def test_the_retention_job_is_on_the_schedule():
    from backend.celery import beat_schedule

    entry = beat_schedule()["personal-data-retention"]
    assert entry["task"] == "sponsorship.people.tasks.enforce_personal_data_retention"
