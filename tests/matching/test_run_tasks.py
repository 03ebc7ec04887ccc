"""A large regency's matching run is solved and applied by Celery tasks (docs/long-work.md).

The request answers 202 with a QUEUED run; the task solves it (progress on the run); asking again meanwhile answers
the same run; a second delivery does nothing; a run whose worker died is queued again by the sweep. Small
regencies keep the old contract (201 with the preview), covered by test_runs.py.
"""

import pytest
from django.utils import timezone

from sponsorship.core.models import AuditLog
from sponsorship.matching import tasks
from sponsorship.matching.models import MatchingRun, Proposal
from sponsorship.matching.services import runs
from tests import factories
from tests.matching.conftest import FAR, HOME, MID, NEAR, worker

pytestmark = pytest.mark.django_db
RUNS = "/api/v1/admin/matching-runs/"


@pytest.fixture
def no_worker(settings):
    """A broker nobody consumes: queued tasks wait, as in production while the worker is busy or down."""
    from backend.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    app.conf.broker_url = "memory://"
    yield
    app.conf.task_always_eager = True


@pytest.fixture
def large(settings):
    """Every regency counts as large: solved and applied by tasks."""
    settings.MATCHING_SYNC_MAX_WORKERS = 0
    settings.MATCHING_SYNC_MAX_PAIRS = 0


@pytest.fixture
def people(town, agency):
    factories.make_sponsor(agency=agency, village_code=HOME, capacity=3)
    for v in (HOME, NEAR, MID, FAR):
        worker(v)


def test_a_large_run_is_queued_solved_by_the_task_then_applied_by_another(
    api, people, regency_admin, large, no_worker, django_capture_on_commit_callbacks
):
    client = api(regency_admin)
    with django_capture_on_commit_callbacks(execute=True) as queued:
        first = client.post(RUNS, {"radius_m": 5000}, format="json")
    assert first.status_code == 202, first.json()
    body = first.json()
    assert body["status"] == "queued" and body["progress"] == {"done": 0, "total": 3, "stage": "queued"}
    assert len(queued) == 1
    # Asked again while it waits: the same run, nothing queued twice.
    with django_capture_on_commit_callbacks(execute=True) as again:
        second = client.post(RUNS, {"radius_m": 5000}, format="json")
    assert second.status_code == 200 and second.json()["id"] == body["id"] and again == []
    # Not appliable before its preview exists.
    early = client.post(f"{RUNS}{body['id']}/apply/")
    assert early.status_code == 409 and early.json()["code"] == "not_ready"

    # The worker solves it; a second delivery (lost ack) does nothing.
    assert tasks.solve_matching_run.apply(args=[body["id"]]).get() == "preview"
    assert tasks.solve_matching_run.apply(args=[body["id"]]).get() is None
    detail = client.get(f"{RUNS}{body['id']}/").json()
    assert detail["status"] == "preview" and detail["preview"]["covered_total"] == 3
    assert detail["progress"] == {"done": 3, "total": 3, "stage": "done"}
    assert AuditLog.objects.filter(action="matching_run.preview").count() == 1

    with django_capture_on_commit_callbacks(execute=True) as applying:
        accepted = client.post(f"{RUNS}{body['id']}/apply/")
    assert accepted.status_code == 202 and accepted.json()["status"] == "applying"
    assert len(applying) == 1 and not Proposal.objects.exists()
    # A double click while it is applied: the same run, no second task.
    with django_capture_on_commit_callbacks(execute=True) as twice:
        assert client.post(f"{RUNS}{body['id']}/apply/").status_code == 202
    assert twice == []
    assert tasks.apply_matching_run.apply(args=[body["id"], regency_admin.pk]).get() == 3
    assert tasks.apply_matching_run.apply(args=[body["id"], regency_admin.pk]).get() is None
    done = client.get(f"{RUNS}{body['id']}/").json()
    assert done["status"] == "applied" and done["proposals_created"] == 3
    assert Proposal.objects.filter(source="matching_run").count() == 3
    assert AuditLog.objects.filter(action="matching_run.apply").count() == 1


