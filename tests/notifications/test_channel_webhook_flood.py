"""The WhatsApp and Twilio webhooks refuse a flood from one address before reading the body (429)."""

import pytest
from django.core.cache import cache
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db

WEBHOOK = "/api/v1/channels/whatsapp/webhook/"
TWILIO_WEBHOOK = "/api/v1/channels/sms/twilio/status/"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@override_settings(CHANNEL_WEBHOOK_RATE_PER_MINUTE=3)
@pytest.mark.parametrize("url", [WEBHOOK, TWILIO_WEBHOOK])
def test_a_flood_from_one_address_gets_429_and_other_addresses_do_not(url):
    flood = Client(REMOTE_ADDR="203.0.113.9")
    codes = [flood.post(url, data=b"{}", content_type="application/json").status_code for _ in range(5)]
    assert codes[:3] == [403, 403, 403]  # unsigned: refused by the signature check, but counted
    assert codes[3:] == [429, 429]
    answer = flood.post(url, data=b"{}", content_type="application/json")
    assert answer["Retry-After"] == "60" and answer.json()["message"] == "too many requests"
    other = Client(REMOTE_ADDR="198.51.100.7").post(url, data=b"{}", content_type="application/json")
    assert other.status_code == 403


@override_settings(CHANNEL_WEBHOOK_RATE_PER_MINUTE=3)
def test_the_handshake_is_not_counted():
    client = Client(REMOTE_ADDR="203.0.113.10")
    for _ in range(5):
        assert client.get(WEBHOOK, {"hub.mode": "subscribe", "hub.verify_token": "x"}).status_code == 403
    assert client.post(WEBHOOK, data=b"{}", content_type="application/json").status_code == 403
