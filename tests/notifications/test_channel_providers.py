"""The WhatsApp Cloud API and Twilio adapters against their local fakes over real HTTP (no Django needed)."""

import time

import pytest

from notifications.channels import FAILED, RETRY, SENT, UNREACHABLE, ChannelMessage, whatsapp
from notifications.channels import sms as twilio
from notifications.channels.ratelimit import RateLimiter
from tests.channel_fixtures import TWILIO_CALLBACK, TWILIO_SID, TWILIO_TOKEN, WA_SECRET, WA_TOKEN

PHONE = "+6281234567890"


@pytest.fixture
def wa(fake_whatsapp):
    return whatsapp.WhatsAppCloud(
        whatsapp.WhatsAppOptions(
            phone_number_id=fake_whatsapp.phone_number_id,
            access_token=WA_TOKEN,
            base_url=fake_whatsapp.base_url,
            timeout=5,
        )
    )


@pytest.fixture
def sms(fake_twilio):
    return twilio.TwilioSMS(
        twilio.TwilioOptions(
            account_sid=TWILIO_SID,
            auth_token=TWILIO_TOKEN,
            sender="PENGAMPU",
            status_callback=TWILIO_CALLBACK,
            base_url=fake_twilio.base_url,
            timeout=5,
        )
    )


def test_whatsapp_template_with_parameters_reaches_the_phone(wa, fake_whatsapp):
    result = wa.send(
        ChannelMessage(to=PHONE, text="x", template="pengampu_coverage_lapsing", params=("Slamet", "15 Juli 2026"))
    )
    assert result.outcome == SENT and result.provider_message_id.startswith("wamid.")
    (message,) = fake_whatsapp.inbox(PHONE)
    assert message.template == "pengampu_coverage_lapsing" and message.params == ["Slamet", "15 Juli 2026"]


def test_whatsapp_authentication_template_carries_the_code_in_body_and_button(wa, fake_whatsapp):
    payload = wa.payload(
        ChannelMessage(to=PHONE, text="", template="pengampu_kode_masuk", params=("123456",), otp=True)
    )
    button = payload["template"]["components"][1]
    assert button == {
        "type": "button",
        "sub_type": "url",
        "index": "0",
        "parameters": [{"type": "text", "text": "123456"}],
    }
    assert (
        wa.send(ChannelMessage(to=PHONE, text="", template="pengampu_kode_masuk", params=("123456",), otp=True)).outcome
        == SENT
    )
    assert fake_whatsapp.last_code(PHONE) == "123456"
    assert "123456 adalah kode verifikasi" in fake_whatsapp.inbox(PHONE)[0].text.replace("*", "")


@pytest.mark.parametrize(
    ("code", "http_status", "outcome"),
    [
        (130429, 400, RETRY),  # throughput reached
        (131056, 400, RETRY),  # pair rate limit
        (131000, 500, RETRY),
        (131026, 400, UNREACHABLE),
        (132001, 404, FAILED),  # template missing
        (190, 401, FAILED),  # token
    ],
)
def test_whatsapp_errors_map_to_outcomes(wa, fake_whatsapp, code, http_status, outcome):
    fake_whatsapp.fail_next(code, http_status)
    result = wa.send(ChannelMessage(to=PHONE, text="x", template="pengampu_tip", params=("a",)))
    assert (result.outcome, result.error_code) == (outcome, str(code))


def test_whatsapp_wrong_token_and_unknown_template_are_refused_by_the_fake(fake_whatsapp, wa):
    bad = whatsapp.WhatsAppCloud(
        whatsapp.WhatsAppOptions(fake_whatsapp.phone_number_id, "wrong", base_url=fake_whatsapp.base_url)
    )
    assert bad.send(ChannelMessage(to=PHONE, text="x", template="pengampu_tip")).error_code == "190"
    fake_whatsapp.accept_any_template = False
    try:
        result = wa.send(ChannelMessage(to=PHONE, text="x", template="unknown_template"))
    finally:
        fake_whatsapp.accept_any_template = True
    assert (result.outcome, result.error_code) == (FAILED, "132001")
    # Free-form text outside the 24-hour window is refused (re-engagement), so it is not a reminder channel.
    assert wa.send(ChannelMessage(to=PHONE, text="halo")).error_code == "131047"


