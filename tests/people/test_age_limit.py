"""The scheduled age check: from the month a worker reaches the regency's age limit (65 by default: members are
under 65), their sponsorship ends and that month is billed to nobody; the month before is the last covered."""

import datetime as dt

import pytest
from django.test import TestCase
from django.utils import timezone

from sponsorship.billing.models import Invoice, InvoiceLine
from sponsorship.billing.services.billing import billing_run
from sponsorship.core.periods import add_months, local_today, month_start
from sponsorship.people.models import LifeEvent, Sponsorship, Worker
from sponsorship.people.services.life_events import workers_end_cover_at_age_limit
from sponsorship.people.services.sponsorships import sponsorship_start
from sponsorship.regions.models import RegencyConfig
from tests import factories

pytestmark = pytest.mark.django_db


def born(years_ago: int, month_offset: int = 0, day: int = 28) -> dt.date:
    month = add_months(month_start(local_today()), month_offset)
    return dt.date(month.year - years_ago, month.month, day)


def worker_born(birth: dt.date, name: str) -> Worker:
    return factories.make_worker(full_name=name, nik=factories.make_nik(birth=birth))


def test_worker_reaching_65_this_month_is_aged_out_and_this_month_released(agency):
    sponsor = factories.make_sponsor(agency=agency, capacity=3)
    turning = worker_born(born(65), "Mbah Turning")
    next_month = worker_born(born(65, month_offset=1), "Belum Waktunya")
    long_ago = worker_born(born(70), "Sudah Tua")
    since = timezone.now() - dt.timedelta(days=200)
    for worker in (turning, next_month, long_ago):
        sponsorship_start(sponsor=sponsor, worker=worker, source="admin", started_at=since)
    this_month = month_start(local_today())
    billing_run(period=this_month, notify=False)
    invoice = Invoice.objects.get(sponsor=sponsor, period=this_month)
    assert invoice.lines.count() == 3

    with TestCase.captureOnCommitCallbacks(execute=True):
        assert workers_end_cover_at_age_limit() == 2
    for worker in (turning, long_ago):
        worker.refresh_from_db()
        assert worker.status == "aged_out"
        ended = Sponsorship.objects.get(worker=worker)
        assert ended.end_reason == "worker_aged_out"
        assert timezone.localtime(ended.ended_at).date() == this_month
    assert Worker.objects.get(pk=next_month.pk).status == "active"
    # This month is released for the aged-out workers (billed to nobody); the invoice is reissued for the other.
    invoice.refresh_from_db()
    assert invoice.status == "void"
    live = InvoiceLine.objects.filter(invoice__status="issued", month=this_month)
    assert list(live.values_list("worker_id", flat=True)) == [next_month.pk]
    assert billing_run(period=this_month, notify=False).invoices == 0
    assert set(LifeEvent.objects.values_list("kind", flat=True)) == {"worker_aged_out"}
    # Idempotent: a second run finds nobody.
    assert workers_end_cover_at_age_limit() == 0


def test_the_regency_limit_is_configuration(agency, regency):
    RegencyConfig.objects.update_or_create(regency=regency, defaults={"max_new_member_age": 60})
    worker = worker_born(born(62), "Enam Puluh Dua")
    younger = worker_born(born(59), "Lima Puluh Sembilan")
    assert workers_end_cover_at_age_limit() == 1
    assert Worker.objects.get(pk=worker.pk).status == "aged_out"
    assert Worker.objects.get(pk=younger.pk).status == "active"


def test_the_check_is_on_the_schedule_and_its_task_is_installed():
    from backend.celery import app, beat_schedule

    entry = beat_schedule()["age-limit-check"]
    import sponsorship.people.tasks  # noqa: F401  (what run_scheduler imports)

    assert entry["task"] in app.tasks
