"""The FCM provider through the real firebase-admin client, over HTTP, against the fake."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
import requests
from firebase_admin import messaging

from notifications.providers import (
    ConsoleProvider,
    PushMessage,
    PushProvider,
    PushResult,
    get_provider,
)
from notifications.providers import fcm as fcm_module
from simulators.fcm import INVALID_TOKEN_MESSAGE, make_service_account

REPO_ROOT = Path(__file__).resolve().parents[2]


def reminder(token: str, **kwargs) -> PushMessage:
    fields = dict(
        token=token,
        title="Pengingat pembayaran iuran",
        body="Iuran jaminan sosial untuk 3 pekerja sebesar Rp1.250.000 jatuh tempo 10 Juli 2025.",
        data={"type": "payment_reminder", "invoice_id": "42"},
        collapse_key="tagihan-42",
    )
    fields.update(kwargs)
    return PushMessage(**fields)


# -- success path ------------------------------------------------------------------
def test_sends_indonesian_text_with_collapse_key_ttl_and_apns_headers(fake_fcm, fcm_provider):
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    push = reminder(
        "tok-ok-1",
        ttl_seconds=86400,
        expires_at=expires,
        channel_id="pembayaran",
        data={"invoice_id": 42, "type": "payment_reminder"},
    )  # int coerced

    [result] = fcm_provider.send([push])

    [record] = fake_fcm.sends()
    assert result == PushResult("tok-ok-1", "sent", message_id=record.message_name)
    msg = record.message
    assert msg["token"] == "tok-ok-1"
    assert msg["notification"] == {"title": push.title, "body": push.body}
    assert msg["data"] == {"invoice_id": "42", "type": "payment_reminder"}
    assert msg["android"] == {
        "collapse_key": "tagihan-42",
        "priority": "normal",
        "ttl": "86400s",
        "notification": {"tag": "tagihan-42", "channel_id": "pembayaran"},
    }
    assert msg["apns"]["headers"] == {
        "apns-collapse-id": "tagihan-42",
        "apns-expiration": str(int(expires.timestamp())),
        "apns-priority": "5",
    }
    # The real OAuth JWT-bearer exchange happened once; aud is Google's, not the fake's.
    [claims] = fake_fcm.token_requests()
    assert claims["iss"] == fake_fcm.service_account["client_email"]
    assert claims["aud"] == "https://oauth2.googleapis.com/token"
    assert fake_fcm.rejected_auth == 0


def test_ttl_is_clamped_and_apns_collapse_id_fits_64_bytes(fake_fcm, fcm_provider):
    now = datetime.now(UTC)
    long_key = "tagihan-" + "é" * 60  # 128 bytes in UTF-8
    results = fcm_provider.send(
        [
            reminder("tok-long", ttl_seconds=60 * 24 * 3600, collapse_key=long_key),
            reminder("tok-past", expires_at=now - timedelta(hours=1)),
            reminder("tok-derived", expires_at=now + timedelta(hours=2)),
            reminder("tok-none", collapse_key=None),
        ]
    )
    assert [r.outcome for r in results] == ["sent"] * 4
    by_token = {r.target: r.message for r in fake_fcm.sends()}

    long_msg = by_token["tok-long"]
    assert long_msg["android"]["ttl"] == "2419200s"  # 28 days
    collapse_id = long_msg["apns"]["headers"]["apns-collapse-id"]
    assert len(collapse_id.encode()) <= 64 and long_key.startswith(collapse_id)

    assert by_token["tok-past"]["android"]["ttl"] == "0s"
    assert by_token["tok-past"]["apns"]["headers"]["apns-expiration"] == "0"
    derived_ttl = int(by_token["tok-derived"]["android"]["ttl"].rstrip("s"))
    assert 7100 <= derived_ttl <= 7200

    none = by_token["tok-none"]
    assert "ttl" not in none["android"] and "collapse_key" not in none["android"]
    assert none["apns"]["headers"] == {"apns-priority": "5"}


def test_fid_targets_and_high_priority(fake_fcm, fcm_provider):
    [result] = fcm_provider.send([reminder("fid-abc", kind="fid", priority="high")])
    assert result.outcome == "sent"
    [record] = fake_fcm.sends()
    assert record.message["fid"] == "fid-abc" and "token" not in record.message
    assert record.message["android"]["priority"] == "high"
    assert record.message["apns"]["headers"]["apns-priority"] == "10"


def test_empty_send_makes_no_request(fake_fcm, fcm_provider):
    assert fcm_provider.send([]) == []
    assert fake_fcm.attempts() == []


def test_provider_satisfies_the_protocol(fcm_provider):
    assert isinstance(fcm_provider, PushProvider)
    assert isinstance(ConsoleProvider(io.StringIO()), PushProvider)


# -- dead tokens ---------------------------------------------------------------------
def test_unregistered_token_is_deactivated(fake_fcm, fcm_provider):
    fake_fcm.set_token_error("tok-dead", "UNREGISTERED")
    ok, dead = fcm_provider.send([reminder("tok-ok"), reminder("tok-dead")])
    assert ok.outcome == "sent"
    assert (dead.outcome, dead.error_code) == ("deactivate", "UNREGISTERED")
    assert len(fake_fcm.attempts("tok-dead")) == 1


def test_invalid_registration_token_400_is_deactivated(fake_fcm, fcm_provider):
    fake_fcm.set_token_error("garbage", "INVALID_ARGUMENT")  # default message: invalid token
    [result] = fcm_provider.send([reminder("garbage")])
    assert result.outcome == "deactivate"
    assert result.error_code == "INVALID_ARGUMENT"
    assert INVALID_TOKEN_MESSAGE in result.error_message


def test_other_400_is_failed_not_deactivated(fake_fcm, fcm_provider):
    fake_fcm.set_token_error(
        "tok-ok",
        "INVALID_ARGUMENT",
        message="Invalid value at 'message.data[0].value' (TYPE_STRING), 42",
    )
    [result] = fcm_provider.send([reminder("tok-ok")])
    assert (result.outcome, result.error_code) == ("failed", "INVALID_ARGUMENT")


def test_sender_id_mismatch_for_one_token_is_deactivated(fake_fcm, fcm_provider):
    fake_fcm.set_token_error("tok-other-project", "SENDER_ID_MISMATCH")
    results = fcm_provider.send([reminder("tok-a"), reminder("tok-other-project"), reminder("tok-b")])
    assert [r.outcome for r in results] == ["sent", "deactivate", "sent"]
    assert results[1].error_code == "SENDER_ID_MISMATCH"


def test_sender_id_mismatch_for_whole_batch_trips_the_safety_valve(fake_fcm, fcm_provider, caplog):
    fake_fcm.set_global_error("SENDER_ID_MISMATCH")
    with caplog.at_level(logging.CRITICAL, logger="notifications.providers.fcm"):
        results = fcm_provider.send([reminder(f"tok-{i}") for i in range(3)])
    assert {(r.outcome, r.error_code) for r in results} == {("failed", "SENDER_ID_MISMATCH_ALL")}
    assert any(rec.levelno == logging.CRITICAL for rec in caplog.records)


def test_safety_valve_needs_the_minimum_batch(fake_fcm, make_fcm_provider):
    provider = make_fcm_provider(sender_mismatch_min_batch=20)
    fake_fcm.set_global_error("SENDER_ID_MISMATCH")
    results = provider.send([reminder(f"tok-{i}") for i in range(3)])
    assert {r.outcome for r in results} == {"deactivate"}


# -- retryable -------------------------------------------------------------------------
def test_quota_exceeded_with_retry_after_is_retry_without_blocking(fake_fcm, fcm_provider):
    fake_fcm.set_token_error("tok-q", "QUOTA_EXCEEDED", headers={"Retry-After": "7"})
    started = time.monotonic()
    [result] = fcm_provider.send([reminder("tok-q")])
    assert (result.outcome, result.error_code) == ("retry", "QUOTA_EXCEEDED")
    assert result.retry_after_seconds == 7.0
    # Provider default: the SDK does not sleep on Retry-After; the outbox re-queues.
    assert len(fake_fcm.attempts("tok-q")) == 1
    assert time.monotonic() - started < 2


def test_sdk_style_retry_after_blocks_inside_the_sdk(fake_fcm, make_fcm_provider):
    """With respect_retry_after=True (firebase-admin's own default) urllib3 sleeps
    Retry-After and retries 429 in the worker thread. Measured with the SDK's
    4 status retries and Retry-After: 1 -> 5 attempts, 4.2 s; with the provider
    default (False) -> 1 attempt, immediate. Here 1 retry keeps it at ~1 s."""
    provider = make_fcm_provider(respect_retry_after=True, http_status_retries=1)
    fake_fcm.set_token_error("tok-q", "QUOTA_EXCEEDED", headers={"Retry-After": "1"})
    started = time.monotonic()
    [result] = provider.send([reminder("tok-q")])
    assert result.outcome == "retry" and result.retry_after_seconds == 1.0
    assert len(fake_fcm.attempts("tok-q")) == 2
    assert time.monotonic() - started >= 1.0


def test_retry_after_http_date_is_parsed():
    class Response:
        headers = {"Retry-After": format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)}

    class Exc(Exception):
        http_response = Response()

    assert 85 <= fcm_module.retry_after_seconds(Exc()) <= 90


@pytest.mark.parametrize("code", ["UNAVAILABLE", "INTERNAL"])
def test_5xx_is_retry(fake_fcm, fcm_provider, code):
    fake_fcm.set_token_error("tok-5xx", code, headers={"Retry-After": "30"})
    [result] = fcm_provider.send([reminder("tok-5xx")])
    assert (result.outcome, result.error_code) == ("retry", code)
    assert result.retry_after_seconds == 30.0


def test_sdk_retries_503_then_succeeds(fake_fcm, make_fcm_provider):
    provider = make_fcm_provider(http_status_retries=1)
    fake_fcm.fail_next(1, "UNAVAILABLE")
    [result] = provider.send([reminder("tok-flaky")])
    assert result.outcome == "sent"
    assert [a.status for a in fake_fcm.attempts("tok-flaky")] == [503, 200]


def test_connection_refused_is_retry(fake_fcm):
    from notifications.providers.fcm import FCMProvider, close_app

    with socket_free_port() as port:
        provider = FCMProvider(
            app_name="test-push-refused",
            service_account=fake_fcm.service_account,
            base_url=f"http://127.0.0.1:{port}",
            http_status_retries=0,
        )
        try:
            [result] = provider.send([reminder("tok-x")])
        finally:
            close_app("test-push-refused")
    assert (result.outcome, result.error_code) == ("retry", "UNAVAILABLE")


def test_third_party_auth_error_is_failed_not_deactivated(fake_fcm, fcm_provider):
    fake_fcm.set_token_error("tok-ios", "THIRD_PARTY_AUTH_ERROR")
    [result] = fcm_provider.send([reminder("tok-ios")])
    assert (result.outcome, result.error_code) == ("failed", "THIRD_PARTY_AUTH_ERROR")
    # google-auth treats 401 as an expired token: 2 refreshes + retries (measured).
    assert len(fake_fcm.attempts("tok-ios")) == 3


def test_locally_invalid_message_fails_alone(fake_fcm, fcm_provider):
    results = fcm_provider.send([reminder("tok-1"), reminder("tok-2", priority="urgent"), reminder("tok-3")])
    assert [r.outcome for r in results] == ["sent", "failed", "sent"]
    assert results[1].error_code == "INVALID_MESSAGE"
    assert {r.target for r in fake_fcm.sends()} == {"tok-1", "tok-3"}


# -- fan-out ------------------------------------------------------------------------------
def test_1200_messages_go_out_in_chunks_of_at_most_500(fake_fcm, fcm_provider, monkeypatch):
    sizes = []
    real_send_each = messaging.send_each

    def spy(messages, *args, **kwargs):
        sizes.append(len(messages))
        return real_send_each(messages, *args, **kwargs)

    monkeypatch.setattr(messaging, "send_each", spy)
    pushes = [reminder(f"tok-{i:04d}", collapse_key=f"status-{i}") for i in range(1200)]
    fake_fcm.set_token_error("tok-0777", "UNREGISTERED")

    results = fcm_provider.send(pushes)

    assert sorted(sizes) == [200, 500, 500]
    assert [r.token for r in results] == [p.token for p in pushes]  # input order kept
    assert sum(r.outcome == "sent" for r in results) == 1199
    assert results[777].outcome == "deactivate"
    assert len(fake_fcm.attempts()) == 1200
    assert len({r.message_id for r in results if r.message_id}) == 1199
    assert len(fake_fcm.token_requests()) == 1  # token fetched once, not per thread


def test_fail_next_mode_recovers(fake_fcm, make_fcm_provider):
    provider = make_fcm_provider(chunk_size=1, max_concurrency=1)
    fake_fcm.fail_next(2, "UNAVAILABLE")
    results = provider.send([reminder(f"tok-{i}") for i in range(4)])
    assert [r.outcome for r in results] == ["retry", "retry", "sent", "sent"]


# -- overrides and the socket guard ------------------------------------------------------
def test_overrides_point_every_request_at_the_fake(fake_fcm, fcm_provider):
    fcm_provider.send([reminder("tok-1")])
    svc = messaging._get_messaging_service(fcm_provider.app)
    assert svc._fcm_url.startswith(fake_fcm.base_url + "/")
    credential = fcm_provider.app.credential.get_credential()
    assert credential._is_regional_access_boundary_lookup_required() is False
    # the class attribute is restored for other apps
    assert messaging._MessagingService.FCM_URL.startswith("https://fcm.googleapis.com/")


def test_socket_guard_trips_when_the_fcm_url_override_is_missing(fake_fcm, socket_guard):
    from notifications.providers.fcm import FCMProvider, close_app

    provider = FCMProvider(
        app_name="test-push-no-override", service_account=fake_fcm.service_account, base_url=None, http_status_retries=0
    )
    try:
        [result] = provider.send([reminder("tok-1")])
    finally:
        close_app("test-push-no-override")
    blocked = socket_guard.take()
    assert any("fcm.googleapis.com" in v for v in blocked), blocked
    assert result.outcome == "retry"  # refused connection looks like an outage to the SDK
    assert fake_fcm.attempts() == []


def test_socket_guard_trips_on_the_default_token_uri(socket_guard):
    from notifications.providers.fcm import FCMProvider, close_app

    sa, _ = make_service_account("https://oauth2.googleapis.com/token")
    provider = FCMProvider(app_name="test-push-google-oauth", service_account=sa, base_url="http://127.0.0.1:9")
    try:
        [result] = provider.send([reminder("tok-1")])
    finally:
        close_app("test-push-google-oauth")
    assert any("oauth2.googleapis.com" in v for v in socket_guard.take())
    assert result.outcome == "retry"


def test_override_that_does_not_take_fails_loudly(fake_fcm, monkeypatch):
    from notifications.providers.fcm import FCMProvider

    real = messaging._get_messaging_service

    def sdk_renamed_the_attribute(app):
        monkeypatch.setattr(
            messaging._MessagingService, "FCM_URL", "https://fcm.googleapis.com/v1/projects/{0}/messages:send"
        )
        return real(app)

    monkeypatch.setattr(messaging, "_get_messaging_service", sdk_renamed_the_attribute)
    provider = FCMProvider(
        app_name="test-push-renamed", service_account=fake_fcm.service_account, base_url=fake_fcm.base_url
    )
    with pytest.raises(RuntimeError, match="override did not take"):
        provider.app
    import firebase_admin

    with pytest.raises(ValueError):
        firebase_admin.get_app("test-push-renamed")  # not left half-configured


# -- the fake itself -------------------------------------------------------------------------
def test_fake_rejects_tokens_it_did_not_issue(fake_fcm):
    resp = requests.post(
        fake_fcm.fcm_url_template.format(fake_fcm.project_id),
        json={"message": {"token": "t"}},
        headers={"Authorization": "Bearer ya29.forged"},
        timeout=10,
    )
    assert resp.status_code == 401 and fake_fcm.rejected_auth == 1


def test_fake_rejects_assertions_signed_by_another_key(fake_fcm):
    from google.auth import exceptions as auth_exceptions
    from google.auth.transport.requests import Request
    from google.oauth2 import service_account

    other, _ = make_service_account(fake_fcm.token_uri)
    creds = service_account.Credentials.from_service_account_info(
        other, scopes=["https://www.googleapis.com/auth/firebase.messaging"]
    )
    creds._is_regional_access_boundary_lookup_required = lambda: False
    with pytest.raises(auth_exceptions.RefreshError, match="invalid_grant"):
        creds.refresh(Request())


def test_fake_runs_as_a_module():
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulators.fcm", "--port", "0", "--json"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        info = json.loads(proc.stdout.readline())
        assert json.loads(Path(info["service_account_file"]).read_text())["token_uri"] == info["token_uri"]
        assert requests.get(info["base_url"] + "/__fake/stats", timeout=10).json()["attempts"] == 0
        _wait_for_sigterm_handler(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert not Path(info["service_account_file"]).exists()


def _wait_for_sigterm_handler(pid: int, timeout: float = 10.0) -> None:
    """The fake prints its JSON line before it installs its SIGTERM handler (which removes the
    service-account file); on a loaded machine a SIGTERM in between killed it with the default
    action and left the file behind. Wait until the kernel lists SIGTERM as caught (Linux)."""
    status = Path(f"/proc/{pid}/status")
    if not status.exists():
        time.sleep(0.5)
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        caught = next((line.split()[1] for line in status.read_text().splitlines() if line.startswith("SigCgt:")), "0")
        if int(caught, 16) & (1 << (15 - 1)):  # bit n-1 for signal n; SIGTERM = 15
            return
        time.sleep(0.01)


# -- factory and console -------------------------------------------------------------------------
def test_get_provider_defaults_to_console(monkeypatch):
    monkeypatch.delenv("PUSH_PROVIDER", raising=False)
    assert isinstance(get_provider(), ConsoleProvider)


def test_get_provider_builds_fcm_from_plain_config(fake_fcm, monkeypatch):
    from notifications.providers.fcm import FCMProvider, close_app

    monkeypatch.setenv("FCM_CHUNK_SIZE", "250")  # env strings are converted
    provider = get_provider(
        {
            "PUSH_PROVIDER": "fcm",
            "FCM_SERVICE_ACCOUNT": json.dumps(fake_fcm.service_account),  # JSON text accepted
            "FCM_BASE_URL": fake_fcm.base_url,
            "FCM_APP_NAME": "test-push-factory",
            "FCM_RESPECT_RETRY_AFTER": "false",
        }
    )
    try:
        assert isinstance(provider, FCMProvider)
        assert provider.options.chunk_size == 250
        assert provider.options.respect_retry_after is False
        assert provider.send([reminder("tok-1")])[0].outcome == "sent"
    finally:
        close_app("test-push-factory")


def test_get_provider_rejects_unknown_names():
    with pytest.raises(ValueError, match="PUSH_PROVIDER"):
        get_provider(PUSH_PROVIDER="sms")


def test_console_provider_prints_a_readable_block():
    out = io.StringIO()
    results = ConsoleProvider(out).send([reminder("abcdefghijklmnopqrstuvwxyz")])
    assert results[0].outcome == "sent" and results[0].message_id == "console/1"
    text = out.getvalue()
    assert "Pengingat pembayaran iuran" in text and "Rp1.250.000" in text
    assert "abcdefghijkl…" in text and "abcdefghijklm" not in text


class socket_free_port:
    """A loopback port with nothing listening (bound, then closed)."""

    def __enter__(self) -> int:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    def __exit__(self, *exc) -> None:
        pass


def test_webpush_link_only_when_configured_and_only_https():
    from notifications.providers.fcm import FCMOptions

    [plain] = fcm_module.build_messages([reminder("tok-web")])
    assert plain.webpush.fcm_options is None  # no link: the app's service worker opens the inbox
    [linked] = fcm_module.build_messages([reminder("tok-web")], web_link="https://p.example/app/#/inbox")
    assert linked.webpush.fcm_options.link == "https://p.example/app/#/inbox"
    with pytest.raises(ValueError, match="https"):
        FCMOptions(web_link="http://p.example/app/")
