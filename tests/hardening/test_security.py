"""Settings and authentication: deploy checks, env-only secrets, JWT lifetimes/rotation, brute force, Redis down."""

import base64
import os
import secrets
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from rest_framework.test import APIClient

from sponsorship.core.models import AuditLog
from sponsorship.people.models import Role
from tests import factories

ROOT = Path(__file__).resolve().parents[2]
PROD_ENV = {
    "DJANGO_SETTINGS_MODULE": "backend.settings.production",
    "SECRET_KEY": secrets.token_urlsafe(64),
    "PII_HASH_KEY": secrets.token_urlsafe(32),
    # A fresh key: production refuses the published dev/test keys (tests/hardening/test_production_settings.py).
    "PII_ENCRYPTION_KEYS": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    "ALLOWED_HOSTS": "pengampu.ponorogokab.go.id",
    "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pengampu"),
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "MIDTRANS_ORDER_PREFIX": "PGU-PONOROGO",
    # Production refuses to start without a real channel for worker sign-in codes (tests/people/test_signin_codes.py).
    "WHATSAPP_PROVIDER": "meta",
    "WHATSAPP_PHONE_NUMBER_ID": "100000000000001",
    "WHATSAPP_ACCESS_TOKEN": "token",
    "WHATSAPP_APP_SECRET": "secret",
    "TRUSTED_PROXY_COUNT": "1",
    # /metrics is on by default and production refuses it without a token (tests/ops/test_observability.py).
    "METRICS_TOKEN": secrets.token_urlsafe(32),
}


def _manage(*args, env):
    clean = {k: v for k, v in os.environ.items() if k not in PROD_ENV and not k.startswith(("PII_", "SECRET"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PROD_ENV)
    # drf_spectacular.* (schema warnings) are tracked by tests/backend/test_api_basics.py and
    # tests/hardening/test_fuzz_api.py::test_every_api_route_is_in_the_schema, not here.
    issues = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if line.startswith("?:") or "(security." in line or "(django" in line
    ]
    issues = [line for line in issues if "drf_spectacular." not in line]
    assert not issues, "\n".join(issues)


@pytest.mark.parametrize("missing", ["SECRET_KEY", "PII_HASH_KEY", "PII_ENCRYPTION_KEYS"])
def test_production_refuses_to_start_without_each_secret(missing):
    env = {k: v for k, v in PROD_ENV.items() if k != missing}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and missing in result.stderr


def test_production_refuses_a_short_secret_key():
    result = _manage("check", env={**PROD_ENV, "SECRET_KEY": "short"})
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


def test_no_secret_literal_reaches_production_settings():
    """The dev/test fallbacks live only in dev.py/test.py; production.py and base.py hold no key material."""
    for name in ("base.py", "production.py"):
        text = (ROOT / "backend" / "settings" / name).read_text()
        for marker in ("dev-only", "test-only", "insecure"):
            assert marker not in text, f"{name} contains a '{marker}' secret"


# ---------- JWT ---------------------------------------------------------------------------------------------


def test_jwt_lifetimes_and_rotation_settings():
    jwt = django_settings.SIMPLE_JWT
    assert jwt["ACCESS_TOKEN_LIFETIME"] <= timedelta(minutes=15)
    assert jwt["REFRESH_TOKEN_LIFETIME"] <= timedelta(days=7)
    assert jwt["ROTATE_REFRESH_TOKENS"] and jwt["BLACKLIST_AFTER_ROTATION"]


@pytest.mark.django_db
def test_refresh_rotates_and_a_used_refresh_token_is_dead(regency):
    factories.make_user("budi.rotasi", Role.SPONSOR, password="secret-pass-123")
    client = APIClient()
    tokens = client.post(
        "/api/v1/auth/token/", {"username": "budi.rotasi", "password": "secret-pass-123"}, format="json"
    ).json()
    first = client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert first.status_code == 200 and first.json()["refresh"] != tokens["refresh"]
    replay = client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert replay.status_code == 401
    assert (
        client.post("/api/v1/auth/token/refresh/", {"refresh": first.json()["refresh"]}, format="json").status_code
        == 200
    )


@pytest.mark.django_db
def test_expired_access_token_is_refused(regency, settings):
    from rest_framework_simplejwt.tokens import AccessToken

    user = factories.make_user("budi.kadaluarsa", Role.SPONSOR)
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=-timedelta(seconds=1))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/v1/me/").status_code == 401


