"""Hand-over to self-pay (issue 18, point 3): a worker no sponsor or pool takes gets a link that pays one month on
the Midtrans simulator (real HTTP), shows only what the worker needs, expires, and resists token guessing."""

import datetime as dt
import re

import pytest
from django.core.cache import cache
from django.utils import timezone

from notifications.models import Notification
from sponsorship.billing.models import CoverageMonth, Invoice, PaymentAttempt, ProtectionAction, SelfPayLink
from sponsorship.billing.services.billing import billing_run
from sponsorship.billing.services.bridge import bridge_scan
from sponsorship.billing.services.self_pay import self_pay_expire, self_pay_offer, token_hash
from sponsorship.core.periods import add_months, local_today, month_start
from sponsorship.dashboard.invariants import ledger_check
from sponsorship.people.services.sponsorships import sponsorship_end, sponsorship_start
from tests import factories
from tests.billing.conftest import sim_control
from tests.billing.test_billfix import note_for, pay_invoice, post_note

pytestmark = pytest.mark.django_db
WIB = dt.timezone(dt.timedelta(hours=7))


def at(day: dt.date, hour: int = 9) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=WIB)


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()


@pytest.fixture
def left_worker(agency, gateway_settings, api, sim, http, client):
    """A worker whose sponsor paid this month and then left; no pool exists."""
    this_month = month_start(local_today())
    sponsor = factories.make_sponsor(agency=agency)
    worker = factories.make_worker(full_name="Sarinah Wulandari", sex="F", user=True)
    sponsorship = sponsorship_start(
        sponsor=sponsor, worker=worker, source="admin", started_at=at(add_months(this_month, -2))
    )
    billing_run(period=this_month, notify=False, now=at(add_months(this_month, -1).replace(day=25)))
    pay_invoice(api, sim, http, client, Invoice.objects.get(sponsor=sponsor, period=this_month), "bca_va")
    sponsorship_end(sponsorship=sponsorship, reason="pensiun")
    return worker


def link_path(worker) -> str:
    body = Notification.objects.get(recipient=worker.user, kind="self_pay_link").body
    return re.search(r"(/bayar/[A-Za-z0-9_-]+/)", body).group(1)


def test_link_pays_one_month_on_the_simulator_and_shows_only_what_the_worker_needs(
    left_worker, client, sim, http, regency
):
    worker = left_worker
    next_month = add_months(month_start(local_today()), 1)
    result = bridge_scan(today=next_month - dt.timedelta(days=3))
    assert result.handed_over == 1
    path = link_path(worker)
    link = SelfPayLink.objects.get(worker=worker)
    assert link.token_hash == token_hash(path.split("/")[2]) and path.split("/")[2] not in link.token_hash

    page = client.get(path)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Sarinah" in html and "Wulandari" not in html and "0812" not in html and "35.02" not in html
    assert "16.800" in html and "JMO" in html
    assert page.headers["Cache-Control"].startswith("max-age=0")

    started = client.post(path)
    assert started.status_code == 302 and started["Location"].startswith(sim.base_url)
    attempt = PaymentAttempt.objects.get(invoice=link.invoice)
    sim_control(http, sim, "pay", {"order_id": attempt.order_id, "method": "other_qris"})
    assert post_note(client, note_for(attempt.order_id)).status_code == 200

    link.invoice.refresh_from_db()
    assert link.invoice.status == "paid"
    cover = CoverageMonth.objects.get(worker=worker, month=next_month)
    assert (cover.sponsor_id, cover.invoice.payer_kind, cover.invoice.payer_worker_id) == (None, "worker", worker.pk)
    assert ProtectionAction.objects.filter(worker=worker, kind="self_paid").count() == 1
    assert "handed_over" in set(ProtectionAction.objects.filter(worker=worker).values_list("kind", flat=True))
    again = client.get(path)
    assert again.status_code == 200 and "Paid" in again.content.decode() or "Lunas" in again.content.decode()
    assert client.post(path).status_code == 409
    report = ledger_check(regency=regency)
    assert report.ok, report.to_dict()


def test_link_expires_and_its_invoice_is_voided(left_worker, client):
    worker = left_worker
    month = add_months(month_start(local_today()), 1)
    offer = self_pay_offer(worker=worker, month=month, now=timezone.now() - dt.timedelta(days=15))
    assert offer is not None
    response = client.get(f"/bayar/{offer.token}/")
    assert response.status_code == 410
    assert client.post(f"/bayar/{offer.token}/").status_code == 410
    assert self_pay_expire() == 1
    offer.link.invoice.refresh_from_db()
    assert offer.link.invoice.status == "void"
    # The month is free again: a fresh link can be sent.
    assert self_pay_offer(worker=worker, month=month) is not None


def test_token_guessing_is_throttled(left_worker, client, settings):
    settings.SELF_PAY_MISSES_PER_HOUR = 3
    offer = self_pay_offer(worker=left_worker, month=add_months(month_start(local_today()), 1))
    for _ in range(3):
        assert client.get("/bayar/not-a-real-token-000000000000000000000/").status_code == 404
    assert client.get("/bayar/another-guess-0000000000000000000000/").status_code == 429
    assert client.get(f"/bayar/{offer.token}/").status_code == 429  # the address is blocked for the hour


def test_new_sponsor_withdraws_the_open_link(left_worker, agency, client):
    worker = left_worker
    offer = self_pay_offer(worker=worker, month=add_months(month_start(local_today()), 1))
    sponsorship_start(sponsor=factories.make_sponsor(agency=agency), worker=worker, source="admin")
    offer.link.invoice.refresh_from_db()
    assert offer.link.invoice.status == "void"
    assert "rematched" in set(ProtectionAction.objects.filter(worker=worker).values_list("kind", flat=True))
    page = client.get(f"/bayar/{offer.token}/")
    assert page.status_code == 410 or "no longer needed" in page.content.decode() or "tidak" in page.content.decode()
