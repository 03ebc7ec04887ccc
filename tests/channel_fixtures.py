"""Fixtures for the WhatsApp and SMS channels: the local fakes over real HTTP and settings pointing at them.

Imported by the conftest.py of the areas that send messages (tests/notifications, tests/people, ...).
"""

from __future__ import annotations

import pytest

from simulators.sms import FakeTwilio
from simulators.whatsapp import FakeWhatsApp

WA_TOKEN = "test-whatsapp-token"
WA_SECRET = "test-whatsapp-app-secret"
TWILIO_SID = "AC" + "1" * 32
TWILIO_TOKEN = "test-twilio-auth-token"
TWILIO_CALLBACK = "https://pengampu.example.go.id/api/v1/channels/sms/twilio/status/"


@pytest.fixture(scope="session")
def fake_whatsapp_server():
    with FakeWhatsApp(access_token=WA_TOKEN, app_secret=WA_SECRET, auto_receipts=False) as fake:
        yield fake


@pytest.fixture
def fake_whatsapp(fake_whatsapp_server):
    fake_whatsapp_server.reset()
    yield fake_whatsapp_server
    fake_whatsapp_server.reset()


@pytest.fixture(scope="session")
def fake_twilio_server():
    with FakeTwilio(account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN, auto_callbacks=False) as fake:
        yield fake


@pytest.fixture
def fake_twilio(fake_twilio_server):
    fake_twilio_server.reset()
    yield fake_twilio_server
    fake_twilio_server.reset()


@pytest.fixture
def channel_settings(settings, fake_whatsapp, fake_twilio):
    """WhatsApp (Meta Cloud API) and SMS (Twilio) configured as production would be, pointed at the fakes."""
    settings.WHATSAPP_PROVIDER = "meta"
    settings.WHATSAPP_API_BASE_URL = fake_whatsapp.base_url
    settings.WHATSAPP_PHONE_NUMBER_ID = fake_whatsapp.phone_number_id
    settings.WHATSAPP_ACCESS_TOKEN = WA_TOKEN
    settings.WHATSAPP_APP_SECRET = WA_SECRET
    settings.WHATSAPP_VERIFY_TOKEN = "test-verify-token"
    settings.WHATSAPP_TIMEOUT_SECONDS = 5.0
    settings.SMS_PROVIDER = "twilio"
    settings.TWILIO_API_BASE_URL = fake_twilio.base_url
    settings.TWILIO_ACCOUNT_SID = TWILIO_SID
    settings.TWILIO_AUTH_TOKEN = TWILIO_TOKEN
    settings.TWILIO_SENDER = "PENGAMPU"
    settings.TWILIO_STATUS_CALLBACK_URL = TWILIO_CALLBACK
    settings.SMS_TIMEOUT_SECONDS = 5.0
    settings.WORKER_OTP_PROVIDER = "channels"
    settings.NOTIFICATIONS_BACKOFF_BASE_SECONDS = 1
    return settings
