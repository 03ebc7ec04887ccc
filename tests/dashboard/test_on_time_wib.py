"""'Paid on time' uses the payment's date in Jakarta (WIB, UTC+7), in the summary triggers and the raw query alike.

A payment at 02:00 WIB the day after the due date is still the due date in UTC (19:00): it used to count as on
time. One at 23:30 WIB on the due date (16:30 UTC) is on time.
"""

import datetime as dt

import pytest

from sponsorship.dashboard.selectors import admin_scope, money
from tests import factories

from .money_data import bill, months_back, pay
from .test_summary_agrees import rebuilt, table

WIB = dt.timezone(dt.timedelta(hours=7))


@pytest.mark.django_db
def test_on_time_boundary_is_the_jakarta_date(agency, regency_admin):
    late, punctual = (factories.make_sponsor(agency=agency, capacity=2) for _ in range(2))
    for sponsor in (late, punctual):
        factories.sponsor_worker(sponsor, factories.make_worker())
    period = months_back(2)
    invoices = bill(period)
    due = invoices[late.pk].due_date
    pay(invoices[late.pk], dt.datetime.combine(due + dt.timedelta(days=1), dt.time(2, 0), tzinfo=WIB))
    pay(invoices[punctual.pk], dt.datetime.combine(due, dt.time(23, 30), tzinfo=WIB))
    scope = admin_scope(regency_admin)
    rate = money.on_time_rate(scope, months=12)
    assert (rate["invoices_due"], rate["paid_on_time"]) == (2, 1)
    assert rate == money.on_time_rate_raw(scope, months=12)  # summary (triggers) == raw query
    assert table() == rebuilt()
    row = {r["month"]: r for r in money.money_by_month(scope)}[period.isoformat()]
    assert row["on_time_pct"] == 50.0
    assert money.money_by_month(scope) == money.money_by_month_raw(scope)
    assert money.agency_money(scope) == money.agency_money_raw(scope)
