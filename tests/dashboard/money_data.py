"""Builds a small billing history through the money branch's real services (billing run, coverage ledger)."""

import datetime as dt

from django.utils import timezone

from sponsorship.billing.models import Invoice
from sponsorship.billing.services.billing import billing_run
from sponsorship.billing.services.coverage import coverage_record_invoice
from sponsorship.core.periods import add_months, local_today, month_start


def months_back(n: int) -> dt.date:
    return add_months(month_start(local_today()), -n)


def at(day: dt.date, hour=10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def pay(invoice: Invoice, paid_at: dt.datetime) -> Invoice:
    Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.PAID, paid_at=paid_at)
    invoice.refresh_from_db()
    coverage_record_invoice(invoice=invoice, paid_at=paid_at)
    return invoice


def bill(period: dt.date) -> dict[int, Invoice]:
    billing_run(period=period, notify=False, now=at(period - dt.timedelta(days=5)))
    return {i.sponsor_id: i for i in Invoice.objects.filter(period=period)}
