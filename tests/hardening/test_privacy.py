"""Personal data (UU PDP): unreadable at rest, masked in every response, audited, and the data-subject rights."""

import json
import os
import re
import shutil
import subprocess

import pytest
from django.db import connection
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from sponsorship.core.models import AuditLog
from sponsorship.people.models import Sponsorship, Worker
from sponsorship.people.services.privacy import TOMBSTONE_PREFIX, worker_anonymise
from tests import factories
from tests.hardening.endpoints import api_endpoints
from tests.hardening.world import ROLES, build_world

NIK_RE = re.compile(r"(?<!\d)\d{16}(?!\d)")
PHONE_FRAGMENTS = ("81234567890", "8123456789", "81298765432")  # the factories' phones, in any format


def client_as(user):
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


def _clear_niks():
    return [w.nik for w in Worker.objects.all() if w.nik]


# ---------- at rest -----------------------------------------------------------------------------------------


def _text_columns():
    with connection.cursor() as cursor:
        cursor.execute("""SELECT table_name, column_name FROM information_schema.columns
                          WHERE table_schema = 'public' AND data_type IN ('text', 'character varying', 'jsonb')""")
        return cursor.fetchall()


@pytest.mark.django_db
def test_nik_and_phone_unreadable_in_every_text_column():
    build_world()
    niks = _clear_niks()
    assert len(niks) >= 3
    hits = []
    with connection.cursor() as cursor:
        for table, column in _text_columns():
            cursor.execute(f'SELECT "{column}"::text FROM "{table}" WHERE "{column}" IS NOT NULL')
            for (value,) in cursor.fetchall():
                if any(n in value for n in niks) or any(p in value for p in PHONE_FRAGMENTS):
                    hits.append(f"{table}.{column}: {value[:80]}")
    assert not hits, "personal data in clear text:\n" + "\n".join(hits)


@pytest.mark.django_db(transaction=True)
def test_nik_and_phone_unreadable_in_pg_dump():
    """The real thing a thief gets: a pg_dump of the whole database, data committed."""
    from tests.factories import restore_reference_rows

    restore_reference_rows()  # a previous transactional test's flush removed the data-migration rows
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        pytest.fail("pg_dump not installed") if os.environ.get("CI") == "true" else pytest.skip("pg_dump missing")
    build_world()
    niks = _clear_niks()
    s = connection.settings_dict
    env = {**os.environ, "PGPASSWORD": s.get("PASSWORD") or ""}
    cmd = [
        pg_dump,
        "--data-only",
        "-h",
        s.get("HOST") or "127.0.0.1",
        "-p",
        str(s.get("PORT") or 5432),
        "-U",
        s.get("USER") or "postgres",
        s["NAME"],
    ]
    dump = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=True).stdout
    assert "Slamet Riyadi" in dump  # the dump does hold the (unencrypted) names: the scan is real
    leaked = [n for n in niks if n in dump] + [p for p in PHONE_FRAGMENTS if p in dump]
    assert not leaked, f"clear NIK/phone in pg_dump: {leaked}"


# ---------- in responses ------------------------------------------------------------------------------------

LIST_ROUTES = [(n, r) for n, m, r in api_endpoints() if m == "GET" and "<" not in r]
# Routes whose purpose is to hand a person their own data in clear (audited): excluded from the masking scan.
CLEAR_BY_DESIGN = {"worker-my-data"}


@pytest.mark.django_db
@pytest.mark.parametrize("role", [r for r in ROLES if r != "anonymous"])
def test_no_clear_nik_or_phone_in_any_list_response(role):
    world = build_world()
    niks = set(_clear_niks())
    client = client_as(world.user(role))
    leaks = []
    for name, route in LIST_ROUTES:
        if name in CLEAR_BY_DESIGN:
            continue
        response = client.get("/" + route)
        if response.status_code != 200 or "json" not in response.get("Content-Type", ""):
            continue
        text = json.dumps(response.json())
        found = [m for m in NIK_RE.findall(text) if m in niks]
        found += [p for p in PHONE_FRAGMENTS if p in text]
        if found:
            leaks.append(f"/{route}: {found}")
    assert not leaks, f"clear NIK/phone visible to {role}: {leaks}"


@pytest.mark.django_db
def test_other_side_never_sees_the_first_sides_worker():
    """Scoping through every list: another sponsor, another worker, another agency's admin never see Slamet."""
    world = build_world()
    for role in ("other_sponsor", "other_worker", "other_agency_admin"):
        client = client_as(world.user(role))
        for _name, route in LIST_ROUTES:
            response = client.get("/" + route)
            if response.status_code == 200 and "json" in response.get("Content-Type", ""):
                assert "Slamet" not in json.dumps(response.json()), f"{role} sees Slamet in /{route}"


