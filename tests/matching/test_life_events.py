"""Life events and matching: offers that no longer hold are withdrawn; a worker who left the scheme is never
proposed again; a sponsor's workers are re-matched."""

import pytest
from django.utils import timezone

from sponsorship.matching.models import Proposal
from sponsorship.matching.selectors import eligible_workers
from sponsorship.matching.services.rematch import rematch_worker
from sponsorship.people.services.life_events import life_event_record
from tests import factories
from tests.matching.conftest import HOME, NEAR, worker

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("kind", ["worker_died", "worker_formal_job", "worker_moved_away", "worker_aged_out"])
def test_a_worker_who_left_the_scheme_is_withdrawn_and_never_proposed_again(town, agency, regency, kind):
    sponsor = factories.make_sponsor(agency=agency, village_code=NEAR)
    w = worker(HOME)
    offer = rematch_worker(worker=w)
    assert offer is not None and offer.status == "offered"
    life_event_record(kind=kind, worker=w, evidence_note="Akta kematian 1")
    offer.refresh_from_db()
    assert offer.status == "withdrawn"
    assert not eligible_workers(regency).filter(pk=w.pk).exists()
    assert rematch_worker(worker=w) is None
    assert not Proposal.objects.filter(sponsor=sponsor, status="offered").exists()


def test_another_payer_takes_the_worker_out_of_the_pool(town, agency, regency):
    factories.make_sponsor(agency=agency, village_code=NEAR)
    w = worker(HOME)
    life_event_record(kind="worker_other_payer", worker=w, other_payer="regency_budget")
    assert not eligible_workers(regency).filter(pk=w.pk).exists()
    assert rematch_worker(worker=w) is None


def test_a_sponsor_who_died_has_offers_withdrawn_and_workers_rematched(town, agency):
    dying = factories.make_sponsor(agency=agency, village_code=HOME, capacity=3)
    sponsored, offered = worker(HOME), worker(HOME)
    factories.sponsor_worker(dying, sponsored)
    offer = rematch_worker(worker=offered)
    assert offer.sponsor_id == dying.pk
    other = factories.make_sponsor(agency=agency, village_code=NEAR)
    result = life_event_record(
        kind="sponsor_died", sponsor=dying, evidence_note="Akta kematian 2", occurred_on=timezone.localdate()
    )
    offer.refresh_from_db()
    assert offer.status == "withdrawn"
    assert [p.sponsor_id for p in result.rematched] == [other.pk]
    assert result.rematched[0].worker_id == sponsored.pk
