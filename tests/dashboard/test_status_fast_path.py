"""The worker status lookup under a real JWT: one query, same answers as the generic path."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from sponsorship.billing.selectors.coverage import worker_coverage_status
from sponsorship.billing.selectors.overview import worker_status_facts, worker_status_for_user, workers_for_status
from tests import factories

from .test_money_views import history  # noqa: F401  (fixture)


def jwt_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@pytest.mark.django_db
def test_status_with_jwt_is_one_query_and_equals_the_forced_auth_answer(history, api):  # noqa: F811
    for worker in (history.wa[0], history.wb[0]):
        client = jwt_client(worker.user)
        client.get("/api/v1/worker/status/")  # warm the declared-income and rate caches
        with CaptureQueriesContext(connection) as ctx:
            r = client.get("/api/v1/worker/status/")
        assert r.status_code == 200, r.content
        # user + profile + worker + occupation + paid months + sponsor name + holidays, together
        assert len(ctx.captured_queries) == 1, [q["sql"] for q in ctx.captured_queries]
        assert r.json() == api(worker.user).get("/api/v1/worker/status/").json()
    assert jwt_client(history.wa[0].user).get("/api/v1/worker/status/").json()["sponsor_first_name"] == "Andi"
    assert jwt_client(history.wb[0].user).get("/api/v1/worker/status/").json()["sponsor_first_name"] is None


@pytest.mark.django_db
def test_status_jwt_permissions_unchanged(history, regency_admin):  # noqa: F811
    assert APIClient().get("/api/v1/worker/status/").status_code == 401
    assert jwt_client(history.a.user).get("/api/v1/worker/status/").status_code == 403
    assert jwt_client(regency_admin).get("/api/v1/worker/status/").status_code == 403
    user = history.wa[0].user
    client = jwt_client(user)
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert client.get("/api/v1/worker/status/").status_code == 401
    # A worker-role user without a worker row: 404 as before.
    orphan = factories.make_user(role="worker")
    assert jwt_client(orphan).get("/api/v1/worker/status/").status_code == 404


@pytest.mark.django_db
def test_preloaded_facts_equal_queried_facts(history):  # noqa: F811
    from sponsorship.billing.models import Holiday

    lone = factories.make_worker(full_name="Belum Ada", user=True)
    Holiday.objects.create(date=history.m1.replace(day=15), name="uji: jatuh tempo bergeser")
    for worker in [*history.wa, *history.wb, lone]:
        preloaded = workers_for_status().get(pk=worker.pk)
        assert worker_status_facts(preloaded) == worker_status_facts(worker)
        if worker.user_id is None:
            continue
        by_user = worker_status_for_user(worker.user_id)
        assert by_user.pk == worker.pk and by_user.user.profile.role == "worker" and by_user.kpj == worker.kpj
        assert worker_status_facts(by_user) == worker_status_facts(worker)
        assert worker_coverage_status(worker) == worker_coverage_status(
            worker,
            months=list(preloaded.status_months),
            sponsor_first_name=worker_status_facts(preloaded).sponsor_first_name,
        )


@pytest.mark.django_db
def test_status_statement_is_prepared_once_and_answers_like_the_unprepared_one(history, settings):  # noqa: F811
    worker = history.wa[0]
    settings.STATUS_PREPARED_STATEMENTS = False
    plain = jwt_client(worker.user).get("/api/v1/worker/status/").json()
    settings.STATUS_PREPARED_STATEMENTS = True
    for _ in range(3):
        assert jwt_client(worker.user).get("/api/v1/worker/status/").json() == plain
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%sponsorship_coveragemonth cm WHERE cm.worker_id = w.id%"],
        )
        assert cur.fetchone()[0] == 1  # planned once on this connection, reused by the later calls