# ---------- audit -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_worker_and_pledge_changes_are_audited(api, regency_admin, agency):
    sponsor = factories.make_sponsor(agency=agency, capacity=2)
    worker = factories.make_worker()
    assert AuditLog.objects.filter(action="worker.create", object_id=str(worker.pk)).exists()
    response = client_as(regency_admin).patch(f"/api/v1/workers/{worker.pk}/", {"welfare_decile": 2}, format="json")
    assert response.status_code == 200
    row = AuditLog.objects.get(action="worker.update", object_id=str(worker.pk))
    assert row.actor == regency_admin and row.before["welfare_decile"] == 3 and row.after["welfare_decile"] == 2
    factories.sponsor_worker(sponsor, worker)
    assert AuditLog.objects.filter(action="sponsorship.start", after__worker=worker.pk).exists()
    # No audit row carries a clear NIK or phone.
    nik = worker.nik
    assert not [a for a in AuditLog.objects.all() if nik in json.dumps([a.before, a.after, a.extra])]


@pytest.mark.django_db
def test_every_personal_data_export_is_audited():
    world = build_world()
    admin = world.user("regency_admin")
    client = client_as(admin)
    before = AuditLog.objects.count()
    for path in (
        "/api/v1/admin/dashboard/arrears/?download=csv",
        "/api/v1/admin/dashboard/agencies/?download=xlsx",
        f"/api/v1/admin/workers/{world.objects['worker'].pk}/data-export/",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
    exports = AuditLog.objects.filter(actor=admin).order_by("id")[:]
    assert AuditLog.objects.count() - before >= 3
    assert {a.action for a in exports} >= {"worker.data_export"}
    assert any("export" in a.action for a in exports if a.action != "worker.data_export")


# ---------- data-subject requests ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_worker_exports_own_data_in_clear_and_it_is_audited():
    world = build_world()
    worker = world.objects["worker"]
    response = client_as(world.user("worker")).get("/api/v1/worker/my-data/")
    assert response.status_code == 200
    body = response.json()
    assert body["worker"]["nik"] == worker.nik and body["worker"]["full_name"] == "Slamet Riyadi"
    assert body["consents"] and body["sponsorships"][0]["status"] == "active"
    assert body["sponsorships"][0]["sponsor_first_name"] is None  # the sponsor did not agree to be named
    assert AuditLog.objects.filter(action="worker.data_export", object_id=str(worker.pk)).exists()


@pytest.mark.django_db
def test_erasure_anonymises_the_person_and_keeps_the_money():
    from sponsorship.billing.models import CoverageMonth, InvoiceLine

    world = build_world()
    worker = world.objects["worker"]
    nik, user = worker.nik, world.user("worker")
    lines_before = InvoiceLine.objects.filter(worker=worker).count()
    coverage_before = CoverageMonth.objects.filter(worker=worker).count()
    assert lines_before and coverage_before

    response = client_as(user).post("/api/v1/worker/my-data/erase/", {"confirm": True}, format="json")
    assert response.status_code == 200, response.content
    worker.refresh_from_db()
    assert worker.full_name == "Dihapus" and worker.nik == "" and worker.phone == "" and worker.phone_hash == ""
    assert worker.nik_hash.startswith(TOMBSTONE_PREFIX) and worker.anonymized_at
    assert worker.birth_date.month == 1 and worker.birth_date.day == 1
    # Financial records kept; the sponsorship ended (nobody pays for an erased person), counters consistent.
    assert InvoiceLine.objects.filter(worker=worker).count() == lines_before
    assert CoverageMonth.objects.filter(worker=worker).count() == coverage_before
    sponsorship = Sponsorship.objects.get(worker=worker)
    assert sponsorship.status == "ended" and sponsorship.end_reason == "worker_request"
    world.objects["sponsor"].refresh_from_db()
    assert world.objects["sponsor"].active_sponsorships == 0
    # The login is dead: the same token no longer works.
    assert client_as(user).get("/api/v1/me/").status_code == 401
    # Audited, with the reason and the SLA; old audit snapshots no longer carry the name.
    row = AuditLog.objects.get(action="worker.anonymise", object_id=str(worker.pk))
    assert row.extra["sla_hours"] == 72
    assert not AuditLog.objects.filter(
        object_type="people.worker", object_id=str(worker.pk), after__full_name="Slamet Riyadi"
    ).exists()
    # Nothing left anywhere in the database that reads as this person's NIK hash or name.
    from sponsorship.people.crypto import keyed_hash

    assert not Worker.objects.filter(nik_hash=keyed_hash(nik)).exists()
    # Tombstone decision: the NIK can be registered again (with new consent) — see docs/security.md.
    again = factories.make_worker(nik=nik, full_name="Slamet Riyadi")
    assert again.pk != worker.pk
    # Idempotent.
    assert worker_anonymise(worker=worker, actor=None, reason="again").anonymized_at == worker.anonymized_at


@pytest.mark.django_db
def test_erasure_needs_confirmation_and_the_right_admin():
    world = build_world()
    worker = world.objects["worker"]
    assert (
        client_as(world.user("worker"))
        .post("/api/v1/worker/my-data/erase/", {"confirm": False}, format="json")
        .status_code
        == 400
    )
    url = f"/api/v1/admin/workers/{worker.pk}/anonymise/"
    assert client_as(world.user("agency_admin")).post(url, {"confirm": True}, format="json").status_code == 403
    assert (
        client_as(world.user("regency_admin"))
        .post(url, {"confirm": True, "reason": "surat permohonan"}, format="json")
        .status_code
        == 200
    )
    worker.refresh_from_db()
    assert worker.anonymized_at is not None
