"""Payday-aware reminders (issue 17 point 4): the regency's paydays, in its own zone, drive pay reminders and the
prepay suggestion; the per-regency wave runs once a local day. Time travel by passing `now`."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from notifications.models import Notification
from sponsorship.billing.reminders import SALARY, THIRTEENTH, THR, TPP, payday_requests, paydays_on
from sponsorship.billing.selectors import payday as payday_selectors
from sponsorship.billing.services.billing import billing_run, invoice_create_prepay
from sponsorship.billing.services.scheduled import payday_dispatch
from sponsorship.regions.models import RegencyConfig, RegencyJobRun, Region
from tests import factories

WIB = ZoneInfo("Asia/Jakarta")
WITA = ZoneInfo("Asia/Makassar")


def at(day, hour, minute=10, tz=WIB):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=tz)


def second_regency(zone=RegencyConfig.Zone.WITA) -> Region:
    """Kabupaten Paser (64.01, WITA) with one village, as an import would make it."""
    province, _ = Region.objects.get_or_create(code="64", defaults={"name": "Kalimantan Timur", "level": 1})
    regency, _ = Region.objects.get_or_create(
        code="64.01", defaults={"name": "Kab. Paser", "level": 2, "parent": province}
    )
    district, _ = Region.objects.get_or_create(
        code="64.01.01", defaults={"name": "Batu Sopang", "level": 3, "parent": regency}
    )
    Region.objects.get_or_create(
        code="64.01.01.2001", defaults={"name": "Batu Kajang", "level": 4, "parent": district, "village_kind": "desa"}
    )
    RegencyConfig.objects.update_or_create(regency=regency, defaults={"timezone": zone})
    return regency


def sponsor_with_workers(agency, n=2, village_code="35.02.17.1001"):
    sponsor = factories.make_sponsor(agency=agency, capacity=3, village_code=village_code)
    for i in range(n):
        factories.sponsor_worker(sponsor, factories.make_worker(full_name=f"Pekerja {i}", village_code=village_code))
    return sponsor


def rows(kind_prefix, user=None):
    qs = Notification.objects.filter(kind__startswith=kind_prefix)
    return list(qs.filter(recipient=user) if user else qs)


@pytest.mark.django_db
def test_paydays_on_the_calendar():
    config = RegencyConfig(salary_day=1, tpp_day=31, thirteenth_month=6, thr_month=3, payday_shift="none")
    assert paydays_on(config, dt.date(2027, 1, 1)) == [SALARY]
    assert paydays_on(config, dt.date(2027, 2, 28)) == [TPP]  # the 31st falls on February's last day
    assert paydays_on(config, dt.date(2027, 1, 31)) == [TPP]
    assert paydays_on(config, dt.date(2027, 6, 1)) == [SALARY, THIRTEENTH]
    assert paydays_on(config, dt.date(2027, 3, 1)) == [SALARY, THR]
    assert paydays_on(config, dt.date(2027, 1, 2)) == []
    assert paydays_on(RegencyConfig(tpp_day=None, payday_shift="none"), dt.date(2027, 1, 31)) == []


@pytest.mark.django_db
def test_paydays_on_a_weekend_or_holiday_move_to_a_working_day(regency):
    """ASN salary is paid on the first working day: August 2027 begins on a Sunday, so the salary (and the 13th
    salary that month) is paid on Monday the 2nd; with Monday a regency holiday, on Tuesday the 3rd."""
    from sponsorship.billing.models import Holiday
    from sponsorship.regions.models import RegencyHoliday

    config = RegencyConfig(regency=regency, salary_day=1, tpp_day=31, thirteenth_month=8, thr_month=None)
    assert dt.date(2027, 8, 1).weekday() == 6
    assert paydays_on(config, dt.date(2027, 8, 1)) == []
    assert paydays_on(config, dt.date(2027, 8, 2)) == [SALARY, THIRTEENTH]
    # The TPP of January 2027 (the 31st, a Sunday) moves into February: Monday the 1st, also the salary day.
    assert paydays_on(config, dt.date(2027, 1, 31)) == []
    assert paydays_on(config, dt.date(2027, 2, 1)) == [SALARY]
    # February's TPP (the 28th, a Sunday) is paid on Monday 1 March with the salary: one salary payday.
    assert paydays_on(config, dt.date(2027, 3, 1)) == [SALARY]
    RegencyHoliday.objects.create(regency=regency, date=dt.date(2027, 8, 2), name="uji: libur daerah")
    assert paydays_on(config, dt.date(2027, 8, 2)) == []
    assert paydays_on(config, dt.date(2027, 8, 3)) == [SALARY, THIRTEENTH]
    # A national holiday counts too; and a regency may pay the working day before instead.
    Holiday.objects.create(date=dt.date(2027, 8, 3), name="uji: libur nasional")
    assert paydays_on(config, dt.date(2027, 8, 4)) == [SALARY, THIRTEENTH]
    config.payday_shift = RegencyConfig.PaydayShift.BACKWARD
    assert paydays_on(config, dt.date(2027, 7, 30)) == [SALARY, THIRTEENTH]  # Friday before Sunday 1 August
    # Another regency's holiday does not move this one's payday.
    other = second_regency()
    assert not RegencyHoliday.objects.filter(regency=other).exists()


@pytest.mark.django_db
def test_payday_wave_reminds_card_payers_at_local_hour_once(regency, agency):
    sponsor = sponsor_with_workers(agency)
    billing_run(period=dt.date(2027, 1, 1), notify=False)
    invoice = sponsor.invoices.get()
    # 1 January 2027 is a national holiday (a Friday): the salary is paid on the first working day, Monday the 4th.
    day = dt.date(2027, 1, 4)

    assert payday_dispatch(now=at(day, 6)) == []  # 06:10 WIB: before the default 07:00 wave
    assert rows("payday") == []

    slots = payday_dispatch(now=at(day, 7))  # eager tasks: the wave runs now (its slot delay is for a broker)
    assert [s.regency_id for s in slots] == [regency.pk] and 0 <= slots[0].delay_s < 3000
    [row] = rows("payday", sponsor.user)
    assert row.kind == "payday_reminder" and row.dedupe_key == f"invoice:{invoice.pk}:reminder:2027-01-04"
    assert row.data["invoice_id"] == str(invoice.pk)
    run = RegencyJobRun.objects.get(job="payday_reminders", regency=regency)
    assert run.local_date == day and run.finished_at and run.result == {"sent": 1}

    assert payday_dispatch(now=at(day, 8)) == []  # done for the local day
    assert payday_dispatch(now=at(day + dt.timedelta(days=1), 7))  # the next day is due again but no payday
    assert len(rows("payday")) == 1


@pytest.mark.django_db
def test_due_soon_and_payday_same_day_send_one(regency, agency):
    """The payday reminder shares the invoice's daily reminder key: the sponsor gets one message that day."""
    from sponsorship.billing.reminders import reminders_scan

    RegencyConfig.objects.filter(regency=regency).update(tpp_day=12)
    sponsor = sponsor_with_workers(agency)
    billing_run(period=dt.date(2027, 1, 1), notify=False)
    day = dt.date(2027, 1, 12)  # three days before the 15th and the TPP day
    reminders_scan(today=day, now=at(day, 0, 5))
    payday_dispatch(now=at(day, 7))
    kinds = [n.kind for n in Notification.objects.filter(recipient=sponsor.user)]
    assert kinds == ["invoice_due_soon"]


