"""Worker sign-in: two steps, same answer for unknown NIK and wrong date of birth, throttled, audited."""

import re

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from sponsorship.core.models import AuditLog
from sponsorship.people.models import Role, WorkerSignInChallenge
from tests import factories

URL = "/api/v1/worker/auth/"


@pytest.fixture
def worker(regency):
    return factories.make_worker(full_name="Sumarni Lestari", sex="F")


_capture = None


def request_code(client, nik, birth_date):
    # The code is sent after commit: run the on_commit callbacks inside the test transaction.
    with _capture(execute=True):
        return client.post(URL, {"nik": nik, "birth_date": birth_date}, format="json")


@pytest.fixture(autouse=True)
def _on_commit(django_capture_on_commit_callbacks):
    global _capture
    _capture = django_capture_on_commit_callbacks
    yield


def sent_code(capsys) -> str:
    out = capsys.readouterr().out
    return re.findall(r"kode masuk Pengampu untuk \S+: (\d{6})", out)[-1]


@pytest.mark.django_db
def test_two_step_sign_in_gives_a_token_for_own_data_only(worker, capsys):
    client = APIClient()
    r = request_code(client, worker.nik, worker.birth_date.isoformat())
    assert r.status_code == 202, r.content
    assert r.json()["status"] == "code_sent"
    code = sent_code(capsys)
    r = client.post(URL, {"challenge": r.json()["challenge"], "code": code}, format="json")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["worker_id"] == worker.pk
    worker.refresh_from_db()
    assert worker.user.profile.role == Role.WORKER
    # The token reaches the worker's own record and nobody else's.
    other = factories.make_worker(full_name="Orang Lain")
    authed = APIClient()
    authed.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    assert authed.get(f"/api/v1/workers/{worker.pk}/").status_code == 200
    assert authed.get(f"/api/v1/workers/{other.pk}/").status_code == 404
    assert authed.get("/api/v1/sponsors/").json()["count"] == 0
    assert authed.get("/api/v1/admin/dashboard/summary/").status_code == 403
    # A code works once.
    r2 = client.post(
        URL, {"challenge": r.json() and body and WorkerSignInChallenge.objects.get().token, "code": code}, format="json"
    )
    assert r2.status_code == 400
    actions = list(AuditLog.objects.filter(action__startswith="worker_auth").values_list("action", "extra"))
    outcomes = [extra["outcome"] for action, extra in actions if "outcome" in extra]
    assert {"matched", "ok", "already_used"} <= set(outcomes)
    # The NIK itself is never written to the audit log.
    assert not AuditLog.objects.filter(extra__icontains=worker.nik).exists()


@pytest.mark.django_db
def test_unknown_nik_and_wrong_birth_date_get_the_same_answer(worker, capsys):
    client = APIClient()
    right = request_code(client, worker.nik, worker.birth_date.isoformat())
    capsys.readouterr()
    wrong_dob = request_code(client, worker.nik, "2001-01-01")
    unknown = request_code(client, factories.make_nik(), "1985-03-14")
    assert right.status_code == wrong_dob.status_code == unknown.status_code == 202
    shape = lambda r: {k: (v if k != "challenge" else len(v)) for k, v in r.json().items()}  # noqa: E731
    assert shape(right) == shape(wrong_dob) == shape(unknown)
    assert capsys.readouterr().out.count("kode masuk") == 0  # no code sent for the wrong ones
    for r in (wrong_dob, unknown):
        for guess in ("000000", "123456"):
            v = client.post(URL, {"challenge": r.json()["challenge"], "code": guess}, format="json")
            assert v.status_code == 400
            assert v.json()["code"] == "no_match"
    outcomes = set(AuditLog.objects.filter(action="worker_auth.request").values_list("extra__outcome", flat=True))
    assert outcomes == {"matched", "wrong_birth_date", "unknown_nik"}


@pytest.mark.django_db
def test_malformed_input_is_a_400_never_a_500(regency):
    client = APIClient()
    assert client.post(URL, {}, format="json").status_code == 400
    assert client.post(URL, {"nik": "123", "birth_date": "1990-01-01"}, format="json").status_code == 400
    assert client.post(URL, {"nik": "3502171403850001", "birth_date": "kemarin"}, format="json").status_code == 400
    assert client.post(URL, {"challenge": "x"}, format="json").status_code == 400
    assert client.post(URL, "not json", content_type="application/json").status_code == 400


@pytest.mark.django_db
def test_wrong_codes_lock_the_challenge(worker, capsys, settings):
    client = APIClient()
    challenge = request_code(client, worker.nik, worker.birth_date.isoformat()).json()["challenge"]
    code = sent_code(capsys)
    for _ in range(settings.WORKER_OTP_MAX_ATTEMPTS):
        assert (
            client.post(
                URL, {"challenge": challenge, "code": "999999" if code != "999999" else "111111"}, format="json"
            ).status_code
            == 400
        )
    # Even the right code no longer works: guessing 10^6 codes is not possible.
    assert client.post(URL, {"challenge": challenge, "code": code}, format="json").status_code == 400


@pytest.mark.django_db
def test_throttled_per_nik_across_addresses(worker, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "worker_auth_nik": "3/hour",
            "worker_auth": "100/hour",
        },
    }
    statuses = []
    for i in range(5):
        client = APIClient(REMOTE_ADDR=f"10.0.0.{i + 1}")
        statuses.append(request_code(client, worker.nik, "2001-01-01").status_code)
    assert statuses == [202, 202, 202, 429, 429]
    assert AuditLog.objects.filter(action="worker_auth.throttled").count() == 2
    # Another NIK from the same address is not affected by this NIK's limit.
    assert request_code(APIClient(REMOTE_ADDR="10.0.0.1"), factories.make_nik(), "1990-01-01").status_code == 202


@pytest.mark.django_db
def test_throttled_per_ip(regency, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "worker_auth": "4/hour"},
    }
    client = APIClient(REMOTE_ADDR="10.9.9.9")
    codes = [request_code(client, factories.make_nik(), "1990-01-01").status_code for _ in range(6)]
    assert codes == [202, 202, 202, 202, 429, 429]
    r = request_code(client, factories.make_nik(), "1990-01-01")
    assert "Terlalu banyak" in r.json()["message"]


@pytest.mark.django_db
@override_settings(WORKER_OTP_PROVIDER="")
def test_without_sms_provider_nik_and_birth_date_sign_in_directly(worker):
    client = APIClient()
    r = request_code(client, worker.nik, worker.birth_date.strftime("%d/%m/%Y"))
    assert r.status_code == 200 and r.json()["worker_id"] == worker.pk
    r = request_code(client, worker.nik, "2001-01-01")
    assert r.status_code == 400 and r.json()["code"] == "no_match"


@pytest.mark.django_db
def test_worker_without_phone_gets_the_generic_answer_and_no_code(regency, capsys):
    worker = factories.make_worker(phone="")
    r = request_code(APIClient(), worker.nik, worker.birth_date.isoformat())
    assert r.status_code == 202
    assert "kode masuk" not in capsys.readouterr().out
    assert AuditLog.objects.filter(action="worker_auth.request", extra__outcome="no_phone").exists()
