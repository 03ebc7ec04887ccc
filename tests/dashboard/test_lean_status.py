"""The worker status through the lean path (backend/lean.py) answers exactly as through the whole stack.

Each request is sent twice, LEAN_PATHS on and off, with the same client; status, body and the headers the
middleware stack would add must be equal, and the lean path must really have been taken.
"""

import datetime as dt

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.throttling import SimpleRateThrottle
from rest_framework_simplejwt.tokens import RefreshToken

from sponsorship.billing.api.worker_status import _after_accident
from tests import factories

from .test_money_views import history  # noqa: F401  (fixture)

STATUS = "/api/v1/worker/status/"
COMPARED_HEADERS = (
    "Content-Type",
    "Content-Language",
    "Vary",
    "Allow",
    "X-Frame-Options",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Cross-Origin-Opener-Policy",
    "Strict-Transport-Security",
    "WWW-Authenticate",
    "Content-Length",
    "Set-Cookie",
)


def bearer(user) -> str:
    return f"Bearer {RefreshToken.for_user(user).access_token}"


def both(settings, lean_calls, method="get", path=STATUS, **extra):
    """The same request through the lean path and through the whole stack: (lean, whole) responses."""
    out = []
    for lean in (True, False):
        settings.LEAN_PATHS = lean
        before = len(lean_calls)
        response = getattr(Client(), method)(path, **extra)
        assert (len(lean_calls) > before) == lean, f"lean path taken: {len(lean_calls) > before}, expected {lean}"
        out.append(response)
    settings.LEAN_PATHS = True
    return out


def assert_same(lean, whole):
    assert lean.status_code == whole.status_code, (lean.content, whole.content)
    assert lean.content == whole.content
    for name in COMPARED_HEADERS:
        assert lean.get(name) == whole.get(name), (name, lean.get(name), whole.get(name))


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["id", "en"])
def test_status_answer_and_headers_equal_whole_stack(history, settings, lean_calls, language):  # noqa: F811
    extra = {"HTTP_ACCEPT_LANGUAGE": language} if language == "en" else {}
    for worker in (history.wa[0], history.wb[0]):
        lean, whole = both(settings, lean_calls, HTTP_AUTHORIZATION=bearer(worker.user), **extra)
        assert lean.status_code == 200, lean.content
        assert_same(lean, whole)
        body = lean.json()
        assert lean["Content-Language"] == language and "Accept-Language" in lean["Vary"]
        assert lean["X-Content-Type-Options"] == "nosniff" and lean["X-Frame-Options"] == "DENY"
        assert int(lean["Content-Length"]) == len(lean.content)
        title = body["after_accident"]["title"]
        assert title == ("After a work accident" if language == "en" else "Jika terjadi kecelakaan kerja")
        assert body["state_label"] in (
            ("Protected", "Grace period: contribution unpaid", "Not enrolled yet", "Lapsed: membership ended")
            if language == "en"
            else (
                "Terlindungi",
                "Masa tenggang: iuran belum dibayar",
                "Belum terdaftar/belum ada iuran",
                "Tidak aktif: kepesertaan berhenti",
            )
        )


@pytest.mark.django_db
def test_status_is_still_one_query_through_the_lean_path(history, lean_calls):  # noqa: F811
    client = Client(HTTP_AUTHORIZATION=bearer(history.wa[0].user))
    client.get(STATUS)  # warm the declared-income and rate caches
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(STATUS).status_code == 200
    assert len(ctx.captured_queries) == 1 and len(lean_calls) == 2


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["id", "en"])
def test_status_auth_failures_equal_whole_stack(history, regency_admin, settings, lean_calls, language):  # noqa: F811
    extra = {"HTTP_ACCEPT_LANGUAGE": language}
    # a forged / expired token: 401 with the bilingual message and the WWW-Authenticate challenge
    lean, whole = both(settings, lean_calls, HTTP_AUTHORIZATION="Bearer not-a-token", **extra)
    assert lean.status_code == 401 and lean["WWW-Authenticate"].startswith("Bearer")
    assert_same(lean, whole)
    assert lean.json()["message"] == (
        "Authentication failed. Check your username, password or token."
        if language == "en"
        else "Autentikasi gagal. Periksa nama pengguna, kata sandi, atau token Anda."
    )
    # a sponsor's or an admin's token: 403
    for user in (history.a.user, regency_admin):
        lean, whole = both(settings, lean_calls, HTTP_AUTHORIZATION=bearer(user), **extra)
        assert lean.status_code == 403
        assert_same(lean, whole)
        assert lean.json()["message"] == (
            "You do not have permission to do this."
            if language == "en"
            else "Anda tidak memiliki izin untuk tindakan ini."
        )
    # a worker-role user without a worker row: 404
    orphan = factories.make_user(role="worker")
    lean, whole = both(settings, lean_calls, HTTP_AUTHORIZATION=bearer(orphan), **extra)
    assert lean.status_code == 404
    assert_same(lean, whole)
    # a deactivated worker's still-valid token: 401
    user = history.wb[0].user
    token = bearer(user)
    user.is_active = False
    user.save(update_fields=["is_active"])
    lean, whole = both(settings, lean_calls, HTTP_AUTHORIZATION=token, **extra)
    assert lean.status_code == 401
    assert_same(lean, whole)
    # a method the view does not have: 405 with Allow
    lean, whole = both(settings, lean_calls, method="post", HTTP_AUTHORIZATION=bearer(history.wa[0].user), **extra)
    assert lean.status_code == 405 and "GET" in lean["Allow"]
    assert_same(lean, whole)


