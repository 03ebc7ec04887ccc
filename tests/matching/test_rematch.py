"""Re-matching: a sponsor leaves, each worker goes to the nearest sponsor with room, with high priority."""

import pytest

from sponsorship.matching.models import Proposal
from sponsorship.matching.selectors import priority_of
from sponsorship.matching.services.rematch import rematch_worker, sponsor_leave, sponsorship_end_and_rematch
from sponsorship.people.models import Sponsor, Sponsorship
from tests import factories
from tests.matching.conftest import FAR, HOME, MID, NEAR, OUT, worker

pytestmark = pytest.mark.django_db


def test_sponsor_leaves_workers_go_to_nearest_sponsor_with_room(api, town, agency, agency_admin):
    leaving = factories.make_sponsor(agency=agency, village_code=HOME, capacity=2)
    w1, w2 = worker(HOME, decile=4), worker(NEAR, decile=2)
    factories.sponsor_worker(leaving, w1)
    factories.sponsor_worker(leaving, w2)
    full = factories.make_sponsor(agency=agency, village_code=HOME, capacity=2)
    factories.sponsor_worker(full, worker(OUT))
    factories.sponsor_worker(full, worker(OUT))
    near = factories.make_sponsor(agency=agency, village_code=MID, capacity=3)
    far = factories.make_sponsor(agency=agency, village_code=FAR, capacity=3)
    response = api(agency_admin).post(
        f"/api/v1/admin/sponsors/{leaving.pk}/leave/", {"status": "retired"}, format="json"
    )
    assert response.status_code == 200 and response.json()["rematch_proposals"] == 2
    leaving.refresh_from_db()
    assert leaving.status == Sponsor.Status.RETIRED and leaving.active_sponsorships == 0
    assert set(Sponsorship.objects.filter(sponsor=leaving).values_list("end_reason", flat=True)) == {"sponsor_retired"}
    offers = Proposal.objects.filter(source="rematch", status="offered")
    assert {(p.worker_id, p.sponsor_id) for p in offers} == {(w1.pk, near.pk), (w2.pk, near.pk)}
    # Re-matched workers jump the queue (lapse boost on top of the decile weight).
    assert offers.get(worker=w2).priority == priority_of(2, True) > priority_of(1, False)
    assert not Proposal.objects.filter(sponsor=far).exists()
    # The offer holds the worker: another sponsor is not shown them meanwhile.
    assert api(far.user).get("/api/v1/sponsor/proposals/").json()["results"] == []
    listed = api(near.user).get("/api/v1/sponsor/proposals/").json()["results"]
    assert [p["first_name"] for p in listed][:2] == ["Slamet", "Slamet"]


def test_decline_of_a_rematch_offer_moves_to_next_sponsor(api, town, agency):
    leaving = factories.make_sponsor(agency=agency, village_code=HOME)
    w = worker(HOME)
    factories.sponsor_worker(leaving, w)
    first = factories.make_sponsor(agency=agency, village_code=NEAR)
    second = factories.make_sponsor(agency=agency, village_code=FAR)
    sponsor_leave(sponsor=leaving)
    offer = Proposal.objects.get(worker=w, status="offered")
    assert offer.sponsor_id == first.pk
    assert api(first.user).post(f"/api/v1/sponsor/proposals/{offer.pk}/decline/").status_code == 200
    assert Proposal.objects.get(worker=w, status="offered").sponsor_id == second.pk


def test_unpaid_lapse_end_rematches(town, agency):
    old = factories.make_sponsor(agency=agency, village_code=HOME)
    w = worker(HOME)
    sponsorship = factories.sponsor_worker(old, w)
    new = factories.make_sponsor(agency=agency, village_code=NEAR)
    proposal = sponsorship_end_and_rematch(sponsorship=sponsorship, reason=Sponsorship.EndReason.NOT_PAID)
    assert proposal.sponsor_id == new.pk and proposal.source == "rematch"
    # The former sponsor (who stopped paying) is never offered the same worker.
    assert not Proposal.objects.filter(sponsor=old).exists()


def test_nobody_in_reach_leaves_worker_in_pool(town, agency):
    leaving = factories.make_sponsor(agency=agency, village_code=HOME)
    w = worker(HOME)
    factories.sponsor_worker(leaving, w)
    factories.make_sponsor(agency=agency, village_code=OUT)  # 6.7 km: outside 5 km
    assert sponsor_leave(sponsor=leaving) == []
    assert rematch_worker(worker=w) is None
    w.refresh_from_db()
    assert w.current_payer == "none"


def test_leave_twice_is_409(api, town, agency, agency_admin):
    s = factories.make_sponsor(agency=agency)
    url = f"/api/v1/admin/sponsors/{s.pk}/leave/"
    assert api(agency_admin).post(url, {"status": "left"}, format="json").status_code == 200
    assert api(agency_admin).post(url, {"status": "left"}, format="json").status_code == 409
