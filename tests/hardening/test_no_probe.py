"""No NIK can be rebuilt or probed (issue 14, findings 2 and 3).

2. A masked NIK showed region and serial (3502********4703) next to the birth date, sex and village code, which
   are exactly the hidden digits. Now only the serial is shown, and only the worker themself (and a superuser)
   get the birth date and sex; everyone else an age band.
3. A sponsor's nomination answer said whether a NIK belonged to a worker and who paid; an agency admin's import
   preview said a NIK was registered in another regency or sponsored by another ASN. Now a NIK of someone outside
   the caller's scope answers exactly as a NIK nobody has, and the case goes to the regency admin.
"""

import json

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from sponsorship.dashboard.selectors import admin_scope
from sponsorship.dashboard.services import imports
from sponsorship.dashboard.services.imports import template_csv
from sponsorship.matching.models import Nomination
from sponsorship.people.models import Role, Worker
from sponsorship.regions.models import Region
from tests import factories

pytestmark = pytest.mark.django_db


def as_user(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def cast(regency, agency, other_agency):
    sponsor = factories.make_sponsor(agency=agency, capacity=3)
    other_sponsor = factories.make_sponsor(agency=other_agency, capacity=3)
    worker = factories.make_worker(user=True, full_name="Siti Aminah", sex="F")
    factories.sponsor_worker(sponsor, worker)
    return {
        "worker": worker,
        "sponsor": sponsor,
        "other_sponsor": other_sponsor,
        "agency_admin": factories.make_user("admin.opd.probe", Role.AGENCY_ADMIN, agency=agency),
        "other_agency_admin": factories.make_user("admin.opd.lain", Role.AGENCY_ADMIN, agency=other_agency),
        "regency_admin": factories.make_user("admin.kab.probe", Role.REGENCY_ADMIN, regency=regency),
        "superuser": get_user_model().objects.create_superuser("root.probe", password="root-pass-123456"),
    }


# ---------- 2. nothing next to a masked NIK rebuilds it ---------------------------------------------------------


def _hidden_digits_leak(body: dict, worker: Worker) -> list[str]:
    """Which of the NIK's hidden parts (birth date in any form, sex) the answer carries."""
    text = json.dumps(body)
    leaks = []
    birth = worker.birth_date
    for form in (birth.isoformat(), birth.strftime("%d%m%y"), worker.nik[6:12], worker.nik[:12]):
        if form in text:
            leaks.append(form)
    if body.get("sex"):
        leaks.append("sex")
    return leaks


@pytest.mark.parametrize("role", ["sponsor", "agency_admin", "regency_admin"])
def test_a_masked_nik_comes_with_nothing_that_rebuilds_it(cast, role):
    worker = cast["worker"]
    user = cast[role].user if role == "sponsor" else cast[role]
    body = as_user(user).get(f"/api/v1/workers/{worker.pk}/").json()
    assert body["nik"] == "*" * 12 + worker.nik[-4:]
    assert body["birth_date"] is None and body["sex"] is None
    assert body["age_band"] == "40–49"
    assert not _hidden_digits_leak(body, worker)
    listed = next(w for w in as_user(user).get("/api/v1/workers/").json()["results"] if w["id"] == worker.pk)
    assert not _hidden_digits_leak(listed, worker)


@pytest.mark.parametrize("role", ["worker", "superuser"])
def test_the_worker_and_a_superuser_still_see_the_birth_date(cast, role):
    worker = cast["worker"]
    user = worker.user if role == "worker" else cast[role]
    body = as_user(user).get(f"/api/v1/workers/{worker.pk}/").json()
    assert body["birth_date"] == worker.birth_date.isoformat() and body["sex"] == "F"
    assert body["nik"] == "*" * 12 + worker.nik[-4:]


def test_a_nomination_answer_shows_the_serial_only(cast):
    nik = factories.make_nik("35.02.17.1002")
    body = _nominate(cast["sponsor"], nik).json()
    assert body["nik"] == "*" * 12 + nik[-4:]


# ---------- 3. no NIK can be looked up ------------------------------------------------------------------------


def _nominate(sponsor, nik):
    return as_user(sponsor.user).post(
        "/api/v1/sponsor/nominations/",
        {
            "nik": nik,
            "full_name": "Tukiyem",
            "occupation": "petani",
            "village": "35.02.17.1002",
            "relationship": "neighbour",
            "consent_channel": "in_person",
            "consent_text_version": "2026.1",
        },
        format="json",
    )


VOLATILE = {"id", "nik", "created_at", "consent_collected_at", "checked_at"}


def _neutral(body):
    if isinstance(body, dict):
        return {k: _neutral(v) for k, v in body.items() if k not in VOLATILE}
    if isinstance(body, list):
        return [_neutral(v) for v in body]
    return body


@pytest.fixture
def other_regency_worker(regency):
    trenggalek = Region.objects.create(
        code="35.03", name="Trenggalek", level=Region.Level.REGENCY, parent=regency.parent
    )
    district = Region.objects.create(code="35.03.01", name="Panggul", level=Region.Level.DISTRICT, parent=trenggalek)
    Region.objects.create(code="35.03.01.2001", name="Wonocoyo", level=Region.Level.VILLAGE, parent=district)
    return factories.make_worker(village_code="35.03.01.2001", full_name="Warga Trenggalek", current_payer="self")


def test_a_sponsors_nomination_answer_is_the_same_whoever_the_nik_belongs_to(cast, other_regency_worker):
    """Before: checks.existing_worker named the worker and the payer; the blocking said who pays."""
    covered = factories.make_worker(village_code="35.02.17.1002", full_name="Diampu Orang Lain")
    factories.sponsor_worker(cast["other_sponsor"], covered)
    free = factories.make_worker(village_code="35.02.17.1002", full_name="Belum Diampu")
    budget = factories.make_worker(village_code="35.02.17.1002", full_name="APBD", current_payer="regency_budget")
    fresh = factories.make_nik("35.02.17.1002")
    answers = {}
    for name, nik in {
        "nobody": fresh,
        "covered_by_other_sponsor": covered.nik,
        "free_worker": free.nik,
        "regency_budget": budget.nik,
        "other_regency": other_regency_worker.nik,
    }.items():
        response = _nominate(cast["sponsor"], nik)
        assert response.status_code == 201, response.content
        answers[name] = _neutral(response.json())
    assert all(a == answers["nobody"] for a in answers.values()), answers
    assert "existing_worker" not in json.dumps(answers)
    # The sponsor's list says no more than the answers did.
    listed = as_user(cast["sponsor"].user).get("/api/v1/sponsor/nominations/").json()
    assert "existing_worker" not in json.dumps(listed) and "covered_by" not in json.dumps(listed)
    # The regency admin, who may see every worker of the regency, gets the facts.
    admin_view = as_user(cast["regency_admin"]).get("/api/v1/admin/nominations/").json()["results"]
    assert {n["checks"]["existing_worker"] is not None for n in admin_view} == {True, False}


def test_an_agency_admin_is_routed_to_the_regency_admin_not_told(cast):
    covered = factories.make_worker(village_code="35.02.17.1002", full_name="Diampu OPD Lain")
    factories.sponsor_worker(cast["other_sponsor"], covered)
    nomination_id = _nominate(cast["sponsor"], covered.nik).json()["id"]
    agency_admin = as_user(cast["agency_admin"])
    seen = next(n for n in agency_admin.get("/api/v1/admin/nominations/").json()["results"] if n["id"] == nomination_id)
    assert "existing_worker" not in seen["checks"] and seen["checks"]["blocking"] == []
    verify = agency_admin.post(f"/api/v1/admin/nominations/{nomination_id}/verify/")
    assert verify.status_code == 409 and verify.json()["code"] == "regency_check", verify.content
    assert "sponsor" not in verify.json()["message"].lower()
    assert Nomination.objects.get(pk=nomination_id).status == Nomination.Status.SUBMITTED
    # The regency admin decides with the facts; the sponsor learns only that it was not accepted.
    decided = as_user(cast["regency_admin"]).post(f"/api/v1/admin/nominations/{nomination_id}/verify/")
    assert decided.status_code == 409 and decided.json()["code"] == "nomination_blocked"
    mine = as_user(cast["sponsor"].user).get("/api/v1/sponsor/nominations/").json()
    reason = next(n for n in mine if n["id"] == nomination_id)["reject_reason"]
    assert "admin kabupaten" in reason.lower() and "ASN lain" not in reason


def _roster(rows: list[str]) -> bytes:
    header = template_csv("workers")
    header = header if isinstance(header, bytes) else header.encode()
    return header + ("\r\n".join(rows) + "\r\n").encode()


def _row(n, nik, nip, name):
    return f"{n},{nik},{name},,petani,,,35.02.17.1003,081355556666,3,,in_person,2026-01-05,2026.1,{nip}"


def test_an_agency_admins_import_preview_is_the_same_whoever_the_nik_belongs_to(cast, other_regency_worker):
    """Before: 'registered in another regency' / 'already sponsored by another ASN' / action update."""
    covered = factories.make_worker(village_code="35.02.17.1003", full_name="Diampu OPD Lain")
    factories.sponsor_worker(cast["other_sponsor"], covered)
    free = factories.make_worker(village_code="35.02.17.1003", full_name="Belum Diampu", phone="0812-1111-0000")
    admin = cast["agency_admin"]
    nip = cast["sponsor"].nip
    previews = {}
    for name, nik in {
        "nobody": factories.make_nik("35.02.17.1003"),
        "other_agency": covered.nik,
        "free_in_regency": free.nik,
        "other_regency": other_regency_worker.nik,
    }.items():
        batch = imports.import_preview(
            actor=admin,
            scope=admin_scope(admin),
            kind="workers",
            file_name="p.csv",
            content=_roster([_row(1, nik, nip, "Wagiyo")]),
        )
        rows = json.loads(batch.payload or "[]")
        previews[name] = (batch.problems, batch.valid_rows, batch.error_rows, [r["action"] for r in rows])
    assert all(p == previews["nobody"] for p in previews.values()), previews
    assert previews["nobody"] == ([], 1, 0, ["create"])


def test_an_agency_admins_import_of_an_out_of_scope_nik_goes_to_the_regency_admin(cast):
    free = factories.make_worker(village_code="35.02.17.1003", full_name="Belum Diampu", phone="0812-1111-0000")
    admin = cast["agency_admin"]
    batch = imports.import_preview(
        actor=admin,
        scope=admin_scope(admin),
        kind="workers",
        file_name="p.csv",
        content=_roster([_row(1, free.nik, cast["sponsor"].nip, "Nama Baru")]),
    )
    result = imports.import_confirm(batch=batch, actor=admin)
    assert result["created"] == 1
    free.refresh_from_db()
    # Not written by the agency admin (before: the name and phone were overwritten, the phone redirecting the
    # worker's sign-in code) ...
    assert free.full_name == "Belum Diampu" and free.phone == "+6281211110000"
    assert not free.sponsorships.exists()
    # ... but waiting for the regency admin as a nomination by the row's ASN.
    nomination = Nomination.objects.get(nik_hash=free.nik_hash)
    assert nomination.sponsor == cast["sponsor"] and nomination.status == Nomination.Status.SUBMITTED
    assert nomination.checks["existing_worker"]["worker_id"] == free.pk


def test_an_admins_own_rejection_reason_still_reaches_the_sponsor(cast):
    covered = factories.make_worker(village_code="35.02.17.1002", full_name="Diampu OPD Lain")
    factories.sponsor_worker(cast["other_sponsor"], covered)
    nomination_id = _nominate(cast["sponsor"], covered.nik).json()["id"]
    rejected = as_user(cast["regency_admin"]).post(
        f"/api/v1/admin/nominations/{nomination_id}/reject/", {"reason": "Data ganda"}, format="json"
    )
    assert rejected.status_code == 200
    mine = as_user(cast["sponsor"].user).get("/api/v1/sponsor/nominations/").json()
    assert next(n for n in mine if n["id"] == nomination_id)["reject_reason"] == "Data ganda"
