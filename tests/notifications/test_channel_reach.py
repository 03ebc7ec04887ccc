"""The HR dashboard's reach page: per channel, and the workers no channel reaches (with what to do)."""

import datetime as dt

import pytest
from django.test import Client

from notifications.contact import contact_consent_set
from notifications.sending import outbox_send
from notifications.services import notify
from sponsorship.dashboard.selectors.reach import REASONS, reach_summary
from sponsorship.dashboard.selectors.scope import admin_scope
from tests import factories

NOON = dt.datetime(2026, 7, 10, 3, 0, tzinfo=dt.UTC)  # 10:00 WIB


@pytest.mark.django_db
def test_reach_counts_channels_and_lists_workers_to_visit(channel_settings, fake_whatsapp, regency_admin):
    reached = factories.make_worker(full_name="Sumarni Lestari", user=True)
    contact_consent_set(user=reached.user, channel="whatsapp", granted=True, source="in_person")
    no_consent = factories.make_worker(full_name="Tono Wibowo", phone="0813-2222-3333")
    no_phone = factories.make_worker(full_name="Ratna Dewi", phone="")
    row = notify(user=reached.user, kind="coverage_lapsing", context={"worker_name": "S"}, dedupe_key="r1", now=NOON)
    outbox_send(ids=[row.pk], now=NOON)
    summary = reach_summary(admin_scope(regency_admin), now=NOON)
    whatsapp = next(c for c in summary["channels"] if c["channel"] == "whatsapp")
    assert whatsapp["sent"] == 1
    reasons = {w["pk"]: str(w["reason"]) for w in summary["unreached"]}
    assert reached.pk not in reasons
    assert reasons[no_consent.pk] == str(REASONS["no_consent"]) and reasons[no_phone.pk] == str(REASONS["no_phone"])
    assert summary["villages"] and sum(v["count"] for v in summary["villages"]) == 2

    client = Client()
    client.force_login(regency_admin)
    page = client.get("/dashboard/reach/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Tono Wibowo" in html and "kader desa" in html and "Sumarni Lestari" not in html


@pytest.mark.django_db
def test_reach_page_is_for_admins_only(regency, sponsor):
    client = Client()
    assert client.get("/dashboard/reach/").status_code in (302, 403)
    client.force_login(sponsor.user)
    assert client.get("/dashboard/reach/").status_code == 403