# ---------- brute force -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_login_locks_after_repeated_failures_per_username_and_ip(regency, settings):
    from django.core.cache import cache

    cache.clear()
    settings.LOGIN_LOCKOUT_ATTEMPTS = 5
    factories.make_user("siti.kunci", Role.SPONSOR, password="secret-pass-123")
    client = APIClient()
    for _ in range(5):
        assert (
            client.post(
                "/api/v1/auth/token/", {"username": "siti.kunci", "password": "salah"}, format="json"
            ).status_code
            == 401
        )
    locked = client.post(
        "/api/v1/auth/token/", {"username": "siti.kunci", "password": "secret-pass-123"}, format="json"
    )
    assert locked.status_code == 429
    assert "Terlalu banyak percobaan masuk" in locked.json()["message"] and locked["Retry-After"]
    english = client.post(
        "/api/v1/auth/token/", {"username": "siti.kunci", "password": "x"}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "Too many failed sign-in attempts" in english.json()["message"]
    assert AuditLog.objects.filter(action="auth.login_locked").count() == 1
    # Another IP for the same user is not locked out (an attacker cannot lock a real user out from afar).
    other_ip = client.post(
        "/api/v1/auth/token/",
        {"username": "siti.kunci", "password": "secret-pass-123"},
        format="json",
        REMOTE_ADDR="10.1.2.3",
    )
    assert other_ip.status_code == 200
    cache.clear()


@pytest.mark.django_db
def test_successful_login_resets_the_counter(regency, settings):
    from django.core.cache import cache

    cache.clear()
    factories.make_user("andi.reset", Role.SPONSOR, password="secret-pass-123")
    client = APIClient()
    for _ in range(4):
        client.post("/api/v1/auth/token/", {"username": "andi.reset", "password": "salah"}, format="json")
    assert (
        client.post(
            "/api/v1/auth/token/", {"username": "andi.reset", "password": "secret-pass-123"}, format="json"
        ).status_code
        == 200
    )
    for _ in range(4):
        assert (
            client.post(
                "/api/v1/auth/token/", {"username": "andi.reset", "password": "salah"}, format="json"
            ).status_code
            == 401
        )
    cache.clear()


# ---------- Redis down --------------------------------------------------------------------------------------

DEAD_REDIS = {
    "default": {
        "BACKEND": "backend.cache.DegradingRedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    }
}


@pytest.fixture
def redis_down(settings):
    """CACHES points at a closed port (the setting_changed signal resets the cache handlers; DRF's throttles
    use the `cache` proxy, so they follow)."""
    settings.CACHES = DEAD_REDIS
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "anon": "5/min",
            "user": "5/min",
        },
    }
    yield


@pytest.mark.django_db
def test_api_keeps_answering_when_redis_is_down(regency, redis_down):
    """Throttling, login lockout and cached reads all touch the cache: none may turn a Redis outage into a 500."""
    factories.make_user("redis.down", Role.SPONSOR, password="secret-pass-123")
    client = APIClient()
    login = client.post("/api/v1/auth/token/", {"username": "redis.down", "password": "secret-pass-123"}, format="json")
    assert login.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {login.json()['access']}")
    for path in ("/api/v1/me/", "/api/v1/regions/?level=2", "/api/v1/occupations/"):
        assert client.get(path).status_code == 200, path
    health = APIClient().get("/healthz")
    assert health.status_code == 503 and health.json()["checks"]["cache"]["ok"] is False
    assert health.json()["checks"]["database"]["ok"] is True


@pytest.mark.django_db
def test_real_redis_cache_round_trip(settings):
    """With Redis up the same backend is a normal cache (so the degrading wrapper hides nothing)."""
    url = os.environ.get("REDIS_TEST_URL")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true requires REDIS_TEST_URL")
        pytest.skip("REDIS_TEST_URL not set")
    from backend.cache import DegradingRedisCache

    cache = DegradingRedisCache(url, {})
    cache.set("hardening-probe", 41, 5)
    assert cache.get("hardening-probe") == 41
    assert cache.incr("hardening-probe") == 42
