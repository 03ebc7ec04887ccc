"""sponsor_update / worker_update: validated like the create services, audited with before and after."""

import pytest

from backend.api.errors import ApplicationError
from sponsorship.core.models import AuditLog
from sponsorship.people.models import Occupation
from sponsorship.people.services import people
from tests import factories


@pytest.mark.django_db
def test_sponsor_update_saves_and_audits_old_and_new_values(regency_admin, agency):
    sponsor = factories.make_sponsor(agency=agency, capacity=2)
    updated = people.sponsor_update(
        sponsor=sponsor,
        actor=regency_admin,
        full_name=" Budi Santoso, S.E. ",
        capacity=3,
        home_village="35.02.17.1002",
        phone="0813 1111 2222",
        source="import",
    )
    updated.refresh_from_db()
    assert updated.full_name == "Budi Santoso, S.E." and updated.capacity == 3
    assert updated.home_village.code == "35.02.17.1002" and updated.phone == "+6281311112222"
    row = AuditLog.objects.get(action="sponsor.update", object_id=str(sponsor.pk))
    assert row.actor == regency_admin and row.extra["source"] == "import"
    assert row.before["full_name"] == "Budi Santoso" and row.after["full_name"] == "Budi Santoso, S.E."
    assert row.before["capacity"] == 2 and row.after["capacity"] == 3
    assert row.before["home_village"] != row.after["home_village"] == updated.home_village_id
    assert set(row.extra["fields"]) == {"full_name", "capacity", "home_village", "phone"}
    assert "+6281311112222" not in str([row.before, row.after, row.extra])  # the phone is named, never shown


@pytest.mark.django_db
def test_sponsor_update_without_a_change_writes_nothing(agency):
    sponsor = factories.make_sponsor(agency=agency)
    people.sponsor_update(sponsor=sponsor, full_name=sponsor.full_name, capacity=sponsor.capacity)
    assert not AuditLog.objects.filter(action="sponsor.update").exists()


@pytest.mark.django_db
def test_sponsor_update_validates_in_indonesian(agency):
    sponsor = factories.make_sponsor(agency=agency, capacity=3)
    for _ in range(3):
        factories.sponsor_worker(sponsor, factories.make_worker())
    cases = [
        ({"capacity": 5}, "capacity", "Kapasitas pengampu harus 2 atau 3 pekerja."),
        ({"capacity": 2}, "capacity", "ASN ini sudah mengampu 3 pekerja; kapasitas tidak boleh lebih kecil."),
        ({"full_name": "  "}, "full_name", "Nama lengkap wajib diisi."),
        ({"home_village": "35.02.17"}, "village", "Desa/kelurahan tidak dikenal."),  # a district, not a village
        ({"phone": "0812-abc"}, "phone", "Nomor HP hanya boleh berisi angka."),
    ]
    for changes, field, message in cases:
        with pytest.raises(ApplicationError) as exc:
            people.sponsor_update(sponsor=sponsor, **changes)
        assert str(exc.value.message) == message, changes
        assert field in exc.value.extra["fields"], changes
    assert not AuditLog.objects.filter(action="sponsor.update").exists()
    sponsor.refresh_from_db()
    assert sponsor.capacity == 3 and sponsor.full_name == "Budi Santoso"


@pytest.mark.django_db
def test_worker_update_saves_and_audits_old_and_new_values(regency_admin):
    worker = factories.make_worker(decile=3)
    nelayan = Occupation.objects.get(code="nelayan")
    people.worker_update(
        worker=worker,
        actor=regency_admin,
        welfare_decile=1,
        occupation=nelayan,
        village="35.02.17.1002",
        kpj="",
        source="admin",
    )
    worker.refresh_from_db()
    assert worker.welfare_decile == 1 and worker.occupation == nelayan and worker.village.code == "35.02.17.1002"
    row = AuditLog.objects.get(action="worker.update", object_id=str(worker.pk))
    assert row.actor == regency_admin and row.extra["source"] == "admin"
    assert row.before["welfare_decile"] == 3 and row.after["welfare_decile"] == 1
    assert row.before["occupation"] != row.after["occupation"] == nelayan.pk
    assert set(row.extra["fields"]) == {"welfare_decile", "occupation", "village"}  # kpj was already blank


@pytest.mark.django_db
def test_worker_update_validates_in_indonesian(regency):
    worker = factories.make_worker(decile=3)
    cases = [
        ({"welfare_decile": 11}, "welfare_decile", "Desil kesejahteraan harus 1–10."),
        ({"full_name": ""}, "full_name", "Nama lengkap wajib diisi."),
        ({"village": "35.02.17"}, "village", "Desa/kelurahan tidak dikenal."),
        ({"phone": "0812-abc"}, "phone", "Nomor HP hanya boleh berisi angka."),
        ({"current_payer": "nobody"}, "current_payer", "Penanggung iuran tidak dikenal."),
    ]
    for changes, field, message in cases:
        with pytest.raises(ApplicationError) as exc:
            people.worker_update(worker=worker, **changes)
        assert str(exc.value.message) == message, changes
        assert field in exc.value.extra["fields"], changes
    assert not AuditLog.objects.filter(action="worker.update").exists()
