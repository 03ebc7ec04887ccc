"""Proposals for one sponsor: eligibility, ranking, privacy, accept, decline and the cooldown."""

import datetime as dt

import pytest
from django.utils import timezone

from sponsorship.matching.models import Proposal
from sponsorship.matching.services.proposals import proposals_for_sponsor
from sponsorship.people.models import Sponsorship, Worker
from sponsorship.regions.models import RegencyConfig
from tests import factories
from tests.matching.conftest import FAR, HOME, MID, NEAR, OUT, old_nik, worker

pytestmark = pytest.mark.django_db
URL = "/api/v1/sponsor/proposals/"


def names(response):
    return [p["first_name"] for p in response.json()["results"]]


def test_ranking_same_village_then_priority_then_distance(api, town, sponsor):
    worker(HOME, decile=6, full_name="Sumi Lestari")
    worker(MID, decile=1, full_name="Darmo Wiyono")
    worker(NEAR, decile=1, full_name="Karto Wiyono")
    worker(FAR, decile=2, full_name="Paimin Hadi")
    worker(OUT, decile=1, full_name="Jauh Sekali")  # outside the radius
    response = api(sponsor.user).get(URL)
    assert response.status_code == 200
    assert names(response) == ["Sumi", "Karto", "Darmo"]  # capacity 3
    assert response.json()["free_capacity"] == 3


def test_ineligible_workers_are_never_proposed(api, town, sponsor):
    worker(HOME, current_payer=Worker.Payer.REGENCY_BUDGET, full_name="Apbd Dibayar")
    worker(HOME, nik=old_nik(), full_name="Tua Sekali")  # over the age limit (65)
    taken = worker(HOME, full_name="Sudah Diampu")
    factories.sponsor_worker(factories.make_sponsor(agency=sponsor.agency), taken)
    gone = worker(HOME, full_name="Anonim Dihapus")
    Worker.objects.filter(pk=gone.pk).update(anonymized_at=timezone.now())
    no_consent = worker(HOME, full_name="Tanpa Persetujuan")
    no_consent.consents.update(withdrawn_at=timezone.now())
    worker(HOME, full_name="Boleh Diusulkan")
    assert names(api(sponsor.user).get(URL)) == ["Boleh"]


def test_age_limit_comes_from_regency_config(api, town, sponsor):
    worker(HOME, full_name="Umur Empatpuluh")  # born 1985
    RegencyConfig.objects.filter(regency=town).update(max_new_member_age=40)
    assert names(api(sponsor.user).get(URL)) == []


def test_proposal_shows_only_what_a_sponsor_needs(api, town, sponsor):
    w = worker(NEAR, full_name="Karto Wiyono Saputro", phone="081299998888")
    response = api(sponsor.user).get(URL)
    item = response.json()["results"][0]
    assert set(item) == {"id", "first_name", "occupation", "village", "distance_m", "age_band", "why"}
    assert item["first_name"] == "Karto"
    assert item["why"] == "termasuk rumah tangga termiskin (desil kesejahteraan 3 dari 10)"  # not same village
    assert item["village"] == "Brotonegaran"
    assert item["distance_m"] == 1100  # 1,110 m rounded to 100 m
    assert item["age_band"] == "40–49"
    body = response.content.decode()
    for secret in (w.nik, "99998888", "Saputro", str(w.village.lat)):
        assert secret not in body


def test_precise_coordinates_when_both_have_them(api, town, agency):
    s = factories.make_sponsor(agency=agency, lat=-7.80, lon=111.46)  # far from its village centre
    worker(OUT, full_name="Tepat Lokasi", lat=-7.801, lon=111.46)  # 111 m away, village centre 6.7 km
    worker(HOME, full_name="Desa Sendiri")  # no precise point: village centres (0 m)
    items = api(s.user).get(URL).json()["results"]
    by_name = {i["first_name"]: i["distance_m"] for i in items}
    assert by_name == {"Desa": 0, "Tepat": 100}


def test_up_to_free_capacity_only(api, town, agency):
    s = factories.make_sponsor(agency=agency, capacity=2)
    factories.sponsor_worker(s, worker(OUT))
    for _ in range(3):
        worker(HOME)
    assert len(api(s.user).get(URL).json()["results"]) == 1
    factories.sponsor_worker(s, worker(OUT))
    assert api(s.user).get(URL).json()["results"] == []


def test_same_list_on_reload(api, town, sponsor):
    for v in (HOME, NEAR, MID, FAR):
        worker(v)
    first = [p["id"] for p in api(sponsor.user).get(URL).json()["results"]]
    again = [p["id"] for p in api(sponsor.user).get(URL).json()["results"]]
    assert first == again and len(first) == 3
    assert Proposal.objects.count() == 3


