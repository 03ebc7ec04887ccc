"""Worker sign-in codes over WhatsApp (authentication template) or SMS; never in a log; production refuses the
console provider and a deployment without a delivery channel (issue 14.1)."""

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from sponsorship.core.models import AuditLog
from tests import factories
from tests.hardening.test_security import PROD_ENV

URL = "/api/v1/worker/auth/"
PHONE = "+6281234567890"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def worker(regency):
    return factories.make_worker(full_name="Sumarni Lestari", sex="F")


def request_code(client, worker, capture):
    with capture(execute=True):  # the code is sent after commit
        r = client.post(URL, {"nik": worker.nik, "birth_date": worker.birth_date.isoformat()}, format="json")
    assert r.status_code == 202, r.content
    return r.json()["challenge"]


@pytest.mark.django_db
def test_a_worker_signs_in_with_the_code_received_on_whatsapp(
    channel_settings, fake_whatsapp, worker, django_capture_on_commit_callbacks
):
    client = APIClient()
    challenge = request_code(client, worker, django_capture_on_commit_callbacks)
    (message,) = fake_whatsapp.inbox(PHONE)
    assert message.template == "pengampu_kode_masuk"  # the authentication template with its copy-code button
    code = fake_whatsapp.last_code(PHONE)
    assert code and len(code) == 6
    r = client.post(URL, {"challenge": challenge, "code": code}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["worker_id"] == worker.pk
    sent = AuditLog.objects.filter(action="worker_auth.request", extra__outcome="code_sent").get()
    assert sent.extra["channel"] == "whatsapp" and code not in str(sent.extra)


@pytest.mark.django_db
def test_whatsapp_down_sends_the_code_by_sms(
    channel_settings, fake_whatsapp, fake_twilio, worker, django_capture_on_commit_callbacks
):
    fake_whatsapp.fail_next(131000, 500, times=2)  # the immediate retry fails too
    client = APIClient()
    challenge = request_code(client, worker, django_capture_on_commit_callbacks)
    (sms,) = fake_twilio.inbox(PHONE)
    code = "".join(ch for ch in sms.body if ch.isdigit())[:6]
    assert client.post(URL, {"challenge": challenge, "code": code}, format="json").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("provider", ["channels", "console"])
def test_no_sign_in_code_reaches_any_log_record(
    provider, channel_settings, fake_whatsapp, worker, caplog, capsys, django_capture_on_commit_callbacks
):
    """Every log record of every logger, at every level, during a whole sign-in: the code is in none."""
    channel_settings.WORKER_OTP_PROVIDER = provider
    caplog.set_level(logging.DEBUG)
    client = APIClient()
    challenge = request_code(client, worker, django_capture_on_commit_callbacks)
    if provider == "console":
        code = capsys.readouterr().out.rsplit(": ", 1)[-1].strip()  # dev console only (stdout)
    else:
        code = fake_whatsapp.last_code(PHONE)
    assert code and code.isdigit()
    client.post(URL, {"challenge": challenge, "code": "000000" if code != "000000" else "111111"}, format="json")
    assert client.post(URL, {"challenge": challenge, "code": code}, format="json").status_code == 200
    assert caplog.records, "the capture saw no records at all"
    for record in caplog.records:
        assert code not in record.getMessage(), (record.name, record.getMessage())
        assert code not in repr(record.args)
    assert not AuditLog.objects.filter(extra__icontains=code).exists()


def _prod_env(**extra):
    """The production environment of tests/hardening (fresh keys, order prefix, trusted proxy) without any code
    channel: each case adds the channel settings it is about."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PII_", "SECRET", "WHATSAPP_", "SMS_", "TWILIO_"))}
    env.update({k: v for k, v in PROD_ENV.items() if not k.startswith(("WHATSAPP_", "SMS_", "TWILIO_"))})
    env.pop("WORKER_OTP_PROVIDER", None)
    env.update(extra)
    return env


WHATSAPP_ENV = {
    "WHATSAPP_PROVIDER": "meta",
    "WHATSAPP_PHONE_NUMBER_ID": "100000000000001",
    "WHATSAPP_ACCESS_TOKEN": "token",
    "WHATSAPP_APP_SECRET": "secret",
}


def _check(env):
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({}, "No channel can deliver worker sign-in codes"),  # nothing configured
        ({**WHATSAPP_ENV, "WORKER_OTP_PROVIDER": "console"}, "WORKER_OTP_PROVIDER"),
        ({**WHATSAPP_ENV, "WORKER_OTP_PROVIDER": ""}, "WORKER_OTP_PROVIDER"),  # NIK + birth date alone
        ({"WHATSAPP_PROVIDER": "console"}, "WHATSAPP_PROVIDER=console"),
        ({"WHATSAPP_PROVIDER": "meta", "WHATSAPP_PHONE_NUMBER_ID": "1"}, "No channel"),  # no token or secret
    ],
)
def test_production_refuses_to_start_without_a_real_code_channel(extra, message):
    result = _check(_prod_env(**extra))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr


@pytest.mark.parametrize(
    "extra",
    [
        WHATSAPP_ENV,
        {"SMS_PROVIDER": "twilio", "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t", "TWILIO_SENDER": "PENGAMPU"},
    ],
)
def test_production_starts_with_whatsapp_or_sms_configured(extra):
    result = _check(_prod_env(**extra))
    assert result.returncode == 0, result.stderr
