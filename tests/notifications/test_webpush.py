"""Web push: the same FCM message carries a Web Push config for the installable app's browsers (platform web)."""

from notifications.providers import PushMessage
from notifications.providers import fcm as fcm_module


def test_every_message_carries_webpush_headers_and_notification(fake_fcm, fcm_provider):
    push = PushMessage(
        token="tok-web-1",
        title="Tagihan terbit",
        body="Iuran Desember untuk 2 pekerja: Rp 33.600.",
        data={"kind": "invoice_issued"},
        collapse_key="tagihan-7",
        ttl_seconds=3600,
        priority="high",
    )
    [result] = fcm_provider.send([push])
    assert result.outcome == "sent"
    [record] = fake_fcm.sends()
    web = record.message["webpush"]
    assert web["headers"] == {"Urgency": "high", "TTL": "3600"}
    assert web["notification"]["title"] == push.title
    assert web["notification"]["body"] == push.body
    assert web["notification"]["tag"] == "tagihan-7"
    assert web["notification"]["icon"] == fcm_module.WEB_ICON
    assert web["notification"]["data"] == {"url": fcm_module.WEB_OPEN_PATH}
    # The Android and APNs parts are unchanged next to it.
    assert record.message["android"]["collapse_key"] == "tagihan-7"
    assert record.message["notification"] == {"title": push.title, "body": push.body}


def test_webpush_without_ttl_has_only_urgency(fake_fcm, fcm_provider):
    fcm_provider.send([PushMessage(token="tok-web-2", title="Halo", body="Uji")])
    [record] = fake_fcm.sends()
    assert record.message["webpush"]["headers"] == {"Urgency": "normal"}
