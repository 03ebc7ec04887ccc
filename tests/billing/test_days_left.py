"""Days of protection left (billing/selectors/protection_clock.py) and the reminders it drives
(billing/protection_reminders.py), with time travel through the scans' `now`."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from notifications.models import Notification
from sponsorship.billing.models import Invoice, ProtectionAction
from sponsorship.billing.protection_reminders import protection_clock_scan, threshold_for
from sponsorship.billing.selectors.protection_clock import clock_from, worker_clock
from sponsorship.people.models import Cohort, CohortMember
from sponsorship.regions.models import RegencyConfig
from tests import factories
from tests.dashboard.money_data import pay

pytestmark = pytest.mark.django_db
WIB = ZoneInfo("Asia/Jakarta")
D = dt.date


def wib(day: dt.date, hour: int = 8) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=WIB)


# -- the clock, pure ---------------------------------------------------------------------------------------------
def test_protected_through_the_end_of_the_paid_run():
    c = clock_from([D(2026, 11, 1), D(2026, 12, 1)], None, D(2026, 12, 24))
    assert (c.protected, c.ends_on, c.days_left, c.by_cohort, c.paid_ahead) == (True, D(2026, 12, 31), 7, False, False)
    prepaid = clock_from([D(2026, 12, 1), D(2027, 1, 1), D(2027, 2, 1)], None, D(2026, 12, 24))
    assert prepaid.ends_on == D(2027, 2, 28) and prepaid.days_left == 66


def test_a_gap_then_a_paid_month_is_paid_ahead_and_the_last_day_counts_zero():
    c = clock_from([D(2026, 12, 1), D(2027, 2, 1)], None, D(2026, 12, 31))
    assert (c.ends_on, c.days_left, c.paid_ahead) == (D(2026, 12, 31), 0, True)


def test_ended_and_never_protected():
    ended = clock_from([D(2026, 10, 1)], None, D(2026, 12, 2))
    assert (ended.protected, ended.ends_on, ended.days_left) == (False, D(2026, 10, 31), 0)
    never = clock_from([], None, D(2026, 12, 2))
    assert (never.protected, never.ends_on, never.days_left) == (False, None, None)


def test_a_budget_cohort_protects_to_its_funding_end_then_paid_months_carry_on():
    c = clock_from([], D(2026, 12, 31), D(2026, 11, 16))
    assert (c.protected, c.ends_on, c.days_left, c.by_cohort) == (True, D(2026, 12, 31), 45, True)
    carried = clock_from([D(2027, 1, 1)], D(2026, 12, 31), D(2026, 12, 20))
    assert carried.ends_on == D(2027, 1, 31) and carried.by_cohort


def test_the_threshold_due_is_the_nearest_not_yet_passed():
    t = (2, 7, 14)
    assert [threshold_for(d, t) for d in (20, 15, 14, 13, 8, 7, 6, 3, 2, 0)] == [None, None, 14, 14, 14, 7, 7, 7, 2, 2]


# -- reminders with time travel --------------------------------------------------------------------------------
@pytest.fixture
def paid_to_december(regency, sponsor):
    """A sponsored worker (with the app) whose December is paid; January's bill is issued, unpaid."""
    worker = factories.make_worker(user=True)
    factories.sponsor_worker(sponsor, worker)
    from tests.dashboard.money_data import bill

    december = bill(D(2026, 12, 1))[sponsor.pk]
    pay(december, wib(D(2026, 12, 5)))
    january = bill(D(2027, 1, 1))[sponsor.pk]
    return worker, sponsor, january


def sent(worker, kind=None):
    qs = ProtectionAction.objects.filter(worker=worker)
    return list(qs.filter(kind=kind) if kind else qs)