def test_without_a_broker_the_task_runs_in_process(
    api, people, regency_admin, large, django_capture_on_commit_callbacks
):
    """Dev (CELERY_TASK_ALWAYS_EAGER): the task runs in-process when the request commits. (In a test the commit
    callbacks run after the response, so the response still says queued.)"""
    client = api(regency_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(RUNS, {"radius_m": 5000}, format="json")
    assert response.status_code == 202, response.json()
    run = client.get(f"{RUNS}{response.json()['id']}/").json()
    assert run["status"] == "preview" and run["preview"]["covered_total"] == 3
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"{RUNS}{run['id']}/apply/")
    applied = client.get(f"{RUNS}{run['id']}/")
    assert applied.json()["status"] == "applied"
    assert Proposal.objects.count() == 3


def test_a_solve_whose_worker_died_is_queued_again_by_the_sweep(people, town, regency_admin, large, no_worker):
    run, outcome = runs.matching_run_request(regency=town, radius_m=5000, actor=regency_admin)
    assert outcome == "queued"
    # A worker claimed it and died mid-solve: SOLVING, heartbeat 10 minutes old.
    stale = timezone.now() - timezone.timedelta(minutes=10)
    MatchingRun.objects.filter(pk=run.pk).update(status="solving", heartbeat_at=stale, attempts=1)
    # A live worker's run is not taken over.
    fresh = MatchingRun.objects.create(
        regency=town, radius_m=4000, policy="uniform", status="solving", heartbeat_at=timezone.now(), fingerprint="x"
    )
    assert runs.matching_run_solve_queued(run_id=fresh.pk) is None
    assert runs.matching_run_sweep() == 1  # queued on the (unconsumed) broker
    assert runs.matching_run_solve_queued(run_id=run.pk) == "preview"
    run.refresh_from_db()
    assert run.status == "preview" and run.attempts == 2 and run.preview["covered_total"] == 3


def test_a_run_interrupted_too_often_fails_and_a_new_request_makes_a_new_run(
    people, town, regency_admin, large, no_worker
):
    run, _ = runs.matching_run_request(regency=town, radius_m=5000, actor=regency_admin)
    stale = timezone.now() - timezone.timedelta(minutes=10)
    MatchingRun.objects.filter(pk=run.pk).update(status="solving", heartbeat_at=stale, attempts=3)
    assert runs.matching_run_solve_queued(run_id=run.pk) == "failed"
    run.refresh_from_db()
    assert run.status == "failed" and run.error
    again, outcome = runs.matching_run_request(regency=town, radius_m=5000, actor=regency_admin)
    assert outcome == "queued" and again.pk != run.pk


def test_an_apply_left_by_a_dead_worker_is_queued_again(people, town, regency_admin, large, no_worker):
    run, _ = runs.matching_run_request(regency=town, radius_m=5000, actor=regency_admin)
    runs.matching_run_solve_queued(run_id=run.pk)
    run = runs.matching_run_apply_request(run=run, actor=regency_admin)
    assert run.status == "applying"
    # The apply is one transaction: the dead worker wrote nothing. A minute later the sweep queues it again.
    MatchingRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timezone.timedelta(minutes=2))
    assert runs.matching_run_sweep() == 1
    applied = runs.matching_run_apply_queued(run_id=run.pk, actor_id=regency_admin.pk)
    assert applied is not None and applied.status == "applied" and applied.proposals_created == 3
    assert runs.matching_run_sweep() == 0


def test_progress_and_status_are_scoped_to_the_regency(api, people, town, regency_admin, large, no_worker):
    from sponsorship.people.models import Role
    from sponsorship.regions.models import Region

    run, _ = runs.matching_run_request(regency=town, radius_m=5000, actor=regency_admin)
    other = Region.objects.create(code="35.03", name="Trenggalek", level=Region.Level.REGENCY)
    outsider = factories.make_user("admin.trenggalek", Role.REGENCY_ADMIN, regency=other)
    assert api(outsider).get(f"{RUNS}{run.pk}/").status_code == 404
    assert api(outsider).post(f"{RUNS}{run.pk}/apply/").status_code == 404
