"""Workers without the app are reached by WhatsApp/SMS (issue 18, points 1 and 3): an admin records the worker's
consent to WhatsApp at registration; the worker never signs in, yet the self-pay link and the 7-day clock reminder
arrive on the local fake WhatsApp (real HTTP, no mocks of our code)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from notifications.models import ContactChannel, Notification
from notifications.sending import outbox_send
from sponsorship.billing.models import Invoice, ProtectionAction
from sponsorship.billing.protection_reminders import protection_clock_scan
from sponsorship.billing.services.billing import billing_run
from sponsorship.billing.services.bridge import bridge_scan
from sponsorship.core.periods import add_months, local_today, month_start
from sponsorship.people.models import Worker
from sponsorship.people.services.sponsorships import sponsorship_end, sponsorship_start
from sponsorship.people.services.worker_auth import issue_worker_tokens
from tests import factories
from tests.billing.test_billfix import pay_invoice
from tests.channel_fixtures import (  # noqa: F401  (fixtures)
    channel_settings,
    fake_twilio,
    fake_twilio_server,
    fake_whatsapp,
    fake_whatsapp_server,
)
from tests.dashboard.money_data import bill, pay

pytestmark = pytest.mark.django_db
WIB = ZoneInfo("Asia/Jakarta")
PHONE = "+6281377778888"


def at(day: dt.date, hour: int = 9) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=WIB)


def register_with_whatsapp(api, regency_admin, full_name="Sarinah Wulandari", sex="F") -> Worker:
    """What a village officer does with the roster: the worker agrees in person to WhatsApp; no app, no sign-in."""
    response = api(regency_admin).post(
        "/api/v1/workers/",
        {
            "nik": factories.make_nik("35.02.17.1001", sex),
            "full_name": full_name,
            "phone": "0813-7777-8888",
            "occupation": "petani",
            "village": "35.02.17.1001",
            "consent": {"channel": "in_person", "text_version": "2026.1"},
            "contact_channels": ["whatsapp"],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return Worker.objects.get(pk=response.json()["id"])


def test_a_worker_without_the_app_gets_the_self_pay_link_on_whatsapp(
    agency, regency_admin, gateway_settings, api, sim, http, client, channel_settings, fake_whatsapp
):
    worker = register_with_whatsapp(api, regency_admin)
    assert worker.user_id is not None and not worker.user.has_usable_password()
    row = ContactChannel.objects.get(user=worker.user)
    assert (row.channel, row.granted, row.consent_source, row.withdrawn_at) == ("whatsapp", True, "in_person", None)

    this_month = month_start(local_today())
    sponsor = factories.make_sponsor(agency=agency)
    sponsorship = sponsorship_start(
        sponsor=sponsor, worker=worker, source="admin", started_at=at(add_months(this_month, -2))
    )
    billing_run(period=this_month, notify=False, now=at(add_months(this_month, -1).replace(day=25)))
    pay_invoice(api, sim, http, client, Invoice.objects.get(sponsor=sponsor, period=this_month), "bca_va")
    sponsorship_end(sponsorship=sponsorship, reason="pensiun")  # the sponsor leaves; no pool exists

    next_month = add_months(this_month, 1)
    assert bridge_scan(today=next_month - dt.timedelta(days=3)).handed_over == 1
    handed = ProtectionAction.objects.get(worker=worker, kind="handed_over")
    assert handed.detail["sent"] is True
    link = Notification.objects.get(recipient=worker.user, kind="self_pay_link")
    # Sent when it is due (notify holds it past quiet hours; the link is valid 14 days from now).
    outbox_send(ids=[link.pk], now=max(link.created_at, link.next_attempt_at or link.created_at))
    link.refresh_from_db()
    assert (link.status, link.channel) == ("sent", "whatsapp")
    (message,) = fake_whatsapp.inbox(PHONE)
    assert message.template == "pengampu_self_pay_link" and "/bayar/" in message.text

    # Signing in later (NIK + birth date, then the code) finds the same user: the inbox and consent carry over.
    assert issue_worker_tokens(Worker.objects.get(pk=worker.pk))["worker_id"] == worker.pk
    assert Worker.objects.get(pk=worker.pk).user_id == worker.user_id


def test_the_7_day_clock_reminder_reaches_a_worker_without_the_app(
    regency, sponsor, regency_admin, api, channel_settings, fake_whatsapp, fake_twilio
):
    worker = register_with_whatsapp(api, regency_admin, full_name="Slamet Riyadi", sex="M")
    factories.sponsor_worker(sponsor, worker)
    december = bill(dt.date(2026, 12, 1))[sponsor.pk]
    pay(december, at(dt.date(2026, 12, 5), 8))
    bill(dt.date(2027, 1, 1))
    protection_clock_scan(now=at(dt.date(2026, 12, 24), 8))
    reminder = Notification.objects.get(recipient=worker.user, kind="protection_ending_worker")
    assert ":7:" in reminder.dedupe_key
    outbox_send(ids=[reminder.pk], now=at(dt.date(2026, 12, 24), 10))
    reminder.refresh_from_db()
    assert (reminder.status, reminder.channel) == ("sent", "whatsapp")
    (message,) = fake_whatsapp.inbox(PHONE)
    assert message.template == "pengampu_protection_ending_worker" and "7" in message.params
    assert fake_twilio.inbox(PHONE) == []  # WhatsApp worked: no SMS on top