def test_accept_starts_sponsorship_and_withdraws_other_offers(api, town, sponsor, agency):
    w = worker(NEAR)
    other = factories.make_sponsor(agency=agency)
    mine = api(sponsor.user).get(URL).json()["results"][0]["id"]
    theirs = api(other.user).get(URL).json()["results"][0]["id"]
    response = api(sponsor.user).post(f"{URL}{mine}/accept/")
    assert response.status_code == 201, response.json()
    s = Sponsorship.objects.get(pk=response.json()["sponsorship_id"])
    assert (s.sponsor_id, s.worker_id, s.source, s.status) == (sponsor.pk, w.pk, "proposal", "active")
    assert Proposal.objects.get(pk=mine).status == "accepted"
    assert Proposal.objects.get(pk=theirs).status == "withdrawn"
    assert response.json()["free_capacity"] == 2


def test_accepting_a_taken_worker_is_409_with_fresh_proposals(api, town, sponsor, agency):
    w = worker(NEAR)
    worker(MID, full_name="Cadangan Pekerja")
    other = factories.make_sponsor(agency=agency, capacity=2)
    theirs = api(other.user).get(URL).json()["results"]
    assert len(theirs) == 2
    factories.sponsor_worker(sponsor, w)  # someone else got the worker first
    taken = next(p for p in theirs if p["first_name"] != "Cadangan")
    response = api(other.user).post(f"{URL}{taken['id']}/accept/")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "worker_taken"
    assert "ASN lain" in body["message"]
    assert [p["first_name"] for p in body["extra"]["proposals"]] == ["Cadangan"]
    english = api(other.user).post(f"{URL}{taken['id']}/accept/", HTTP_ACCEPT_LANGUAGE="en")
    assert english.status_code == 409


def test_cannot_touch_another_sponsors_proposal(api, town, sponsor, agency):
    worker(NEAR)
    pid = api(sponsor.user).get(URL).json()["results"][0]["id"]
    intruder = factories.make_sponsor(agency=agency)
    assert api(intruder.user).post(f"{URL}{pid}/accept/").status_code == 404
    assert api(intruder.user).post(f"{URL}{pid}/decline/").status_code == 404


def test_decline_cooldown(api, town, sponsor):
    worker(NEAR, full_name="Ditolak Dulu")
    client = api(sponsor.user)
    pid = client.get(URL).json()["results"][0]["id"]
    assert client.post(f"{URL}{pid}/decline/", {"reason": "terlalu jauh"}, format="json").status_code == 200
    assert names(client.get(URL)) == []
    assert client.post(f"{URL}{pid}/decline/").status_code == 409  # already decided
    # After the regency's cooldown the worker can be proposed again.
    Proposal.objects.filter(pk=pid).update(decided_at=timezone.now() - dt.timedelta(days=91))
    assert names(client.get(URL)) == ["Ditolak"]


def test_decline_cooldown_is_per_sponsor(api, town, sponsor, agency):
    worker(NEAR, full_name="Karto Wiyono")
    pid = api(sponsor.user).get(URL).json()["results"][0]["id"]
    api(sponsor.user).post(f"{URL}{pid}/decline/")
    other = factories.make_sponsor(agency=agency)
    assert names(api(other.user).get(URL)) == ["Karto"]


def test_expired_offer_cannot_be_accepted(api, town, sponsor):
    worker(NEAR)
    pid = api(sponsor.user).get(URL).json()["results"][0]["id"]
    Proposal.objects.filter(pk=pid).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = api(sponsor.user).post(f"{URL}{pid}/accept/")
    assert response.status_code == 409 and response.json()["code"] == "proposal_closed"


def test_only_sponsors(api, town, regency_admin):
    assert api(regency_admin).get(URL).status_code == 403
    assert api(None).get(URL).status_code == 401


def test_service_runs_on_any_database(town, sponsor):
    worker(NEAR)
    assert [p.worker.first_name for p in proposals_for_sponsor(sponsor=sponsor)] == ["Slamet"]


def test_accepting_after_another_sponsor_won_says_worker_taken(api, town, sponsor, agency):
    """The slower of two accepts finds its offer already withdrawn: it is told the worker was taken."""
    worker(NEAR)
    worker(MID, full_name="Cadangan Pekerja")
    other = factories.make_sponsor(agency=agency, capacity=2)
    theirs = next(p for p in api(other.user).get(URL).json()["results"] if p["first_name"] == "Slamet")
    mine = next(p for p in api(sponsor.user).get(URL).json()["results"] if p["first_name"] == "Slamet")
    assert api(sponsor.user).post(f"{URL}{mine['id']}/accept/").status_code == 201
    assert Proposal.objects.get(pk=theirs["id"]).status == "withdrawn"
    late = api(other.user).post(f"{URL}{theirs['id']}/accept/")
    assert late.status_code == 409
    assert late.json()["code"] == "worker_taken" and "ASN lain" in late.json()["message"]
    assert [p["first_name"] for p in late.json()["extra"]["proposals"]] == ["Cadangan"]