@pytest.mark.django_db
def test_each_regency_in_its_own_zone(regency, agency):
    paser = second_regency()
    wib_sponsor = sponsor_with_workers(agency)
    wita_sponsor = sponsor_with_workers(factories.make_agency(paser), village_code="64.01.01.2001")
    billing_run(period=dt.date(2027, 2, 1), notify=False)
    day = dt.date(2027, 2, 1)
    # 23:30 WIB on Jan 31 is already Feb 1 in WITA, but 00:30: too early for Paser's wave; Ponorogo catches up on
    # Jan 31 (its hour has passed and it has not run that day), not a payday
    slots = payday_dispatch(now=at(day - dt.timedelta(days=1), 23, 30))
    assert [(s.regency_id, s.local_date) for s in slots] == [(regency.pk, day - dt.timedelta(days=1))]
    assert rows("payday") == []
    # 06:10 WIB is 07:10 WITA: Paser's wave, not Ponorogo's
    slots = payday_dispatch(now=at(day, 6))
    assert [s.regency_id for s in slots] == [paser.pk] and slots[0].local_date == day
    assert rows("payday", wita_sponsor.user) and not rows("payday", wib_sponsor.user)
    payday_dispatch(now=at(day, 7))
    assert rows("payday", wib_sponsor.user)


