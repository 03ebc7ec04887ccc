"""Routes, consent, the cost policy, fallback, receipts, STOP and STATUS: the outbox through the fakes over HTTP."""

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from notifications.contact import contact_consent_set, contact_preferred_set
from notifications.models import ChannelEvent, ContactChannel, Device, Notification
from notifications.sending import outbox_send
from notifications.services import notify
from sponsorship.people.models import Role
from tests import factories
from tests.channel_fixtures import TWILIO_CALLBACK

PHONE = "+6281234567890"
NOON = dt.datetime(2026, 7, 10, 10, 0, tzinfo=ZoneInfo("Asia/Jakarta"))
WEBHOOK = "/api/v1/channels/whatsapp/webhook/"
TWILIO_WEBHOOK = "/api/v1/channels/sms/twilio/status/"


@pytest.fixture
def worker(regency):
    return factories.make_worker(full_name="Sumarni Lestari", user=True)


def consent(user, *channels):
    for channel in channels:
        contact_consent_set(user=user, channel=channel, granted=True, source="in_person")


def lapse_warning(user, key="lapse-1", kind="coverage_lapsing"):
    context = {"worker_name": "Sumarni", "protected_until": dt.date(2026, 7, 31), "text": "Simpan kartu KPJ Anda."}
    return notify(user=user, kind=kind, context=context, dedupe_key=key, now=NOON)


def post_whatsapp(fake, payload, *, client=None):
    body, headers = fake.signed(payload)
    return (client or Client()).post(
        WEBHOOK, data=body, content_type="application/json", HTTP_X_HUB_SIGNATURE_256=headers["X-Hub-Signature-256"]
    )


@pytest.mark.django_db
def test_a_worker_gets_a_lapse_warning_on_whatsapp_as_an_approved_template(channel_settings, fake_whatsapp, worker):
    consent(worker.user, "whatsapp", "sms")
    row = lapse_warning(worker.user)
    assert row.params == ["Sumarni", "31 Juli 2026"]  # the Indonesian text's placeholders, in its order
    report = outbox_send(ids=[row.pk], now=NOON)
    row.refresh_from_db()
    assert (report.sent, row.status, row.channel, row.delivery_status) == (1, "sent", "whatsapp", "sent")
    (message,) = fake_whatsapp.inbox(PHONE)
    assert message.template == "pengampu_coverage_lapsing" and message.params == ["Sumarni", "31 Juli 2026"]
    assert row.provider_message_id == message.id


@pytest.mark.django_db
def test_whatsapp_failing_falls_back_to_sms(channel_settings, fake_whatsapp, fake_twilio, worker):
    consent(worker.user, "whatsapp", "sms")
    fake_whatsapp.fail_next(131026)  # not a WhatsApp user
    row = lapse_warning(worker.user)
    outbox_send(ids=[row.pk], now=NOON)
    row.refresh_from_db()
    assert (row.status, row.channel, row.channels_tried) == ("sent", "sms", ["whatsapp", "sms"])
    (sms,) = fake_twilio.inbox(PHONE)
    assert "Sumarni" in sms.body and sms.body.startswith("Pengampu:")
    assert "131026" in row.last_error


@pytest.mark.django_db
def test_a_failed_receipt_falls_back_and_receipts_move_forward_only_once(
    channel_settings, fake_whatsapp, fake_twilio, worker, django_capture_on_commit_callbacks
):
    consent(worker.user, "whatsapp", "sms")
    row = lapse_warning(worker.user)
    outbox_send(ids=[row.pk], now=NOON)
    row.refresh_from_db()
    wamid = row.provider_message_id
    # Accepted by WhatsApp, then reported failed (131026) by the signed webhook: the row goes on to SMS.
    with django_capture_on_commit_callbacks(execute=True):
        response = post_whatsapp(fake_whatsapp, fake_whatsapp.status_payload(wamid, "failed", 131026))
    assert response.status_code == 200
    row.refresh_from_db()
    assert (row.status, row.channel) == ("sent", "sms"), row.last_error
    sid = row.provider_message_id
    assert fake_twilio.inbox(PHONE)[0].sid == sid
    # Twilio's signed status callbacks: delivered; a replay changes nothing; a forged one is refused.
    params = {"MessageSid": sid, "MessageStatus": "delivered", "AccountSid": "AC", "To": PHONE}
    from simulators.sms import twilio_signature

    signature = twilio_signature(TWILIO_CALLBACK, params, channel_settings.TWILIO_AUTH_TOKEN)
    for _ in range(2):
        response = Client().post(TWILIO_WEBHOOK, params, HTTP_X_TWILIO_SIGNATURE=signature)
        assert response.status_code == 200
    assert response.json() == {"new": 0, "duplicates": 1}
    row.refresh_from_db()
    assert row.delivery_status == "delivered" and row.delivered_at is not None
    forged = Client().post(TWILIO_WEBHOOK, {**params, "MessageStatus": "failed"}, HTTP_X_TWILIO_SIGNATURE=signature)
    assert forged.status_code == 403
    assert ChannelEvent.objects.filter(provider="twilio", valid=False).count() == 1
    row.refresh_from_db()
    assert row.delivery_status == "delivered"


