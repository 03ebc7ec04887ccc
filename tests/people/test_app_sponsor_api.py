"""The endpoints the app needed: sign-in with the NIP, the sponsor's own profile (pledge and consents), and a
request to leave the scheme that the agency admin acts on."""

import pytest
from rest_framework.test import APIClient

from sponsorship.core.models import AuditLog
from sponsorship.people.models import Role, Sponsor
from tests import factories

pytestmark = pytest.mark.django_db
PASSWORD = "rahasia-uji-123"


@pytest.fixture
def asn(agency):
    user = factories.make_user("asn.nip", Role.SPONSOR, password=PASSWORD)
    return factories.make_sponsor(agency=agency, user=user, capacity=2)


def token(username, password=PASSWORD):
    return APIClient().post("/api/v1/auth/token/", {"username": username, "password": password}, format="json")


def test_nip_signs_in_like_the_username(asn):
    spaced = f"{asn.nip[:8]} {asn.nip[8:14]} {asn.nip[14]} {asn.nip[15:]}"  # as printed on the ASN card
    for login in (asn.nip, spaced, "asn.nip"):
        response = token(login)
        assert response.status_code == 200, (login, response.content)
    assert token(asn.nip, "wrong-password").status_code == 401


def test_nip_of_a_sponsor_without_an_account_or_unknown_nip_fails(agency):
    orphan = factories.make_sponsor(agency=agency, user=None)
    assert token(orphan.nip).status_code == 401
    assert token("199001012015031999").status_code == 401


def test_sponsor_reads_and_changes_own_pledge_and_consents(asn, api):
    client = api(asn.user)
    got = client.get("/api/v1/sponsor/profile/")
    assert got.status_code == 200
    assert got.json()["capacity"] == 2 and got.json()["contact_consent"] is False
    changed = client.patch(
        "/api/v1/sponsor/profile/",
        {"capacity": 3, "contact_consent": True, "show_name_to_workers": True},
        format="json",
    )
    assert changed.status_code == 200, changed.content
    asn.refresh_from_db()
    assert (asn.capacity, asn.contact_consent, asn.show_name_to_workers) == (3, True, True)
    audit = AuditLog.objects.filter(action="sponsor.update", object_id=str(asn.pk)).latest("at")
    assert audit.actor == asn.user and audit.extra["source"] == "app"


def test_pledge_outside_2_or_3_or_below_current_workers_is_refused(asn, api):
    client = api(asn.user)
    response = client.patch("/api/v1/sponsor/profile/", {"capacity": 4}, format="json")
    assert response.status_code == 400 and response.json()["message"]
    factories.sponsor_worker(asn, factories.make_worker(full_name="Satu"))
    factories.sponsor_worker(asn, factories.make_worker(full_name="Dua"))
    Sponsor.objects.filter(pk=asn.pk).update(capacity=3)
    low = client.patch("/api/v1/sponsor/profile/", {"capacity": 2}, format="json")
    assert low.status_code == 200  # 2 workers, pledge 2: fine
    asn.refresh_from_db()
    assert asn.capacity == 2


def test_only_sponsors_have_a_sponsor_profile(regency_admin, api):
    assert api(regency_admin).get("/api/v1/sponsor/profile/").status_code == 403
    assert APIClient().get("/api/v1/sponsor/profile/").status_code == 401


def test_leave_request_is_recorded_once_and_ends_nothing(asn, api):
    client = api(asn.user)
    unconfirmed = client.post("/api/v1/sponsor/leave-request/", {"confirm": False}, format="json")
    assert unconfirmed.status_code == 400 and unconfirmed.json()["message"]
    first = client.post("/api/v1/sponsor/leave-request/", {"confirm": True, "reason": "pindah tugas"}, format="json")
    assert first.status_code == 202 and first.json()["status"] == "requested"
    again = client.post("/api/v1/sponsor/leave-request/", {"confirm": True}, format="json")
    assert again.status_code == 202 and again.json()["status"] == "already_requested"
    rows = AuditLog.objects.filter(action="sponsor.leave_request", object_id=str(asn.pk))
    assert rows.count() == 1 and rows.get().extra["reason"] == "pindah tugas"
    asn.refresh_from_db()
    assert asn.status == Sponsor.Status.ACTIVE


def test_leave_request_is_for_sponsors_only(regency_admin, api):
    assert (
        api(regency_admin).post("/api/v1/sponsor/leave-request/", {"confirm": True}, format="json").status_code == 403
    )
