"""Role scoping: a sponsor sees only their own workers; an agency admin only their agency."""

import pytest

from sponsorship.people.models import Role, Sponsor, Worker
from sponsorship.people.scoping import scope
from tests.factories import make_agency, make_sponsor, make_user, make_worker, sponsor_worker

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(regency, agency, other_agency):
    mine = make_sponsor(agency=agency)
    theirs = make_sponsor(agency=other_agency)
    w_mine = make_worker(full_name="Pekerja Saya")
    w_theirs = make_worker(full_name="Pekerja Lain")
    w_free = make_worker(full_name="Pekerja Bebas")
    sponsor_worker(mine, w_mine)
    sponsor_worker(theirs, w_theirs)
    return mine, theirs, w_mine, w_theirs, w_free


def test_sponsor_sees_only_own_workers_via_api(api, world):
    mine, theirs, w_mine, w_theirs, _ = world
    client = api(mine.user)
    listed = client.get("/api/v1/workers/").json()["results"]
    assert [w["id"] for w in listed] == [w_mine.pk]
    assert client.get(f"/api/v1/workers/{w_theirs.pk}/").status_code == 404
    assert client.get(f"/api/v1/workers/{w_mine.pk}/").status_code == 200
    assert [s["id"] for s in client.get("/api/v1/sponsors/").json()["results"]] == [mine.pk]
    assert client.get(f"/api/v1/sponsors/{theirs.pk}/").status_code == 404


def test_agency_admin_sees_only_their_agency(api, world, agency_admin):
    mine, theirs, w_mine, w_theirs, w_free = world
    client = api(agency_admin)
    assert {s["id"] for s in client.get("/api/v1/sponsors/").json()["results"]} == {mine.pk}
    assert {w["id"] for w in client.get("/api/v1/workers/").json()["results"]} == {w_mine.pk}
    assert client.get(f"/api/v1/workers/{w_theirs.pk}/").status_code == 404
    assert [a["id"] for a in client.get("/api/v1/agencies/").json()["results"]] == [agency_admin.profile.agency_id]


def test_regency_admin_sees_the_regency_only(api, world, regency_admin, regency):
    client = api(regency_admin)
    assert len(client.get("/api/v1/workers/").json()["results"]) == 3
    assert len(client.get("/api/v1/sponsors/").json()["results"]) == 2
    from sponsorship.regions.services import import_regions
    from tests.factories import REGION_FILE

    import_regions(REGION_FILE, only="35.03")
    trenggalek = make_agency(regency=type(regency).objects.get(code="35.03"), name="Dinas Trenggalek")
    make_sponsor(agency=trenggalek, village_code="35.03.01.2001")
    make_worker(village_code="35.03.01.2001")
    assert len(client.get("/api/v1/workers/").json()["results"]) == 3
    assert len(client.get("/api/v1/sponsors/").json()["results"]) == 2


def test_worker_sees_only_themself(api, world):
    me = make_worker(user=True)
    assert [w["id"] for w in api(me.user).get("/api/v1/workers/").json()["results"]] == [me.pk]


def test_user_without_role_sees_nothing(world):
    nobody = make_user()
    assert scope(Worker.objects.all(), nobody).count() == 0
    assert scope(Sponsor.objects.all(), nobody).count() == 0


def test_sponsor_cannot_register_workers(api, world):
    mine = world[0]
    response = api(mine.user).post("/api/v1/workers/", {}, format="json")
    assert response.status_code == 403


def test_responses_mask_nik_and_phone(api, world, regency_admin):
    w = api(regency_admin).get(f"/api/v1/workers/{world[2].pk}/").json()
    assert "*" in w["nik"] and len(w["nik"]) == 16 and w["nik"] != world[2].nik
    assert "*" in w["phone"]


def test_role_enum_is_complete():
    assert {r.value for r in Role} == {
        "sponsor",
        "worker",
        "agency_admin",
        "regency_admin",
        "province_admin",
        "national_admin",
    }