@pytest.mark.django_db
def test_status_without_bearer_takes_the_whole_stack(history, settings, lean_calls):  # noqa: F811
    # No credentials: 401 from the whole stack (session authentication is consulted there).
    response = Client().get(STATUS)
    assert response.status_code == 401 and lean_calls == []
    # A browser session (no bearer token) keeps working: session + authentication middleware are needed.
    client = Client()
    client.force_login(history.wa[0].user)
    response = client.get(STATUS)
    assert response.status_code == 200 and lean_calls == []
    assert response.json()["worker"]["first_name"] == "Slamet"


@pytest.mark.django_db
def test_status_throttle_applies_on_the_lean_path(history, monkeypatch, lean_calls):  # noqa: F811
    cache.clear()
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, "user": "2/min"})
    client = Client(HTTP_AUTHORIZATION=bearer(history.wa[0].user), HTTP_ACCEPT_LANGUAGE="en")
    assert [client.get(STATUS).status_code for _ in range(2)] == [200, 200]
    third = client.get(STATUS)
    assert third.status_code == 429 and "Retry-After" in third
    assert third.json()["message"].startswith("Too many requests.")
    assert len(lean_calls) == 3
    # another worker has its own budget
    assert Client(HTTP_AUTHORIZATION=bearer(history.wb[0].user)).get(STATUS).status_code == 200
    cache.clear()


@pytest.mark.django_db
def test_hsts_and_https_redirect_still_apply_on_the_lean_path(history, settings, lean_calls):  # noqa: F811
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_SSL_REDIRECT = True
    token = bearer(history.wa[0].user)
    plain = Client().get(STATUS, HTTP_AUTHORIZATION=token)
    assert plain.status_code == 301 and plain["Location"].startswith("https://")
    secure = Client().get(STATUS, HTTP_AUTHORIZATION=token, secure=True)
    assert secure.status_code == 200 and secure["Strict-Transport-Security"].startswith("max-age=31536000")
    assert len(lean_calls) == 1  # the redirect is SecurityMiddleware's, in front of the lean path


def test_after_accident_block_is_built_once_per_language():
    from django.utils import translation

    with translation.override("en"):
        first = _after_accident("en")
        assert first is _after_accident("en") and first["title"] == "After a work accident"
    with translation.override("id"):
        assert _after_accident("id")["title"] == "Jika terjadi kecelakaan kerja"


@pytest.mark.django_db
def test_paid_at_is_jakarta_time_in_overview_and_invoice_detail(history, api):  # noqa: F811
    """Issue #4: the same paid_at, written the same way (ISO 8601, +07:00) in every answer."""
    invoice = history.inv2[history.a.pk]
    invoice.refresh_from_db()
    client = api(history.a.user)
    overview = client.get("/api/v1/sponsor/overview/").json()
    in_overview = next(p["paid_at"] for p in overview["payments"] if p["invoice_id"] == invoice.pk)
    detail = client.get(f"/api/v1/sponsor/invoices/{invoice.pk}/").json()["paid_at"]
    listed = next(
        i["paid_at"] for i in client.get("/api/v1/sponsor/invoices/").json()["results"] if i["id"] == invoice.pk
    )
    assert in_overview == detail == listed
    assert in_overview.endswith("+07:00")
    parsed = dt.datetime.fromisoformat(in_overview)
    assert parsed == invoice.paid_at and parsed.utcoffset() == dt.timedelta(hours=7)
    statement = client.get(f"/api/v1/sponsor/statements/{parsed.year}/").json()
    stated = [p["paid_at"] for p in statement["payments"] if p["number"] == invoice.number]
    assert stated == [detail]
