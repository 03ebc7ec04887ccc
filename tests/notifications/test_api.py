"""Devices, inbox and preferences over HTTP, including who may see what."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from notifications.models import Device, Notification
from notifications.services import notify
from sponsorship.people.models import Role
from tests import factories

NOON = dt.datetime(2026, 12, 10, 12, 0, tzinfo=ZoneInfo("Asia/Jakarta"))
CTX = {"invoice_number": "INV-1", "amount_idr": 50400, "due_date": dt.date(2026, 12, 15), "workers": 3, "days": 3}


@pytest.mark.django_db
def test_device_upsert_refreshes_and_moves_token(api, sponsor):
    client = api(sponsor.user)
    r = client.post(
        "/api/v1/devices/", {"token": "tok-A", "platform": "android", "app_version": "1.0.0", "language": "id"}
    )
    assert r.status_code == 200, r.content
    first_seen = Device.objects.get(token="tok-A").last_seen_at
    r = client.post(
        "/api/v1/devices/", {"token": "tok-A", "platform": "android", "app_version": "1.1.0", "language": "en"}
    )
    assert r.status_code == 200
    device = Device.objects.get(token="tok-A")
    assert Device.objects.filter(token="tok-A").count() == 1
    assert (device.app_version, device.language, device.user) == ("1.1.0", "en", sponsor.user)
    assert device.last_seen_at >= first_seen
    # a second phone for the same user
    client.post("/api/v1/devices/", {"token": "tok-B", "platform": "ios"})
    assert Device.objects.filter(user=sponsor.user, active=True).count() == 2
    # the phone signs in as someone else: the token follows the new account
    other = factories.make_user(role=Role.SPONSOR)
    api(other).post("/api/v1/devices/", {"token": "tok-A", "platform": "android"})
    assert Device.objects.get(token="tok-A").user == other


@pytest.mark.django_db
def test_device_upsert_reactivates_a_pruned_token(api, sponsor):
    Device.objects.create(
        user=sponsor.user,
        token="tok-dead",
        active=False,
        last_seen_at=NOON,
        deactivated_at=NOON,
        deactivation_reason="UNREGISTERED",
    )
    api(sponsor.user).post("/api/v1/devices/", {"token": "tok-dead"})
    device = Device.objects.get(token="tok-dead")
    assert device.active and device.deactivated_at is None and device.deactivation_reason == ""


@pytest.mark.django_db
def test_device_delete_only_own(api, sponsor):
    client = api(sponsor.user)
    client.post("/api/v1/devices/", {"token": "tok-mine"})
    other = factories.make_user(role=Role.SPONSOR)
    assert api(other).delete("/api/v1/devices/tok-mine/").status_code == 204
    assert Device.objects.filter(token="tok-mine").exists()
    assert client.delete("/api/v1/devices/tok-mine/").status_code == 204
    assert not Device.objects.filter(token="tok-mine").exists()
    client.post("/api/v1/devices/", {"token": "tok-2"})
    assert client.delete("/api/v1/devices/", {"token": "tok-2"}).status_code == 204
    assert not Device.objects.filter(token="tok-2").exists()


@pytest.mark.django_db
def test_device_bad_input_is_400_not_500(api, sponsor):
    r = api(sponsor.user).post("/api/v1/devices/", {"platform": "nokia"})
    assert r.status_code == 400
    assert set(r.json()["extra"]["fields"]) == {"token", "platform"}
    assert api(None).post("/api/v1/devices/", {"token": "x"}).status_code == 401


@pytest.mark.django_db
def test_inbox_shows_only_mine_with_unread_count(api, sponsor, regency_admin):
    other = factories.make_sponsor(agency=sponsor.agency)
    for i in range(3):
        notify(user=sponsor.user, kind="invoice_due_soon", context=CTX, dedupe_key=f"mine-{i}", now=NOON)
    theirs = notify(user=other.user, kind="invoice_due_soon", context=CTX, dedupe_key="theirs", now=NOON)
    r = api(sponsor.user).get("/api/v1/notifications/")
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == 3 and body["unread_count"] == 3
    assert {n["title"] for n in body["results"]} == {"Tagihan jatuh tempo 3 hari lagi"}
    # another user's notification can be neither seen nor marked read
    assert api(sponsor.user).post(f"/api/v1/notifications/{theirs.pk}/read/").status_code == 404
    # an admin of the same regency does not see a sponsor's inbox either
    assert api(regency_admin).get("/api/v1/notifications/").json()["count"] == 0

    first = body["results"][0]["id"]
    r = api(sponsor.user).post(f"/api/v1/notifications/{first}/read/")
    assert r.status_code == 200 and r.json()["read"] is True
    assert api(sponsor.user).get("/api/v1/notifications/").json()["unread_count"] == 2
    r = api(sponsor.user).post("/api/v1/notifications/read-all/")
    assert r.json() == {"marked": 2, "unread_count": 0}
    assert Notification.objects.get(pk=theirs.pk).read_at is None


@pytest.mark.django_db
def test_inbox_paginates(api, sponsor):
    for i in range(7):
        notify(user=sponsor.user, kind="invoice_issued", context=CTX, dedupe_key=f"p-{i}", now=NOON)
    body = api(sponsor.user).get("/api/v1/notifications/?page_size=5").json()
    assert body["count"] == 7 and len(body["results"]) == 5 and body["next"]


@pytest.mark.django_db
def test_preferences_get_and_put(api, sponsor):
    client = api(sponsor.user)
    prefs = client.get("/api/v1/notifications/preferences/").json()
    assert {p["kind"] for p in prefs} >= {"invoice_due_soon", "payment_received"}
    assert all(p["enabled"] for p in prefs)
    r = client.put(
        "/api/v1/notifications/preferences/", {"preferences": [{"kind": "invoice_due_soon", "enabled": False}]}
    )
    assert r.status_code == 200
    assert {p["kind"]: p["enabled"] for p in r.json()}["invoice_due_soon"] is False
    assert notify(user=sponsor.user, kind="invoice_due_soon", context=CTX, dedupe_key="off", now=NOON) is None
    r = client.put(
        "/api/v1/notifications/preferences/",
        {"preferences": [{"kind": "payment_received", "enabled": False}]},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert r.status_code == 400 and r.json()["code"] == "mandatory_kind"
    assert "cannot be switched off" in r.json()["message"]
    r = client.put("/api/v1/notifications/preferences/", {"preferences": [{"kind": "nope", "enabled": False}]})
    assert r.status_code == 400
