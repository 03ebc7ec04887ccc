"""Fixtures for push tests: a fake FCM over real HTTP and a loopback-only socket guard.

No Django needed. Run on a bare checkout with
`python -m pytest -p no:django tests/notifications`.
"""

from __future__ import annotations

import ipaddress
import itertools
import socket
import threading

import pytest

from simulators.fcm import FakeFCM

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


def _is_loopback(host) -> bool:
    if host is None:
        return True  # getaddrinfo(None, port) = local wildcard
    if isinstance(host, bytes):
        host = host.decode()
    host = str(host).strip("[]")
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


class SocketGuard:
    """Refuses (and records) every lookup or connection to a non-loopback host.

    Recording matters as much as refusing: the SDK turns a refused connection
    into an UnavailableError, and google-auth runs some lookups in background
    threads, so a raise alone could go unnoticed.
    """

    def __init__(self) -> None:
        self.violations: list[str] = []
        self._lock = threading.Lock()

    def check(self, host, what: str) -> None:
        if _is_loopback(host):
            return
        with self._lock:
            self.violations.append(f"{what} {host}")
        raise OSError(f"socket guard: non-loopback {what} to {host!r} blocked in tests")

    def take(self) -> list[str]:
        with self._lock:
            taken, self.violations = self.violations, []
        return taken


@pytest.fixture(scope="session", autouse=True)
def socket_guard():
    """Session-wide: patches socket.getaddrinfo, create_connection and socket.connect."""
    guard = SocketGuard()
    real_getaddrinfo = socket.getaddrinfo
    real_create_connection = socket.create_connection
    real_connect = socket.socket.connect

    def getaddrinfo(host, *args, **kwargs):
        guard.check(host, "getaddrinfo")
        return real_getaddrinfo(host, *args, **kwargs)

    def create_connection(address, *args, **kwargs):
        guard.check(address[0], "create_connection")
        return real_create_connection(address, *args, **kwargs)

    def connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            guard.check(address[0], "connect")
        return real_connect(sock, address)

    mp = pytest.MonkeyPatch()
    mp.setattr(socket, "getaddrinfo", getaddrinfo)
    mp.setattr(socket, "create_connection", create_connection)
    mp.setattr(socket.socket, "connect", connect)
    yield guard
    mp.undo()
    assert not guard.violations, f"non-loopback connections attempted: {guard.violations}"


@pytest.fixture(autouse=True)
def no_external_network(socket_guard):
    """Fails any test during which a non-loopback connection was attempted."""
    socket_guard.take()
    yield socket_guard
    leaked = socket_guard.take()
    assert not leaked, f"non-loopback connections attempted: {leaked}"


@pytest.fixture(scope="session")
def fake_fcm_server():
    with FakeFCM() as fake:
        yield fake


@pytest.fixture
def fake_fcm(fake_fcm_server):
    """The session's fake FCM, with recordings and injected errors cleared."""
    fake_fcm_server.reset()
    yield fake_fcm_server
    fake_fcm_server.reset()


_app_numbers = itertools.count(1)


@pytest.fixture
def make_fcm_provider(fake_fcm):
    """Factory: FCMProvider pointed at the fake, each with its own firebase App.

    Test defaults: no SDK retries on 500/503 (the SDK's 4 would cost ~7 s per
    case) and a safety-valve threshold of 2.
    """
    from notifications.providers.fcm import FCMProvider, close_app

    names = []

    def make(**options):
        options.setdefault("app_name", f"test-push-{next(_app_numbers)}")
        options.setdefault("service_account", fake_fcm.service_account)
        options.setdefault("base_url", fake_fcm.base_url)
        options.setdefault("http_status_retries", 0)
        options.setdefault("sender_mismatch_min_batch", 2)
        options.setdefault("http_timeout", 10.0)
        names.append(options["app_name"])
        return FCMProvider(**options)

    yield make
    for name in names:
        close_app(name)


@pytest.fixture
def fcm_settings(settings, fake_fcm):
    """PUSH_PROVIDER=fcm pointed at the fake, as production would be configured (minus the URL).

    Django settings, so this needs pytest-django (test_sending.py and tests/hardening/test_faults.py use it).
    """
    import json

    from notifications.providers.fcm import close_app

    name = f"notif-test-{id(settings)}"
    settings.PUSH_PROVIDER = "fcm"
    settings.FCM_SERVICE_ACCOUNT = json.dumps(fake_fcm.service_account)
    settings.FCM_BASE_URL = fake_fcm.base_url
    settings.FCM_APP_NAME = name
    settings.FCM_HTTP_STATUS_RETRIES = 0
    settings.FCM_SENDER_MISMATCH_MIN_BATCH = 2
    yield fake_fcm
    close_app(name)


@pytest.fixture
def fcm_provider(make_fcm_provider):
    return make_fcm_provider()


from tests.channel_fixtures import (  # noqa: E402,F401  (fixtures)
    channel_settings,
    fake_twilio,
    fake_twilio_server,
    fake_whatsapp,
    fake_whatsapp_server,
)
