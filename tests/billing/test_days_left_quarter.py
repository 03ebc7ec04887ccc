"""A simulated quarter on the demo data (seed_demo + seed_dashboard_demo, smaller sizes), day by day with time travel:
every sponsor pays each bill the day it is issued except one who stops; the hourly scan runs each day. The stopping
sponsor's workers get their reminders at 14, 7 and 2 days before their protection ends, once each, then show up on
the at-risk dashboard with what was done; the ledger invariants hold at the end of every month."""

import datetime as dt
import io
import time
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from sponsorship.billing.models import Invoice, PaymentAttempt, ProtectionAction
from sponsorship.billing.protection_reminders import protection_clock_scan
from sponsorship.billing.selectors.protection_clock import clocks_for
from sponsorship.billing.services.billing import billing_run, periods_to_bill
from sponsorship.billing.services.coverage import coverage_record_invoice
from sponsorship.core.periods import local_today, month_end
from sponsorship.dashboard.invariants import ledger_check
from sponsorship.dashboard.selectors import admin_scope
from sponsorship.dashboard.selectors.at_risk import at_risk_workers
from sponsorship.people.models import Role, Sponsor, Sponsorship
from tests import factories

pytestmark = pytest.mark.django_db
WIB = ZoneInfo("Asia/Jakarta")


def at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=WIB)


def settle(invoice: Invoice, paid_at: dt.datetime) -> None:
    """What a settled Midtrans payment leaves in the ledger (as the demo history writes it)."""
    attempt = PaymentAttempt.objects.create(
        invoice=invoice,
        order_id=f"Q-{invoice.pk}",
        status=PaymentAttempt.Status.SETTLED,
        amount_idr=invoice.amount_idr,
        payment_type="bank_transfer",
        gateway_status="settlement",
        paid_amount_idr=invoice.amount_idr,
        settled_at=paid_at,
    )
    Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.PAID, paid_at=paid_at)
    invoice.refresh_from_db()
    coverage_record_invoice(invoice=invoice, paid_at=paid_at, attempt=attempt)


def pay_everything_issued(paid_at: dt.datetime, *, except_sponsor: int | None, up_to: dt.date | None = None) -> int:
    invoices = Invoice.objects.filter(status=Invoice.Status.ISSUED).exclude(sponsor_id=except_sponsor)
    if up_to is not None:
        invoices = invoices.filter(period__lte=up_to)
    n = 0
    for invoice in invoices.order_by("pk"):
        settle(invoice, paid_at)
        n += 1
    return n


def test_a_quarter_where_one_sponsor_stops_paying(settings):
    settings.DASHBOARD_CACHE_SECONDS = 0
    out = io.StringIO()
    call_command("seed_demo", "--sponsors", "20", "--workers", "50", stdout=out)
    call_command("seed_dashboard_demo", "--if-empty", "--months", "3", stdout=out)
    start = local_today()
    # Everyone is paid up to the current month; next month's bills (issued by the seed) are paid in the loop.
    pay_everything_issued(at(start, 8), except_sponsor=None, up_to=start.replace(day=1))
    end = month_end(start)
    stopper, workers = None, []
    for candidate in Sponsor.objects.filter(user__isnull=False).order_by("-user__username"):
        ids = list(
            Sponsorship.objects.filter(sponsor=candidate, status=Sponsorship.Status.ACTIVE).values_list(
                "worker_id", flat=True
            )
        )
        if ids and {c.ends_on for c in clocks_for(ids, start).values()} == {end}:
            stopper, workers = candidate, ids  # paid to the end of this month, not beyond
            break
    assert stopper is not None
    scan_seconds = []
    for offset in range(0, 92):
        day = start + dt.timedelta(days=offset)
        for period in periods_to_bill(day):
            billing_run(period=period, notify=False, now=at(day, 7))
        pay_everything_issued(at(day, 8), except_sponsor=stopper.pk)
        began = time.monotonic()
        protection_clock_scan(now=at(day, 9))
        scan_seconds.append(time.monotonic() - began)
        if day == month_end(day):
            assert ledger_check(today=day).ok, day

    reminders = ProtectionAction.objects.filter(worker_id__in=workers, kind="reminded_sponsor")
    got = sorted((a.worker_id, a.detail["threshold"], a.at.astimezone(WIB).date()) for a in reminders)
    expected = sorted(
        (w, t, end - dt.timedelta(days=t)) for w in workers for t in (14, 7, 2) if end - dt.timedelta(days=t) >= start
    )
    assert got == expected  # once per threshold, on the right day, and nothing after the protection ended

    admin = factories.make_user("admin.q", Role.REGENCY_ADMIN, regency=stopper.agency.regency)
    last = start + dt.timedelta(days=91)
    rows = {r["worker_id"]: r for r in at_risk_workers(admin_scope(admin), today=last)}
    for w in workers:
        assert rows[w]["reason"] == "sponsor_not_paying" and rows[w]["protected"] is False
    total = ProtectionAction.objects.filter(kind__startswith="reminded").count()
    print(
        f"quarter: {len(workers)} workers of the stopping sponsor, end {end}; reminders to all {total}; "
        f"scan max {max(scan_seconds) * 1000:.0f} ms, mean {sum(scan_seconds) / len(scan_seconds) * 1000:.0f} ms"
    )