@pytest.mark.django_db
def test_thirteenth_salary_suggests_prepay_except_to_those_who_prepaid(regency, agency):
    RegencyConfig.objects.filter(regency=regency).update(thirteenth_month=6, thr_month=None)
    plain = sponsor_with_workers(agency, n=2)
    prepaid = sponsor_with_workers(agency, n=1)
    invoice_create_prepay(sponsor=prepaid, months=12, today=dt.date(2027, 5, 20))
    day = dt.date(2027, 6, 2)  # 1 June is a national holiday (Pancasila): paid the next working day
    payday_dispatch(now=at(day, 7))
    [suggestion] = rows("prepay", plain.user)
    assert suggestion.kind == "prepay_thirteenth"
    assert suggestion.dedupe_key == f"sponsor:{plain.pk}:prepay:thirteenth:2027"
    assert "403.200" in suggestion.body  # 2 workers × Rp16.800 × 12
    assert rows("prepay", prepaid.user) == []
    # the prepaid sponsor's bill is issued: the payday reminder still points at it
    assert [n.kind for n in rows("payday", prepaid.user)] == ["payday_reminder"]


@pytest.mark.django_db
def test_thr_month_suggestion_and_regency_switch(regency, agency):
    RegencyConfig.objects.filter(regency=regency).update(thr_month=3, thirteenth_month=None)
    sponsor = sponsor_with_workers(agency, n=1)
    requests = payday_requests(regency_id=regency.pk, today=dt.date(2027, 3, 1), now=at(dt.date(2027, 3, 1), 7))
    assert [r.kind for r in requests] == ["prepay_thr"] and requests[0].user_id == sponsor.user_id
    RegencyConfig.objects.filter(regency=regency).update(payday_reminders=False)
    assert payday_requests(regency_id=regency.pk, today=dt.date(2027, 3, 1)) == []


@pytest.mark.django_db
def test_excluded_payers_get_no_payday_messages(regency, agency):
    """The one selector: a payroll rail registers an exclusion and its payers drop out of every payday message."""
    RegencyConfig.objects.filter(regency=regency).update(thirteenth_month=6)
    on_payroll = sponsor_with_workers(agency, n=1)
    by_card = sponsor_with_workers(agency, n=1)
    billing_run(period=dt.date(2027, 6, 1), notify=False)

    def exclude(qs):
        return qs.exclude(pk=on_payroll.pk)

    payday_selectors.register_payday_exclusion(exclude)
    try:
        requests = payday_requests(regency_id=regency.pk, today=dt.date(2027, 6, 2), now=at(dt.date(2027, 6, 2), 7))
    finally:
        payday_selectors._EXCLUSIONS.remove(exclude)
    assert {r.user_id for r in requests} == {by_card.user_id}
    assert sorted(r.kind for r in requests) == ["payday_reminder", "prepay_thirteenth"]