def test_reminders_fire_once_per_threshold_over_the_month(paid_to_december):
    worker, sponsor, january = paid_to_december
    assert worker_clock(worker.pk, D(2026, 12, 10)).days_left == 21
    for day in range(10, 32):  # every day of December, twice (an hourly scan that runs again)
        protection_clock_scan(now=wib(D(2026, 12, day)))
        protection_clock_scan(now=wib(D(2026, 12, day), 15))
    reminded = sorted((a.detail["threshold"], a.kind) for a in sent(worker) if a.kind.startswith("reminded"))
    assert reminded == [
        (2, "reminded_sponsor"),
        (2, "reminded_worker"),
        (7, "reminded_sponsor"),
        (7, "reminded_worker"),
        (14, "reminded_sponsor"),
        (14, "reminded_worker"),
    ]
    days = {a.detail["threshold"]: a.at.astimezone(WIB).date() for a in sent(worker, "reminded_sponsor")}
    assert days == {14: D(2026, 12, 17), 7: D(2026, 12, 24), 2: D(2026, 12, 29)}
    to_sponsor = Notification.objects.filter(recipient=sponsor.user, kind="protection_ending_sponsor")
    assert to_sponsor.count() == 3
    body = to_sponsor.get(dedupe_key__contains=":7:").body
    assert january.number in body and "31 Desember 2026" in body  # which bill, until when
    to_worker = Notification.objects.get(recipient=worker.user, dedupe_key__contains=":7:")
    assert to_worker.kind == "protection_ending_worker"
    assert "Perlindungan BPJS Anda berakhir 7 hari lagi (31 Desember 2026)" in to_worker.body


def test_a_scan_that_was_down_sends_only_the_nearest_threshold(paid_to_december):
    worker, _, _ = paid_to_december
    protection_clock_scan(now=wib(D(2026, 12, 27)))  # 4 days left: 14 and 7 were missed
    assert sorted(a.detail["threshold"] for a in sent(worker, "reminded_sponsor")) == [7]


def test_paying_january_moves_the_end_and_stops_the_reminders(paid_to_december):
    worker, _, january = paid_to_december
    protection_clock_scan(now=wib(D(2026, 12, 17)))
    pay(january, wib(D(2026, 12, 18)))
    for day in range(18, 32):
        protection_clock_scan(now=wib(D(2026, 12, day)))
    assert [a.detail["threshold"] for a in sent(worker, "reminded_sponsor")] == [14]
    assert worker_clock(worker.pk, D(2026, 12, 31)).ends_on == D(2027, 1, 31)


def test_each_regency_reminds_on_its_own_calendar_day(paid_to_december):
    worker, _, _ = paid_to_december
    moment = dt.datetime(2026, 12, 16, 16, 30, tzinfo=dt.UTC)  # 23:30 WIB on the 16th, 01:30 WIT on the 17th
    protection_clock_scan(now=moment)
    assert not sent(worker)
    RegencyConfig.objects.update_or_create(regency=worker.village.parent.parent, defaults={"timezone": "Asia/Jayapura"})
    protection_clock_scan(now=moment)
    assert {a.detail["threshold"] for a in sent(worker)} == {14}


def test_the_reminder_days_are_a_setting(paid_to_december, settings):
    settings.PROTECTION_REMINDER_DAYS = [3]
    worker, _, _ = paid_to_december
    for day in range(10, 32):
        protection_clock_scan(now=wib(D(2026, 12, day)))
    assert [a.detail["threshold"] for a in sent(worker, "reminded_sponsor")] == [3]


def test_a_cohort_member_is_reminded_before_the_funding_ends(regency):
    worker = factories.make_worker(user=True)
    cohort = Cohort.objects.create(
        regency=regency, name="APBD 2026", funder="apbd", starts_on=D(2026, 3, 1), funded_until=D(2026, 12, 31)
    )
    CohortMember.objects.create(cohort=cohort, worker=worker)
    protection_clock_scan(now=wib(D(2026, 12, 24)))
    (action,) = sent(worker, "reminded_worker")
    assert action.detail["by_cohort"] is True and action.detail["days_left"] == 7


# -- the APIs ------------------------------------------------------------------------------------------------
def test_worker_status_and_sponsor_overview_show_days_left(paid_to_december, api, monkeypatch):
    worker, sponsor, _ = paid_to_december
    monkeypatch.setattr("sponsorship.billing.selectors.overview.local_today", lambda: D(2026, 12, 24))
    body = api(worker.user).get("/api/v1/worker/status/").json()
    assert body["days_left"] == 7 and body["protection_ends_on"] == "2026-12-31"
    assert body["days_left_text"] == "Perlindungan BPJS Anda berakhir 7 hari lagi (31 Desember 2026)."
    overview = api(sponsor.user).get("/api/v1/sponsor/overview/").json()
    (row,) = overview["workers"]
    assert row["days_left"] == 7 and row["protection_ends_on"] == "2026-12-31"
    assert Invoice.objects.filter(sponsor=sponsor, status="issued").exists()
