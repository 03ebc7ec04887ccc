"""Issue 13 (from defect 6): "paid on time" is judged on the date in the regency's own zone, not Jakarta's.

A WITA (UTC+8) regency: a payment at 00:30 WITA on the day after the due date is 23:30 WIB on the due date, so
Jakarta's calendar called it on time; it is late. One at 23:30 WITA on the due date is on time in both. In a WIT
(UTC+9) regency, 00:30 WIT after the due date is 22:30 WIB on it: late too. The summary (triggers) and the raw
recomputation agree, and changing the regency's zone recomputes the summary.
"""

import datetime as dt

import pytest

from sponsorship.dashboard.selectors import admin_scope, money
from sponsorship.regions.models import RegencyConfig
from tests import factories

from .money_data import bill, months_back, pay
from .test_summary_agrees import rebuilt, table

WITA = dt.timezone(dt.timedelta(hours=8))
WIT = dt.timezone(dt.timedelta(hours=9))


def _rate(scope):
    rate = money.on_time_rate(scope, months=12)
    assert rate == money.on_time_rate_raw(scope, months=12)
    assert money.agency_money(scope) == money.agency_money_raw(scope)
    assert money.money_by_month(scope) == money.money_by_month_raw(scope)
    assert table() == rebuilt()
    return rate["invoices_due"], rate["paid_on_time"]


@pytest.mark.django_db
@pytest.mark.parametrize(("zone", "offset"), [(RegencyConfig.Zone.WITA, WITA), (RegencyConfig.Zone.WIT, WIT)])
def test_on_time_uses_the_regency_zone_near_midnight(agency, regency, regency_admin, zone, offset):
    RegencyConfig.objects.filter(regency=regency).update(timezone=zone)
    late, punctual = (factories.make_sponsor(agency=agency, capacity=2) for _ in range(2))
    for sponsor in (late, punctual):
        factories.sponsor_worker(sponsor, factories.make_worker())
    invoices = bill(months_back(2))
    due = invoices[late.pk].due_date
    pay(invoices[late.pk], dt.datetime.combine(due + dt.timedelta(days=1), dt.time(0, 30), tzinfo=offset))
    pay(invoices[punctual.pk], dt.datetime.combine(due, dt.time(23, 30), tzinfo=offset))
    scope = admin_scope(regency_admin)
    assert _rate(scope) == (2, 1)  # on Jakarta's calendar both were "on time"

    # the regency goes back to WIB (an admin's correction): the summary follows at once
    RegencyConfig.objects.filter(regency=regency).update(timezone=RegencyConfig.Zone.WIB)
    assert _rate(scope) == (2, 2)
    config = RegencyConfig.objects.get(regency=regency)
    config.timezone = zone
    config.save()
    assert _rate(scope) == (2, 1)
    # other settings change: nothing to recompute; the row goes: the regency is WIB again
    RegencyConfig.objects.filter(regency=regency).update(village_target=7)
    assert _rate(scope) == (2, 1)
    RegencyConfig.objects.filter(regency=regency).delete()
    assert _rate(scope) == (2, 2)
    RegencyConfig.objects.create(regency=regency, timezone=zone)
    assert _rate(scope) == (2, 1)