@pytest.mark.django_db
def test_whatsapp_receipts_delivered_then_read_deduped_and_signature_checked(channel_settings, fake_whatsapp, worker):
    consent(worker.user, "whatsapp")
    row = lapse_warning(worker.user)
    outbox_send(ids=[row.pk], now=NOON)
    row.refresh_from_db()
    for status in ("delivered", "read", "read", "delivered"):
        assert (
            post_whatsapp(fake_whatsapp, fake_whatsapp.status_payload(row.provider_message_id, status)).status_code
            == 200
        )
    row.refresh_from_db()
    assert (row.delivery_status, row.read_at is not None) == ("read", True)
    assert ChannelEvent.objects.filter(kind="status").count() == 2  # the replays were deduped
    body, _ = fake_whatsapp.signed(fake_whatsapp.status_payload(row.provider_message_id, "failed"))
    bad = Client().post(
        WEBHOOK, data=body, content_type="application/json", HTTP_X_HUB_SIGNATURE_256="sha256=" + "0" * 64
    )
    assert bad.status_code == 403
    row.refresh_from_db()
    assert row.delivery_status == "read"


@pytest.mark.django_db
def test_whatsapp_subscription_handshake(channel_settings):
    ok = Client().get(
        WEBHOOK, {"hub.mode": "subscribe", "hub.verify_token": "test-verify-token", "hub.challenge": "42"}
    )
    assert (ok.status_code, ok.content) == (200, b"42")
    assert (
        Client().get(WEBHOOK, {"hub.mode": "subscribe", "hub.verify_token": "x", "hub.challenge": "1"}).status_code
        == 403
    )


@pytest.mark.django_db
def test_no_consent_no_whatsapp_and_tips_never_cost_money(channel_settings, fake_whatsapp, fake_twilio, worker):
    row = lapse_warning(worker.user)  # no consent recorded: no paid channel, no device: nothing reaches
    outbox_send(ids=[row.pk], now=NOON)
    row.refresh_from_db()
    assert row.status == "skipped" and fake_whatsapp.inbox(PHONE) == []
    consent(worker.user, "whatsapp", "sms")
    tip = lapse_warning(worker.user, key="tip-1", kind="tip")
    outbox_send(ids=[tip.pk], now=NOON)
    tip.refresh_from_db()
    assert tip.status == "skipped" and fake_whatsapp.inbox(PHONE) == [] and fake_twilio.inbox(PHONE) == []


@pytest.mark.django_db
def test_an_ordinary_reminder_takes_one_paid_channel_but_never_falls_back_to_sms(
    channel_settings, fake_whatsapp, fake_twilio, worker
):
    consent(worker.user, "whatsapp", "sms")
    fake_whatsapp.fail_next(131026)
    row = lapse_warning(worker.user, key="protected-1", kind="worker_protected")
    outbox_send(ids=[row.pk], now=NOON)
    row.refresh_from_db()
    assert row.status == "failed" and fake_twilio.inbox(PHONE) == []


@pytest.mark.django_db
def test_sponsor_route_is_push_then_whatsapp_and_a_preference_puts_whatsapp_first(
    channel_settings, fake_whatsapp, fake_fcm, fcm_settings, agency
):
    sponsor = factories.make_sponsor(agency=agency)
    user = sponsor.user
    consent(user, "whatsapp")
    Device.objects.create(user=user, token="tok-sponsor", last_seen_at=NOON)
    row = lapse_warning(user)
    outbox_send(ids=[row.pk], now=NOON)
    row.refresh_from_db()
    assert (row.status, row.channel) == ("sent", "push") and fake_whatsapp.inbox(PHONE) == []
    # The push is refused (the token is dead): the lapse warning goes on to WhatsApp.
    fake_fcm.set_token_error("tok-sponsor", "UNREGISTERED")
    second = lapse_warning(user, key="lapse-2")
    outbox_send(ids=[second.pk], now=NOON)
    second.refresh_from_db()
    assert (second.status, second.channel, second.channels_tried) == ("sent", "whatsapp", ["push", "whatsapp"])
    contact_preferred_set(user=user, channel="whatsapp")
    Device.objects.create(user=user, token="tok-sponsor-2", last_seen_at=NOON)
    third = lapse_warning(user, key="lapse-3")
    outbox_send(ids=[third.pk], now=NOON)
    third.refresh_from_db()
    assert third.channel == "whatsapp"


