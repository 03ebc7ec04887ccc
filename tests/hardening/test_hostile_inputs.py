"""Hostile request inputs end as a 4xx a person understands, never a 500 (issue 14, Medium).

Deeply nested JSON, bodies past DATA_UPLOAD_MAX_MEMORY_SIZE, a bare JSON scalar, NUL characters in the path,
the query or a JSON string, year-0001 consent dates and names longer than the column.
"""

import json

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from tests import factories


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def _json(client, url, body: bytes | str, **extra):
    return client.generic("POST", url, body, content_type="application/json", **extra)


def _assert_clear_4xx(response, status=400):
    assert response.status_code == status, (response.status_code, response.content[:300])
    body = response.json()
    assert body["message"] and body["code"]
    return body


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/v1/worker/auth/", "/api/v1/auth/token/", "/api/v1/workers/"])
def test_deeply_nested_json_is_a_400_on_every_json_endpoint(url, regency_admin):
    client = APIClient()
    client.force_authenticate(regency_admin)
    body = "[" * 100_000 + "]" * 100_000
    _assert_clear_4xx(_json(client, url, body))
    # 20 levels is still fine as JSON (the endpoint answers what it answers, not a parse error)
    fine = _json(client, url, json.dumps({"a": json.loads("[" * 20 + "]" * 20)}))
    assert fine.status_code < 500 and fine.json().get("code") != "parse_error"


@pytest.mark.django_db
def test_a_body_over_the_memory_limit_is_a_clear_413(settings, regency_admin):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = json.dumps({"nik": "1" * 16, "padding": "x" * 4096})
    r = _json(APIClient(), "/api/v1/worker/auth/", body)
    assert _assert_clear_4xx(r, 413)["code"] == "request_too_large"
    form = Client().post("/api/v1/auth/token/", {"username": "x" * 4096, "password": "y"})
    assert _assert_clear_4xx(form, 413)["code"] == "request_too_large"


@pytest.mark.django_db
@pytest.mark.parametrize("body", ["123", '"nik"', "[]", "null", "true"])
def test_worker_auth_with_a_bare_json_scalar_is_a_400(body):
    _assert_clear_4xx(_json(APIClient(), "/api/v1/worker/auth/", body))


@pytest.mark.django_db
def test_nul_in_path_query_or_json_is_a_400(regency_admin, api):
    client = api(regency_admin)
    _assert_clear_4xx(client.get("/api/v1/admin/imports/templates/work%00ers/"))
    _assert_clear_4xx(client.get("/api/v1/workers/?q=a%00b"))
    _assert_clear_4xx(_json(client, "/api/v1/auth/token/", json.dumps({"username": "a\u0000b", "password": "x"})))
    web = Client()
    web.force_login(regency_admin)
    assert web.get("/dashboard/export/agen%00cies.csv").status_code == 400


@pytest.mark.django_db
def test_year_0001_consent_date_is_refused_on_every_way_in(regency_admin, agency, api):
    from sponsorship.dashboard.selectors import admin_scope
    from sponsorship.dashboard.services import imports

    from ..dashboard.conftest import csv_bytes
    from ..dashboard.test_imports import WORKER_HEADER

    nik = factories.make_nik()
    row = [1, nik, "Sri", "petani", "", "", "35.02.17.1001", "", "", "", "Tatap muka", "01/01/0001", "2026.1", ""]
    batch = imports.import_preview(
        actor=regency_admin,
        scope=admin_scope(regency_admin),
        kind="workers",
        file_name="w.csv",
        content=csv_bytes([WORKER_HEADER, row]),
    )
    assert [p["column"] for p in batch.problems] == ["Tanggal Persetujuan"]
    r = api(regency_admin).post(
        "/api/v1/workers/",
        {
            "nik": factories.make_nik(),
            "full_name": "Sri",
            "occupation": "petani",
            "village": "35.02.17.1001",
            "consent": {"channel": "paper", "text_version": "2026.1", "collected_at": "0001-01-01T00:00:00"},
        },
        format="json",
    )
    body = _assert_clear_4xx(r)
    assert "consent.collected_at" in body["extra"]["fields"]


@pytest.mark.django_db
def test_a_200_character_name_fails_at_the_preview_not_at_confirm(regency_admin, agency):
    from sponsorship.dashboard.selectors import admin_scope
    from sponsorship.dashboard.services import imports

    from ..dashboard.conftest import csv_bytes
    from ..dashboard.test_imports import WORKER_HEADER

    row = [
        1,
        factories.make_nik(),
        "A" * 200,
        "petani",
        "",
        "",
        "35.02.17.1001",
        "",
        "",
        "",
        "Tatap muka",
        "01/01/2026",
    ]
    batch = imports.import_preview(
        actor=regency_admin,
        scope=admin_scope(regency_admin),
        kind="workers",
        file_name="w.csv",
        content=csv_bytes([WORKER_HEADER, row + ["2026.1", ""]]),
    )
    assert [p["column"] for p in batch.problems] == ["Nama Lengkap"]
    assert "150" in batch.problems[0]["problem"]
