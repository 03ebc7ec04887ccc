"""A worker's consent to be reached by WhatsApp/SMS, recorded at registration, by the admin API and by a roster
import (issue 18): it creates the worker's login user and the ContactChannel rows; withdrawing keeps the history."""

import pytest

from backend.api.errors import ApplicationError
from notifications.models import ContactChannel
from sponsorship.core.models import AuditLog
from sponsorship.dashboard.selectors import admin_scope
from sponsorship.dashboard.services import imports
from sponsorship.people.models import Worker
from sponsorship.people.services.worker_contact import worker_contact_channels, worker_contact_consent_set
from tests import factories
from tests.dashboard.conftest import csv_bytes
from tests.dashboard.test_imports import WORKER_HEADER

pytestmark = pytest.mark.django_db


def rows_of(worker):
    return {r.channel: r for r in ContactChannel.objects.filter(user_id=worker.user_id)}


def test_registration_with_consent_creates_the_user_and_the_rows(regency):
    worker = factories.make_worker(contact_channels=["sms", "whatsapp"])
    assert worker.user_id is not None and worker.user.profile.role == "worker"
    assert worker_contact_channels(worker) == ["whatsapp", "sms"]
    assert {r.consent_source for r in rows_of(worker).values()} == {"in_person"}
    assert AuditLog.objects.filter(action="worker.contact_consent", object_id=str(worker.pk)).count() == 1
    # Without a consent nothing changes: no user is made for a worker who only was registered.
    plain = factories.make_worker()
    assert plain.user_id is None and worker_contact_channels(plain) == []


def test_a_phone_channel_needs_a_phone_and_only_whatsapp_or_sms(regency):
    with pytest.raises(ApplicationError) as no_phone:
        factories.make_worker(phone="", contact_channels=["whatsapp"])
    assert "phone" in no_phone.value.extra["fields"]
    assert not Worker.objects.exists()
    worker = factories.make_worker()
    with pytest.raises(ApplicationError):
        worker_contact_consent_set(worker=worker, channels=["push"], source="in_person")
    with pytest.raises(ApplicationError):
        worker_contact_consent_set(worker=worker, channels=["sms"], source="")


def test_admin_records_and_withdraws_it_on_an_existing_worker(regency, regency_admin, api):
    worker = factories.make_worker()
    url = f"/api/v1/workers/{worker.pk}/"
    missing = api(regency_admin).patch(url, {"contact_channels": ["whatsapp"]}, format="json")
    assert missing.status_code == 400 and "contact_source" in missing.json()["extra"]["fields"]
    ok = api(regency_admin).patch(url, {"contact_channels": ["whatsapp"], "contact_source": "phone"}, format="json")
    assert ok.status_code == 200, ok.content
    worker.refresh_from_db()
    assert worker_contact_channels(worker) == ["whatsapp"] and rows_of(worker)["whatsapp"].consent_source == "phone"
    user_id = worker.user_id

    response = api(regency_admin).patch(url, {"contact_channels": [], "contact_source": "paper"}, format="json")
    assert response.status_code == 200
    worker.refresh_from_db()
    row = rows_of(worker)["whatsapp"]
    assert worker.user_id == user_id and worker_contact_channels(worker) == []
    assert row.withdrawn_at is not None and row.withdrawn_source == "paper" and row.consent_source == "phone"

    blank = api(regency_admin).patch(
        url, {"phone": "", "contact_channels": ["sms"], "contact_source": "phone"}, format="json"
    )
    assert blank.status_code == 400 and "phone" in blank.json()["extra"]["fields"]
    worker.refresh_from_db()
    assert worker.phone  # the whole change was rolled back


def test_an_agency_admin_cannot_record_it(regency, agency_admin, api):
    worker = factories.make_worker()
    response = api(agency_admin).patch(
        f"/api/v1/workers/{worker.pk}/", {"contact_channels": ["sms"], "contact_source": "phone"}, format="json"
    )
    assert response.status_code in (403, 404)
    assert worker_contact_channels(Worker.objects.get(pk=worker.pk)) == []


def _row(no, nik, name, phone, contact, channel="Tatap muka"):
    values = dict.fromkeys(WORKER_HEADER, "")
    values.update(
        {
            "No": no,
            "NIK": nik,
            "Nama Lengkap": name,
            "Pekerjaan": "Petani",
            "Kode Wilayah Desa": "35.02.17.1001",
            "No. HP": phone,
            "Cara Persetujuan": channel,
            "Tanggal Persetujuan": "03/02/2026" if channel else "",
            "Versi Teks Persetujuan": "2026.1" if channel else "",
            "Boleh Dihubungi Lewat": contact,
        }
    )
    return [values[h] for h in [*WORKER_HEADER, "Boleh Dihubungi Lewat"]]


def test_roster_import_column(regency, regency_admin):
    existing = factories.make_worker(full_name="Lama")
    rows = [
        [*WORKER_HEADER, "Boleh Dihubungi Lewat"],
        _row(1, factories.make_nik(sex="F"), "Sulastri", "0813-1111-2222", "WA+SMS", "Formulir kertas"),
        _row(2, factories.make_nik(), "Karyono", "0813-1111-3333", "wa"),
        _row(3, factories.make_nik(), "Tanpa HP", "", "SMS"),
        _row(4, factories.make_nik(), "Salah Isi", "0813-1111-4444", "Telegram"),
        _row(5, existing.nik, "Lama", "", "WA", channel=""),  # an existing worker: the phone on file counts
        _row(6, factories.make_nik(), "Tanpa Kolom", "0813-1111-5555", ""),
    ]
    batch = imports.import_preview(
        actor=regency_admin,
        scope=admin_scope(regency_admin),
        kind="workers",
        file_name="pekerja.csv",
        content=csv_bytes(rows),
    )
    problems = {(p["row"], p["column"]) for p in batch.problems}
    assert problems == {(4, "No. HP"), (5, "Boleh Dihubungi Lewat")}
    result = imports.import_confirm(batch=batch, actor=regency_admin, mode="valid_only")
    assert (result["created"], result["updated"]) == (3, 1)
    sulastri = Worker.objects.get(full_name="Sulastri")
    assert worker_contact_channels(sulastri) == ["whatsapp", "sms"]
    assert rows_of(sulastri)["sms"].consent_source == "paper"
    assert worker_contact_channels(Worker.objects.get(full_name="Karyono")) == ["whatsapp"]
    existing.refresh_from_db()
    assert (
        worker_contact_channels(existing) == ["whatsapp"] and rows_of(existing)["whatsapp"].consent_source == "import"
    )
    assert Worker.objects.get(full_name="Tanpa Kolom").user_id is None


def test_old_files_without_the_column_stay_valid(regency, regency_admin):
    rows = [WORKER_HEADER, _row(1, factories.make_nik(), "Lama Format", "0813-1111-6666", "")[:-1]]
    batch = imports.import_preview(
        actor=regency_admin,
        scope=admin_scope(regency_admin),
        kind="workers",
        file_name="p.csv",
        content=csv_bytes(rows),
    )
    assert batch.problems == [] and batch.valid_rows == 1
