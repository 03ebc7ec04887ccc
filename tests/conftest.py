"""Suite-wide fixtures. Under CI=true a missing Redis fails the run instead of skipping the outage tests."""

import os

import pytest
from rest_framework.test import APIClient

from sponsorship.people.models import Role
from tests import factories


def pytest_configure(config):
    if os.environ.get("CI", "").lower() == "true":
        if not os.environ.get("REDIS_TEST_URL"):
            raise pytest.UsageError("CI=true requires REDIS_TEST_URL (Redis for broker and outage tests)")


@pytest.fixture
def regency(db):
    factories.restore_reference_rows()  # no-op unless a transactional test's flush removed the data-migration rows
    return factories.load_ponorogo()


@pytest.fixture
def agency(regency):
    return factories.make_agency(regency, name="Dinas Pendidikan dan Kebudayaan")


@pytest.fixture
def other_agency(regency):
    return factories.make_agency(regency, name="Dinas Kesehatan")


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def api():
    return client_for


@pytest.fixture
def sponsor(agency):
    return factories.make_sponsor(agency=agency, capacity=3)


@pytest.fixture
def regency_admin(regency):
    return factories.make_user("admin.kab", Role.REGENCY_ADMIN, regency=regency)


@pytest.fixture
def agency_admin(agency):
    return factories.make_user("admin.opd", Role.AGENCY_ADMIN, agency=agency)


@pytest.fixture(autouse=True)
def _default_language():
    """LocaleMiddleware activates a request's language for the thread and never resets it: an English request
    in one test made later tests (calling services directly) see English texts. Every test starts in Indonesian."""
    from django.utils import translation

    translation.activate("id")
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _own_matching_warm_cache(tmp_path, monkeypatch):
    """The exact matching step warm-starts from a file cache keyed by database and regency (solver/warm.py). Ids
    repeat across tests and runs on a fresh database, so a file left by another test made a run start warm and skip
    the restricted polish its test measured. Every test gets its own, empty cache."""
    monkeypatch.setenv("MATCHING_WARM_CACHE_DIR", str(tmp_path / "matching-warm"))


@pytest.fixture(autouse=True)
def _summary_rows_follow_the_flush(request, django_db_blocker):
    """A transactional test ends by flushing every model table; the dashboard's summary table
    (sponsorship_dash_agency_month, kept by triggers) is no model, so its rows outlived the data they summarised and
    the next test on that database read them. Empty it after such a test (autouse: torn down after the flush)."""
    yield
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])))
    if not (transactional or {"transactional_db", "live_server"} & set(request.fixturenames)):
        return
    from django.db import connection

    with django_db_blocker.unblock(), connection.cursor() as cur:
        cur.execute("TRUNCATE sponsorship_dash_agency_month")


@pytest.fixture
def lean_calls(monkeypatch):
    """Paths answered by backend.lean's short path (LeanPathsMiddleware._answer), in order."""
    from backend.lean import LeanPathsMiddleware

    calls = []
    original = LeanPathsMiddleware._answer

    def counting(self, request, match):
        calls.append(request.path_info)
        return original(self, request, match)

    monkeypatch.setattr(LeanPathsMiddleware, "_answer", counting)
    return calls


@pytest.fixture
def no_quiet_hours(settings):
    """Push delivered at any wall-clock hour: tests of delivery must not be held by 21:00-06:00 WIB quiet hours."""
    settings.NOTIFICATION_QUIET_HOURS = None
