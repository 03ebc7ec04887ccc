"""Races decided by PostgreSQL: two sponsors accept one worker; one sponsor accepts past capacity."""

import threading

import pytest
from django.db import connection

from sponsorship.matching.models import Proposal
from sponsorship.people.models import Sponsor, Sponsorship
from tests import factories
from tests.conftest import client_for
from tests.factories import restore_reference_rows
from tests.matching.conftest import HOME, MID, NEAR, worker

pytestmark = [
    # No serialized_rollback: it re-inserts the content types a previous transactional test's flush already
    # re-created (IntegrityError on django_content_type when the browser tests run first). The reference rows
    # these tests need are put back explicitly instead.
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(autouse=True)
def _reference_rows(transactional_db):
    restore_reference_rows()


URL = "/api/v1/sponsor/proposals/"


def _race(calls):
    """Run the calls at the same moment in threads (each with its own DB connection)."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        from django.db import connections

        try:
            barrier.wait()
            results[i] = call()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


@pytest.mark.parametrize("attempt", range(3))
def test_two_sponsors_accept_the_same_worker(town, agency, attempt):
    w = worker(NEAR)
    worker(MID, full_name="Cadangan Pekerja")
    a, b = factories.make_sponsor(agency=agency), factories.make_sponsor(agency=agency)
    pa = next(p for p in client_for(a.user).get(URL).json()["results"] if p["first_name"] == "Slamet")
    pb = next(p for p in client_for(b.user).get(URL).json()["results"] if p["first_name"] == "Slamet")
    ra, rb = _race(
        [
            lambda: client_for(a.user).post(f"{URL}{pa['id']}/accept/"),
            lambda: client_for(b.user).post(f"{URL}{pb['id']}/accept/"),
        ]
    )
    assert sorted([ra.status_code, rb.status_code]) == [201, 409]
    loser = ra if ra.status_code == 409 else rb
    assert loser.json()["code"] == "worker_taken"
    assert "proposals" in loser.json()["extra"]
    assert Sponsorship.objects.filter(worker=w, status="active").count() == 1
    assert sorted(Sponsor.objects.filter(pk__in=[a.pk, b.pk]).values_list("active_sponsorships", flat=True)) == [0, 1]
    assert Proposal.objects.filter(worker=w, status="accepted").count() == 1


def test_capacity_race_one_slot_two_accepts(town, agency):
    s = factories.make_sponsor(agency=agency, capacity=2)
    factories.sponsor_worker(s, worker(HOME, full_name="Sudah Diampu"))
    w1, w2 = worker(NEAR), worker(MID)
    # Two open offers although only one slot is free (e.g. a run offer and an on-demand one).
    from django.utils import timezone

    later = timezone.now() + timezone.timedelta(days=1)
    p1 = Proposal.objects.create(sponsor=s, worker=w1, source="on_demand", distance_m=1110, expires_at=later)
    p2 = Proposal.objects.create(sponsor=s, worker=w2, source="matching_run", distance_m=2220, expires_at=later)
    r1, r2 = _race(
        [
            lambda: client_for(s.user).post(f"{URL}{p1.pk}/accept/"),
            lambda: client_for(s.user).post(f"{URL}{p2.pk}/accept/"),
        ]
    )
    assert sorted([r1.status_code, r2.status_code]) == [201, 409]
    assert (r1 if r1.status_code == 409 else r2).json()["code"] == "capacity_full"
    s.refresh_from_db()
    assert s.active_sponsorships == 2
    assert Sponsorship.objects.filter(sponsor=s, status="active").count() == 2
    assert connection.vendor == "postgresql"


def test_late_loser_is_told_the_worker_was_taken(town, agency):
    """The loser arriving after the winner committed (its proposal already withdrawn) still hears 'worker_taken'."""
    w = worker(NEAR)
    a, b = factories.make_sponsor(agency=agency), factories.make_sponsor(agency=agency)
    pa = next(p for p in client_for(a.user).get(URL).json()["results"] if p["first_name"] == "Slamet")
    pb = next(p for p in client_for(b.user).get(URL).json()["results"] if p["first_name"] == "Slamet")
    assert client_for(a.user).post(f"{URL}{pa['id']}/accept/").status_code == 201
    late = client_for(b.user).post(f"{URL}{pb['id']}/accept/")
    assert late.status_code == 409 and late.json()["code"] == "worker_taken"
    assert "proposals" in late.json()["extra"]
    assert Sponsorship.objects.filter(worker=w, status="active").count() == 1
