"""Error shape, language, auth, validation at the edge, health, schema, admin, data at rest."""

import pytest
from django.db import connection
from django.test import Client

from sponsorship.people.models import Worker
from tests.factories import make_nik, make_user, make_worker

pytestmark = pytest.mark.django_db


def worker_payload(**over):
    body = {
        "nik": make_nik(),
        "full_name": "Sumarni",
        "phone": "0813 3333 4444",
        "occupation": "mlijo",
        "village": "35.02.17.1001",
        "welfare_decile": 2,
        "consent": {"channel": "in_person", "text_version": "2026.1"},
    }
    body.update(over)
    return body


def test_error_shape_is_indonesian_by_default(api):
    body = api(None).get("/api/v1/workers/").json()
    assert set(body) == {"message", "code", "extra"}
    assert body["message"].startswith("Anda belum masuk")
    assert body["code"] == "not_authenticated"


def test_error_language_english_on_request(api):
    response = api(None).get("/api/v1/workers/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.json()["message"].startswith("You are not signed in")


def test_field_errors_are_detailed(api, regency_admin):
    response = api(regency_admin).post(
        "/api/v1/workers/", worker_payload(nik="123", welfare_decile=11, occupation="astronaut"), format="json"
    )
    assert response.status_code == 400
    fields = response.json()["extra"]["fields"]
    assert {"welfare_decile", "occupation"} <= set(fields)


def test_bad_nik_gets_a_clear_message(api, regency_admin):
    response = api(regency_admin).post("/api/v1/workers/", worker_payload(nik="3502173203850001"), format="json")
    assert response.status_code == 400
    body = response.json()
    assert "Tanggal lahir" in body["message"] and "nik" in body["extra"]["fields"]


def test_bad_phone_in_english(api, regency_admin):
    response = api(regency_admin).post(
        "/api/v1/workers/", worker_payload(phone="021555"), format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400 and "mobile" in response.json()["message"]


def test_create_worker_normalises_and_records_consent(api, regency_admin):
    response = api(regency_admin).post("/api/v1/workers/", worker_payload(), format="json")
    assert response.status_code == 201, response.json()
    worker = Worker.objects.get(pk=response.json()["id"])
    assert worker.phone == "+6281333334444"
    consent = worker.consents.get()
    assert consent.collected_by == regency_admin and consent.text_version == "2026.1"


def test_duplicate_nik_is_409_and_keeps_the_first(api, regency_admin):
    payload = worker_payload()
    assert api(regency_admin).post("/api/v1/workers/", payload, format="json").status_code == 201
    second = api(regency_admin).post("/api/v1/workers/", {**payload, "full_name": "Orang Lain"}, format="json")
    assert second.status_code == 409 and second.json()["code"] == "duplicate_nik"
    assert Worker.objects.count() == 1


def test_missing_consent_is_refused(api, regency_admin):
    payload = worker_payload()
    del payload["consent"]
    assert api(regency_admin).post("/api/v1/workers/", payload, format="json").status_code == 400
    assert Worker.objects.count() == 0


def test_malformed_json_is_400_not_500(api, regency_admin):
    response = api(regency_admin).post("/api/v1/workers/", "{not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "parse_error"


def test_nik_and_phone_unreadable_at_rest(regency):
    worker = make_worker(nik="3502171403850777", phone="081299998888")
    with connection.cursor() as cursor:
        cursor.execute("SELECT nik, nik_hash, phone FROM sponsorship_worker WHERE id = %s", [worker.pk])
        nik_raw, nik_hash, phone_raw = cursor.fetchone()
    assert "3502171403850777" not in nik_raw and "3502171403850777" not in nik_hash
    assert "81299998888" not in phone_raw
    assert Worker.objects.get(pk=worker.pk).nik == "3502171403850777"


def test_jwt_login_and_refresh_rotation(regency):
    make_user("asn.test", password="rahasia-123")
    client = Client()
    tokens = client.post(
        "/api/v1/auth/token/", {"username": "asn.test", "password": "rahasia-123"}, content_type="application/json"
    ).json()
    assert {"access", "refresh"} <= set(tokens)
    me = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {tokens['access']}").json()
    assert me["username"] == "asn.test"
    refreshed = client.post(
        "/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}, content_type="application/json"
    ).json()
    assert refreshed["refresh"] != tokens["refresh"]  # rotation
    bad = client.post(
        "/api/v1/auth/token/", {"username": "asn.test", "password": "salah"}, content_type="application/json"
    )
    assert bad.status_code == 401 and "message" in bad.json()


def test_healthz_reports_each_dependency(client):
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "broker"}


def test_schema_generates_without_warnings():
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator

    GENERATOR_STATS.reset()
    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert "/api/v1/workers/" in schema["paths"]
    assert not GENERATOR_STATS._warn_cache and not GENERATOR_STATS._error_cache, (
        GENERATOR_STATS._warn_cache,
        GENERATOR_STATS._error_cache,
    )


def test_offline_docs_use_no_cdn(client):
    html = client.get("/api/docs/").content.decode()
    assert "cdn" not in html.lower() and "/static/drf_spectacular_sidecar/" in html


def test_admin_search_by_exact_nik(client, regency):
    from django.contrib.auth import get_user_model

    worker = make_worker(nik="3502175403850321", full_name="Tutik Handayani")
    admin = get_user_model().objects.create_superuser("root", "r@x.test", "pw-123456")
    client.force_login(admin)
    page = client.get("/admin/people/worker/", {"q": "3502175403850321"}).content.decode()
    assert worker.full_name in page