@pytest.mark.django_db
def test_quiet_hours_hold_whatsapp_too(channel_settings, fake_whatsapp, worker):
    consent(worker.user, "whatsapp")
    night = NOON.replace(hour=22)
    row = notify(user=worker.user, kind="coverage_lapsing", context={"worker_name": "S"}, dedupe_key="n", now=night)
    assert row.status == "held"
    outbox_send(now=night)
    assert fake_whatsapp.inbox(PHONE) == []


@pytest.mark.django_db
def test_stop_withdraws_consent_with_time_and_source_and_mulai_restores_it(
    channel_settings, fake_whatsapp, worker, django_capture_on_commit_callbacks
):
    consent(worker.user, "whatsapp", "sms")
    with django_capture_on_commit_callbacks(execute=True):
        assert post_whatsapp(fake_whatsapp, fake_whatsapp.inbound_payload(PHONE, "berhenti")).status_code == 200
    rows = {r.channel: r for r in ContactChannel.objects.filter(user=worker.user)}
    assert all(r.withdrawn_at and r.withdrawn_source == "whatsapp_stop" for r in rows.values())
    assert rows["whatsapp"].consent_source == "in_person"  # the proof of the original consent is kept
    assert "tidak akan lagi menerima" in fake_whatsapp.inbox(PHONE)[-1].text
    row = lapse_warning(worker.user)
    outbox_send(ids=[row.pk], now=NOON)
    assert len(fake_whatsapp.inbox(PHONE)) == 1  # only the confirmation; no reminder after STOP
    with django_capture_on_commit_callbacks(execute=True):
        post_whatsapp(fake_whatsapp, fake_whatsapp.inbound_payload(PHONE, "MULAI"))
    assert ContactChannel.objects.get(user=worker.user, channel="whatsapp").withdrawn_at is None


@pytest.mark.django_db
def test_status_answers_a_registered_number_only_and_bantuan_explains_the_claim(
    channel_settings, fake_whatsapp, worker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post_whatsapp(fake_whatsapp, fake_whatsapp.inbound_payload(PHONE, "STATUS"))
        post_whatsapp(fake_whatsapp, fake_whatsapp.inbound_payload("+6289999999999", "cek"))
        post_whatsapp(fake_whatsapp, fake_whatsapp.inbound_payload(PHONE, "BANTUAN"))
    status = fake_whatsapp.inbox(PHONE)[0].text
    assert "Sumarni" in status and "Belum terdaftar" in status or "Sumarni" in status
    stranger = fake_whatsapp.inbox("+6289999999999")[0].text
    assert "tidak terdaftar" in stranger and "Sumarni" not in stranger
    assert "2 × 24 jam" in fake_whatsapp.inbox(PHONE)[1].text
    # The evidence keeps the command word, not the phone number.
    assert not ChannelEvent.objects.filter(payload__icontains="6281234567890").exists()


@pytest.mark.django_db
def test_contact_channels_api_records_consent_from_the_app(channel_settings, worker):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(worker.user)
    r = client.put("/api/v1/notifications/channels/", {"whatsapp": True, "preferred": "whatsapp"}, format="json")
    assert r.status_code == 200, r.content
    whatsapp = next(c for c in r.json()["channels"] if c["channel"] == "whatsapp")
    assert whatsapp["consent"] and whatsapp["consent_source"] == "app" and whatsapp["preferred"]
    assert client.put("/api/v1/notifications/channels/", {"preferred": "fax"}, format="json").status_code == 400


@pytest.mark.django_db
def test_bulk_notify_writes_params_for_templates(channel_settings, worker):
    from notifications.services import NotifyRequest, notify_bulk

    (pk,) = notify_bulk(
        [
            NotifyRequest(
                user_id=worker.user_id,
                kind="coverage_lapsing",
                context={"worker_name": "S", "protected_until": dt.date(2026, 7, 31)},
                dedupe_key="b1",
            )
        ],
        now=NOON,
    )
    row = Notification.objects.get(pk=pk)
    assert row.params == ["S", "31 Juli 2026"] and row.channels_tried == [] and row.channel == ""
    assert json.dumps(row.params)
    assert Role.WORKER
