"""A worker flagged to be offered first (bridge fund paying, budget cohort ending) is eligible and boosted."""

import datetime as dt

import pytest
from django.utils import timezone

from sponsorship.matching.selectors import eligible_workers, recently_unsponsored
from sponsorship.people.models import MatchPriority, Worker
from sponsorship.people.services.life_events import life_event_record
from sponsorship.people.services.match_priority import clear_match_priority, flag_for_matching
from tests.matching.conftest import HOME, worker

pytestmark = pytest.mark.django_db


def _lapsing(regency, w):
    return eligible_workers(regency).annotate(l=recently_unsponsored()).get(pk=w.pk).l


def test_a_budget_cohort_worker_becomes_eligible_and_boosted_while_flagged(town, regency):
    w = worker(HOME)
    life_event_record(kind="worker_other_payer", worker=w, other_payer="regency_budget")
    assert Worker.objects.get(pk=w.pk).current_payer == "regency_budget"
    assert not eligible_workers(regency).filter(pk=w.pk).exists()

    today = timezone.localdate()
    flag_for_matching(w.pk, "cohort_ending", until=today + dt.timedelta(days=30))
    assert _lapsing(regency, w) is True

    clear_match_priority(w.pk)
    assert not eligible_workers(regency).filter(pk=w.pk).exists()


def test_one_open_flag_per_reason_and_its_date_only_moves_later(town, regency):
    w = worker(HOME)
    today = timezone.localdate()
    flag_for_matching(w.pk, "bridged", until=today + dt.timedelta(days=30))
    flag_for_matching(w.pk, "bridged", until=today + dt.timedelta(days=10))
    row = MatchPriority.objects.get(worker=w, cleared_at__isnull=True)
    assert row.until == today + dt.timedelta(days=30)
    assert _lapsing(regency, w) is True


def test_a_flag_past_its_date_no_longer_boosts(town, regency):
    w = worker(HOME)
    flag_for_matching(w.pk, "sponsor_left", until=timezone.localdate() - dt.timedelta(days=1))
    assert _lapsing(regency, w) is False
