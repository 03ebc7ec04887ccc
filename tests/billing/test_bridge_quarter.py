"""A simulated quarter (issue 18, "done when"): one sponsor stops paying, another leaves; the bridge pays before
the lapse, the worker is re-matched and the pool stops; the worker nobody takes pays their own month through a
self-pay link on the simulator. The ledger invariants hold at every step. Sponsors and the worker pay over HTTP.
"""

import datetime as dt
import re
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifications.models import Notification
from sponsorship.billing.models import Bridge, BridgePool, CoverageMonth, Invoice, PaymentAttempt, ProtectionAction
from sponsorship.billing.selectors.coverage import worker_coverage_status
from sponsorship.billing.services.billing import billing_run
from sponsorship.billing.services.bridge import bridge_scan, pool_create, pool_top_up
from sponsorship.dashboard.invariants import ledger_check
from sponsorship.people.services.sponsorships import sponsorship_end, sponsorship_start
from tests import factories
from tests.billing.conftest import sim_control
from tests.billing.test_billfix import note_for, pay_invoice, post_note

pytestmark = pytest.mark.django_db
WIB = dt.timezone(dt.timedelta(hours=7))
OCT, NOV, DEC, JAN = dt.date(2026, 10, 1), dt.date(2026, 11, 1), dt.date(2026, 12, 1), dt.date(2027, 1, 1)


def at(day: dt.date, hour: int = 9) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=WIB)


def days(first: dt.date, last: dt.date):
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


def test_a_quarter_bridge_rematch_and_self_pay_with_the_ledger_holding(
    agency, regency, regency_admin, gateway_settings, api, sim, http, client
):
    def ledger_ok(today):
        report = ledger_check(regency=regency, today=today)
        assert report.ok, (today, report.to_dict())

    stopper = factories.make_sponsor(agency=agency, full_name="Agus Salim")
    leaver = factories.make_sponsor(agency=agency, full_name="Bambang Irawan")
    bridged = factories.make_worker(full_name="Sarinah Wulandari", sex="F", decile=2, user=True)
    self_payer = factories.make_worker(full_name="Joko Prasetyo", decile=6, user=True)
    old = sponsorship_start(sponsor=stopper, worker=bridged, source="admin", started_at=at(dt.date(2026, 9, 1)))
    gone = sponsorship_start(sponsor=leaver, worker=self_payer, source="admin", started_at=at(dt.date(2026, 9, 1)))
    pool = pool_create(
        regency=regency, actor=regency_admin, kind=BridgePool.Kind.REGENCY_BUDGET, name="APBD Ponorogo", decile_max=4
    )
    pool_top_up(pool=pool, amount_idr=100_000, actor=regency_admin, reference="SP2D-001")

    # October and November: both sponsors pay.
    for period, issue_day in ((OCT, dt.date(2026, 9, 25)), (NOV, dt.date(2026, 10, 25))):
        billing_run(period=period, notify=False, now=at(issue_day))
        for sponsor in (stopper, leaver):
            pay_invoice(api, sim, http, client, Invoice.objects.get(sponsor=sponsor, period=period), "bca_va")
        ledger_ok(issue_day)
        assert bridge_scan(today=issue_day).bridged == 0

    # One sponsor leaves on 20 November; December is billed to the other, who does not pay.
    sponsorship_end(sponsorship=gone, reason="pensiun", ended_at=at(dt.date(2026, 11, 20)))
    billing_run(period=DEC, notify=False, now=at(dt.date(2026, 11, 24)))
    unpaid = Invoice.objects.get(sponsor=stopper, period=DEC)

    bridged_on, handed_on, timings = None, None, []
    scan_seconds = 0.0
    with CaptureQueriesContext(connection) as queries:
        for day in days(dt.date(2026, 11, 20), dt.date(2026, 12, 17)):
            started = time.perf_counter()
            result = bridge_scan(today=day)
            scan_seconds += time.perf_counter() - started
            timings.append(result)
            if result.bridged and bridged_on is None:
                bridged_on = day
            if result.handed_over and handed_on is None:
                handed_on = day
            if day.weekday() == 0 or result.bridged or result.handed_over:
                ledger_ok(day)
    # Nobody pays the leaver's worker (decile 6 is above the pool's rule): 7 days before protection ends, a link.
    assert handed_on == dt.date(2026, 11, 23)
    # The stopper's December bill fell due on the 15th: on the 16th, before any lapse, the pool pays December.
    assert bridged_on == dt.date(2026, 12, 16)
    unpaid.refresh_from_db()
    assert unpaid.status == "void"
    assert CoverageMonth.objects.get(worker=bridged, month=DEC).invoice.pool_id == pool.pk
    assert worker_coverage_status(bridged, today=dt.date(2026, 12, 17)).state == "protected"
    # The figures for docs/bridge-fund.md (queries include the ledger checks run in between).
    print(f"\n28 daily scans: {scan_seconds:.2f} s, {len(queries)} queries")  # noqa: T201

    # The worker pays their own December through the link, on the simulator.
    body = Notification.objects.get(recipient=self_payer.user, kind="self_pay_link").body
    path = re.search(r"(/bayar/[A-Za-z0-9_-]+/)", body).group(1)
    assert client.get(path).status_code == 200
    assert client.post(path).status_code == 302
    attempt = PaymentAttempt.objects.get(invoice__payer_worker=self_payer)
    sim_control(http, sim, "pay", {"order_id": attempt.order_id, "method": "gopay"})
    assert post_note(client, note_for(attempt.order_id)).status_code == 200
    assert CoverageMonth.objects.get(worker=self_payer, month=DEC).invoice.payer_kind == "worker"
    assert worker_coverage_status(self_payer, today=dt.date(2026, 12, 10)).protected_until == dt.date(2026, 12, 31)
    ledger_ok(dt.date(2026, 12, 17))

    # The stopper's sponsorship ends; a new sponsor accepts the bridged worker: the pool stops paying.
    sponsorship_end(sponsorship=old, reason="tidak membayar", ended_at=at(dt.date(2026, 12, 17)))
    newcomer = factories.make_sponsor(agency=agency, full_name="Dewi Lestari")
    sponsorship_start(sponsor=newcomer, worker=bridged, source="admin", started_at=at(dt.date(2026, 12, 18)))
    assert Bridge.objects.get(worker=bridged).end_reason == "rematched"
    billing_run(period=JAN, notify=False, now=at(dt.date(2026, 12, 24)))
    january = Invoice.objects.get(sponsor=newcomer, period=JAN)
    pay_invoice(api, sim, http, client, january, "bri_va")
    balance_before = BridgePool.objects.get(pk=pool.pk).balance_idr
    for day in days(dt.date(2026, 12, 18), dt.date(2026, 12, 31)):
        bridge_scan(today=day)
    assert BridgePool.objects.get(pk=pool.pk).balance_idr == balance_before == 100_000 - 16_800
    assert CoverageMonth.objects.get(worker=bridged, month=JAN).sponsor_id == newcomer.pk
    kinds = list(ProtectionAction.objects.filter(worker=bridged).order_by("at", "pk").values_list("kind", flat=True))
    assert kinds == ["bridged", "bridge_ended", "rematched"]
    assert {"handed_over", "self_paid"} <= set(
        ProtectionAction.objects.filter(worker=self_payer).values_list("kind", flat=True)
    )
    ledger_ok(dt.date(2026, 12, 31))
