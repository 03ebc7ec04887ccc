"""The client IP behind (or without) proxies: X-Forwarded-For resets no throttle, a proxy does not merge clients.

backend/client_ip.py: the header is believed only as far as TRUSTED_PROXY_COUNT / TRUSTED_PROXY_CIDRS say.
"""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from backend.client_ip import client_ip_from
from sponsorship.people.models import Role
from tests import factories

from .test_security import PROD_ENV, _manage


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def test_without_a_trusted_proxy_setting_the_header_is_ignored(settings):
    settings.TRUSTED_PROXY_COUNT, settings.TRUSTED_PROXY_CIDRS = 0, []
    assert client_ip_from("203.0.113.9", "1.2.3.4") == "203.0.113.9"


def test_a_proxy_count_takes_the_address_the_outermost_proxy_saw(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    # The client wrote "1.2.3.4" itself; our one proxy appended the address it saw.
    assert client_ip_from("10.0.0.2", "1.2.3.4, 198.51.100.7") == "198.51.100.7"
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_ip_from("10.0.0.2", "1.2.3.4, 198.51.100.7, 10.0.0.1") == "198.51.100.7"
    # A shorter chain than promised, or garbage where the client should be: the peer's address, not the garbage.
    assert client_ip_from("10.0.0.2", "198.51.100.7") == "198.51.100.7"
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip_from("10.0.0.2", "1.2.3.4, not-an-ip") == "10.0.0.2"


def test_trusted_networks_are_walked_from_the_right(settings):
    settings.TRUSTED_PROXY_COUNT, settings.TRUSTED_PROXY_CIDRS = 0, ["10.0.0.0/8", "fd00::/8"]
    assert client_ip_from("10.0.0.2", "1.2.3.4, 198.51.100.7, 10.9.9.9") == "198.51.100.7"
    assert client_ip_from("203.0.113.9", "1.2.3.4") == "203.0.113.9"  # the peer is no proxy of ours
    assert client_ip_from("10.0.0.2", "junk, 10.0.0.3") == "10.0.0.3"


@pytest.mark.django_db
def test_a_new_forwarded_for_per_request_does_not_reset_the_throttle(settings):
    """Before: DRF keyed the throttle on X-Forwarded-For when NUM_PROXIES was unset; one header per try."""
    settings.TRUSTED_PROXY_COUNT, settings.TRUSTED_PROXY_CIDRS = 0, []
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "worker_auth": "3/hour"},
    }
    client = APIClient()
    codes = [
        client.post(
            "/api/v1/worker/auth/",
            {"nik": "", "birth_date": ""},
            format="json",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{i}",
        ).status_code
        for i in range(5)
    ]
    assert codes[:3] != [429] * 3 and codes[3:] == [429, 429], codes


@pytest.mark.django_db
def test_behind_a_proxy_one_client_cannot_lock_out_another(regency, settings):
    """Before: REMOTE_ADDR was the proxy's for everyone, so the lockout (username + IP) was per username."""
    settings.TRUSTED_PROXY_COUNT = 1
    settings.LOGIN_LOCKOUT_ATTEMPTS = 3
    factories.make_user("siti.proxy", Role.SPONSOR, password="secret-pass-123")
    client = APIClient()
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for _ in range(4):
        client.post(
            "/api/v1/auth/token/",
            {"username": "siti.proxy", "password": "salah"},
            format="json",
            HTTP_X_FORWARDED_FOR="198.51.100.66",
            **proxy,
        )
    attacker = client.post(
        "/api/v1/auth/token/",
        {"username": "siti.proxy", "password": "secret-pass-123"},
        format="json",
        HTTP_X_FORWARDED_FOR="198.51.100.66",
        **proxy,
    )
    assert attacker.status_code == 429
    # The attacker cannot escape the lockout by writing another address in front of the proxy's...
    spoofed = client.post(
        "/api/v1/auth/token/",
        {"username": "siti.proxy", "password": "secret-pass-123"},
        format="json",
        HTTP_X_FORWARDED_FOR="203.0.113.1, 198.51.100.66",
        **proxy,
    )
    assert spoofed.status_code == 429
    # ...and the real user, behind the same proxy from elsewhere, signs in.
    owner = client.post(
        "/api/v1/auth/token/",
        {"username": "siti.proxy", "password": "secret-pass-123"},
        format="json",
        HTTP_X_FORWARDED_FOR="192.0.2.10",
        **proxy,
    )
    assert owner.status_code == 200, owner.content


def test_deploy_check_refuses_a_proxy_header_without_a_trusted_proxy_setting():
    env = {k: v for k, v in PROD_ENV.items() if not k.startswith("TRUSTED_PROXY")}
    result = _manage("check", "--deploy", env=env)
    assert result.returncode != 0
    # production.py refuses first (ImproperlyConfigured); the deploy check E001 guards any other settings module
    # that trusts a proxy header
    out = result.stderr + result.stdout
    assert "pengampu.E001" in out or ("ImproperlyConfigured" in out and "TRUSTED_PROXY_COUNT" in out), out[-2000:]
    ok = _manage("check", "--deploy", env={**env, "TRUSTED_PROXY_CIDRS": "10.0.0.0/8"})
    assert "pengampu.E001" not in ok.stderr + ok.stdout


def test_the_deploy_check_itself_flags_a_proxy_header_without_a_trusted_proxy(settings):
    from backend.checks import trusted_proxy_check

    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.TRUSTED_PROXY_COUNT, settings.TRUSTED_PROXY_CIDRS = 0, []
    assert [e.id for e in trusted_proxy_check()] == ["pengampu.E001"]
    settings.TRUSTED_PROXY_COUNT = 1
    assert trusted_proxy_check() == []
