"""Per-regency rates and scheduling: own rate rows win, billing runs at each regency's local hour, once a day,
spread over slots; a single WIB regency bills as before (00:30 WIB + its slot)."""

import collections
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from sponsorship.billing.models import Invoice, PremiumRate, Sector
from sponsorship.billing.services.billing import billing_run, invoice_create_prepay
from sponsorship.billing.services.rates import RateBook
from sponsorship.billing.services.scheduled import billing_dispatch, billing_run_for_regency
from sponsorship.regions import scheduling
from sponsorship.regions.models import RegencyConfig, RegencyJobRun
from tests import factories
from tests.billing.test_payday import second_regency, sponsor_with_workers

WIB = ZoneInfo("Asia/Jakarta")


def at(day, hour, minute=30):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=WIB)


def own_rate(regency, **extra):
    return PremiumRate.objects.create(
        name=f"Tarif {regency.name}",
        valid_from=dt.date(2020, 1, 1),
        regency=regency,
        declared_income_idr=2_000_000,  # JKK 1% = 20.000 + JKM 6.800
        **extra,
    )


@pytest.mark.django_db
def test_own_rate_wins_for_that_regency_only(regency):
    paser = second_regency()
    own_rate(paser)
    book = RateBook.load()
    month = dt.date(2026, 2, 1)
    national = book.premium(month, sector=Sector.NON_TRANSPORT)
    assert national.amount_idr == 16_800  # the national default is unchanged
    assert book.premium(month, sector=Sector.NON_TRANSPORT, regency_id=regency.pk).amount_idr == 16_800
    assert book.premium(month, sector=Sector.NON_TRANSPORT, regency_id=paser.pk).amount_idr == 26_800
    assert book.premium(month, sector=Sector.TRANSPORT, regency_id=paser.pk).amount_idr == 26_800


@pytest.mark.django_db
def test_one_run_prices_each_regency_with_its_rows(regency, agency):
    paser = second_regency()
    own_rate(paser)
    wib = sponsor_with_workers(agency, n=2)
    wita = sponsor_with_workers(factories.make_agency(paser), n=2, village_code="64.01.01.2001")
    result = billing_run(period=dt.date(2027, 1, 1), notify=False)
    assert result.invoices == 2
    assert wib.invoices.get().amount_idr == 2 * 16_800
    assert wita.invoices.get().amount_idr == 2 * 26_800
    assert {line.rate.regency_id for line in wita.invoices.get().lines.select_related("rate")} == {paser.pk}
    # a prepay of the other regency's sponsor is priced with its rows too
    invoice = invoice_create_prepay(sponsor=wita, months=2, today=dt.date(2027, 1, 20))
    assert invoice.subtotal_idr == 2 * 2 * 26_800


@pytest.mark.django_db
def test_a_regency_run_bills_only_its_regency(regency, agency):
    paser = second_regency()
    wib = sponsor_with_workers(agency, n=1)
    wita = sponsor_with_workers(factories.make_agency(paser), n=1, village_code="64.01.01.2001")
    billing_run(period=dt.date(2027, 1, 1), notify=False, regency_id=paser.pk)
    assert wita.invoices.count() == 1 and wib.invoices.count() == 0


@pytest.mark.django_db
def test_billing_runs_at_each_local_hour_once_a_day(regency, agency):
    paser = second_regency(RegencyConfig.Zone.WIT)  # WIT is WIB + 2 hours
    wib = sponsor_with_workers(agency, n=1)
    wit = sponsor_with_workers(factories.make_agency(paser), n=1, village_code="64.01.01.2001")
    day = dt.date(2026, 12, 22)  # the first day within the issue window of January
    january = dt.date(2027, 1, 1)
    before = day - dt.timedelta(days=1)
    # the first tick on the 21st (00:30 WIB, 02:30 WIT): both regencies' hour has come, both run for the 21st
    assert {s.local_date for s in billing_dispatch(now=at(before, 0))} == {before}
    assert not Invoice.objects.filter(period=january).exists()

    # 22:30 WIB on the 21st is 00:30 WIT on the 22nd: Paser's run, not Ponorogo's
    slots = billing_dispatch(now=at(before, 22))
    assert [(s.regency_id, s.local_date) for s in slots] == [(paser.pk, day)]
    assert wit.invoices.filter(period=january).count() == 1 and not wib.invoices.filter(period=january).exists()

    slots = billing_dispatch(now=at(day, 0))  # 00:30 WIB: Ponorogo's, as before the per-regency schedule
    assert [s.regency_id for s in slots] == [regency.pk]
    assert wib.invoices.filter(period=january).count() == 1

    assert billing_dispatch(now=at(day, 1)) == []  # once a local day
    assert billing_run_for_regency(regency_id=regency.pk, local_date=day) is None  # a duplicate task: no-op
    runs = RegencyJobRun.objects.filter(job="billing", local_date=day).order_by("regency_id")
    assert sorted(r.regency_id for r in runs) == sorted([regency.pk, paser.pk])
    assert all(r.finished_at for r in runs)
    assert Invoice.objects.filter(period=january).count() == 2


@pytest.mark.django_db
def test_a_failed_run_gives_its_claim_back(regency, agency, monkeypatch):
    from sponsorship.billing.services import scheduled

    sponsor_with_workers(agency, n=1)
    day = dt.date(2026, 12, 22)

    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(scheduled, "billing_run", broken)
    with pytest.raises(RuntimeError):
        billing_run_for_regency(regency_id=regency.pk, local_date=day)
    assert not RegencyJobRun.objects.exists()
    monkeypatch.undo()
    assert billing_run_for_regency(regency_id=regency.pk, local_date=day)


@pytest.mark.django_db
def test_a_crashed_claim_is_taken_again_after_it_goes_stale(regency):
    day = dt.date(2026, 12, 22)
    now = at(day, 0)
    first = scheduling.job_claim(job="billing", regency_id=regency.pk, local_date=day, now=now)
    assert first is not None
    assert scheduling.job_claim(job="billing", regency_id=regency.pk, local_date=day, now=now) is None
    later = now + scheduling.STALE_AFTER + dt.timedelta(minutes=1)
    assert scheduling.job_claim(job="billing", regency_id=regency.pk, local_date=day, now=later) == first


def test_slots_are_stable_and_spread():
    codes = [f"{p:02d}.{r:02d}" for p in range(11, 95) for r in range(1, 8)][:514]  # ~ every regency and city
    delays = [scheduling.slot_delay(c) for c in codes]
    assert delays == [scheduling.slot_delay(c) for c in codes]
    assert all(0 <= d < scheduling.SPREAD_SECONDS and d % scheduling.SLOT_SECONDS == 0 for d in delays)
    per_slot = collections.Counter(delays)
    slots = scheduling.SPREAD_SECONDS // scheduling.SLOT_SECONDS
    assert len(per_slot) > 0.9 * slots  # nearly every slot used
    assert max(per_slot.values()) <= 4 * len(codes) / slots  # no slot holds more than 4x the mean
