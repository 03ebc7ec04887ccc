"""The regency admins' daily digest counts overdue bills, not bill lines: a bill for three workers is one bill of
its own amount (the join with its lines once multiplied both)."""

import datetime as dt
import re

import pytest

from notifications.models import Notification
from sponsorship.billing.models import Invoice
from sponsorship.billing.reminders import admin_digests_send
from sponsorship.people.models import Role
from tests import factories
from tests.dashboard.money_data import bill

pytestmark = pytest.mark.django_db


def test_digest_counts_each_overdue_bill_once(regency, agency, settings):
    settings.NOTIFICATIONS_ADMIN_DIGEST = True
    admin = factories.make_user("admin.digest", Role.REGENCY_ADMIN, regency=regency)
    three = factories.make_sponsor(agency=agency, capacity=3)
    one = factories.make_sponsor(agency=agency)
    for _ in range(3):
        factories.sponsor_worker(three, factories.make_worker())
    factories.sponsor_worker(one, factories.make_worker())
    period = dt.date(2026, 11, 1)
    invoices = bill(period)
    total = invoices[three.pk].amount_idr + invoices[one.pk].amount_idr
    assert invoices[three.pk].amount_idr == 3 * invoices[one.pk].amount_idr > 0
    overdue_day = max(i.due_date for i in invoices.values()) + dt.timedelta(days=1)

    assert admin_digests_send(today=overdue_day) == 1
    digest = Notification.objects.get(recipient=admin, kind="admin_digest")
    # "%(workers)s workers at risk, %(days)s bills overdue, %(amount_idr)s in total", in Indonesian
    numbers = [int(n.replace(".", "")) for n in re.findall(r"\d[\d.]*\d|\d", digest.body)]
    assert numbers == [4, 2, total], digest.body
    assert Invoice.objects.filter(status=Invoice.Status.ISSUED).count() == 2