def test_whatsapp_rate_limit_is_enforced_and_the_limiter_stays_under_it(fake_whatsapp, wa):
    fake_whatsapp.bucket.__init__(5)  # 5 messages per second for this test
    outcomes = [wa.send(ChannelMessage(to=PHONE, text="x", template="pengampu_tip")).outcome for _ in range(20)]
    assert RETRY in outcomes  # a burst above the rate gets 130429
    fake_whatsapp.reset()
    fake_whatsapp.bucket.__init__(5)
    time.sleep(1.0)
    limiter = RateLimiter(4)
    outcomes = []
    for _ in range(10):
        limiter.acquire()
        outcomes.append(wa.send(ChannelMessage(to=PHONE, text="x", template="pengampu_tip")).outcome)
    assert outcomes == [SENT] * 10


def test_whatsapp_network_failure_is_a_retry():
    dead = whatsapp.WhatsAppCloud(whatsapp.WhatsAppOptions("1", "t", base_url="http://127.0.0.1:9", timeout=1))
    assert dead.send(ChannelMessage(to=PHONE, text="x", template="t")).outcome == RETRY


def test_whatsapp_webhook_signature_and_parsing(fake_whatsapp):
    body, headers = fake_whatsapp.signed(fake_whatsapp.inbound_payload(PHONE, "STATUS"))
    assert whatsapp.verify_signature(body, headers["X-Hub-Signature-256"], WA_SECRET)
    assert not whatsapp.verify_signature(body + b" ", headers["X-Hub-Signature-256"], WA_SECRET)
    assert not whatsapp.verify_signature(body, headers["X-Hub-Signature-256"], "other-secret")
    (event,) = whatsapp.parse_webhook(__import__("json").loads(body))
    assert isinstance(event, whatsapp.InboundMessage) and (event.sender, event.text) == (PHONE, "STATUS")


def test_twilio_sms_is_queued_and_errors_map_to_outcomes(sms, fake_twilio):
    result = sms.send(ChannelMessage(to=PHONE, text="Pengampu: tagihan jatuh tempo"))
    assert result.outcome == SENT and result.provider_message_id.startswith("SM")
    (message,) = fake_twilio.inbox(PHONE)
    assert message.sender == "PENGAMPU" and message.callback == TWILIO_CALLBACK
    assert sms.send(ChannelMessage(to="0812", text="x")).outcome == UNREACHABLE  # 21211 invalid To
    fake_twilio.set_landline("+62215550000")
    assert sms.send(ChannelMessage(to="+62215550000", text="x")).error_code == "21614"
    fake_twilio.fail_next(20429, 429, "Too Many Requests")
    assert sms.send(ChannelMessage(to=PHONE, text="x")).outcome == RETRY
    bad = twilio.TwilioSMS(twilio.TwilioOptions(TWILIO_SID, "wrong", "PENGAMPU", base_url=fake_twilio.base_url))
    assert (
        bad.send(ChannelMessage(to=PHONE, text="x")).outcome,
        bad.send(ChannelMessage(to=PHONE, text="x")).error_code,
    ) == (
        FAILED,
        "20003",
    )


def test_twilio_concurrency_limit_answers_429(fake_twilio, sms):
    from concurrent.futures import ThreadPoolExecutor

    fake_twilio.latency_seconds = 0.2
    limit = fake_twilio._in_flight
    fake_twilio._in_flight = __import__("threading").BoundedSemaphore(3)
    try:
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda _: sms.send(ChannelMessage(to=PHONE, text="x")), range(8)))
    finally:
        fake_twilio.latency_seconds = 0.0
        fake_twilio._in_flight = limit
    assert {r.outcome for r in results} == {SENT, RETRY}
    assert all(r.error_code == "20429" for r in results if r.outcome == RETRY)


def test_twilio_signature_matches_twilios_published_example():
    # Twilio's documented example (docs/usage/security): URL, parameters and auth token 12345.
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    assert twilio.signature(url, params, "12345") == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert twilio.verify_signature(url, params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", "12345")
    assert not twilio.verify_signature(url, {**params, "Digits": "9"}, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", "12345")
