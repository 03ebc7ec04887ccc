"""The reminder scan's coverage part is set-based (billing/reminders.py: coverage_requests, a few queries per
batch of workers); it must write exactly what the per-worker scan it replaced wrote. The old scan is kept here,
verbatim apart from its name, as the reference."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications.services import NotifyRequest
from sponsorship.billing.models import Holiday, Invoice
from sponsorship.billing.reminders import coverage_requests
from sponsorship.billing.selectors.coverage import worker_coverage_status
from sponsorship.core.periods import add_months, local_today, month_start
from sponsorship.people.models import Cohort, CohortMember, Sponsorship, Worker
from sponsorship.people.services.sponsorships import sponsorship_end
from tests import factories
from tests.dashboard.money_data import bill

pytestmark = pytest.mark.django_db


def reference_coverage_requests(*, today: dt.date) -> list[NotifyRequest]:
    """The scan before it was set-based: one worker_coverage_status (several queries) per worker."""
    sponsor_user_of = dict(
        Sponsorship.objects.filter(status=Sponsorship.Status.ACTIVE, sponsor__user__isnull=False).values_list(
            "worker_id", "sponsor__user_id"
        )
    )
    workers = Worker.objects.filter(anonymized_at__isnull=True).filter(
        pk__in=set(sponsor_user_of)
    ) | Worker.objects.filter(anonymized_at__isnull=True, user__isnull=False)
    requests = []
    week = dt.timedelta(days=7)
    for worker in workers.distinct().select_related("occupation").iterator(chunk_size=500):
        status = worker_coverage_status(worker, today=today)
        ctx = {
            "worker_name": worker.full_name,
            "protected_until": status.protected_until,
            "due_date": status.next_due_date,
            "amount_idr": status.arrears_idr,
        }
        sponsor_user = sponsor_user_of.get(worker.pk)
        if status.state == "grace" and status.arrears_months >= 1:
            if sponsor_user:
                requests.append(
                    NotifyRequest(
                        user_id=sponsor_user,
                        kind="coverage_lapsing",
                        context=ctx,
                        dedupe_key=f"worker:{worker.pk}:lapsing:{status.next_due_date}",
                        data={"worker_id": str(worker.pk)},
                        collapse_key=f"worker-{worker.pk}",
                    )
                )
            if worker.user_id:
                requests.append(
                    NotifyRequest(
                        user_id=worker.user_id,
                        kind="worker_at_risk",
                        context=ctx,
                        dedupe_key=f"worker:{worker.pk}:at_risk:{status.next_due_date}",
                        collapse_key="status-kepesertaan",
                        expires_at=timezone.now() + week,
                    )
                )
        elif worker.user_id and status.state == "lapsed":
            requests.append(
                NotifyRequest(
                    user_id=worker.user_id,
                    kind="worker_lapsed",
                    context=ctx,
                    dedupe_key=f"worker:{worker.pk}:lapsed:{status.protected_until}",
                    collapse_key="status-kepesertaan",
                    expires_at=timezone.now() + week,
                )
            )
        elif worker.user_id and status.state == "protected":
            requests.append(
                NotifyRequest(
                    user_id=worker.user_id,
                    kind="worker_protected",
                    context=ctx,
                    dedupe_key=f"worker:{worker.pk}:protected:{status.protected_until}",
                    collapse_key="status-kepesertaan",
                    expires_at=timezone.now() + week,
                )
            )
    return requests


def comparable(requests: list[NotifyRequest]) -> dict[str, tuple]:
    """Keyed by dedupe key (unique per scan); expires_at is now + 7 days, read once per scan in the new code,
    once per request in the old: compared to the minute."""
    out = {}
    for r in requests:
        expires = r.expires_at.replace(second=0, microsecond=0) if r.expires_at else None
        out[r.dedupe_key] = (r.user_id, r.kind, r.context, r.data, r.collapse_key, expires)
    assert len(out) == len(requests)
    return out


@pytest.fixture
def varied(regency, agency):
    """Workers in every state the scan distinguishes: protected (sponsor pays, transport and not), prepaid ahead,
    a gap then paid again, grace (1 and 2 months behind), lapsed, never paid, paid only from next month,
    a bridged month (paid by a pool, sponsor gone), a budget cohort, a sponsor without an account, an app user
    without a sponsor, an anonymized worker, and a holiday on a due date."""
    current = month_start(local_today())
    sponsor = factories.make_sponsor(agency=agency, capacity=3)
    bill(current)  # an invoice to hang the test's coverage rows on (the scan reads only the months)
    seed_worker = factories.make_worker(full_name="Benih Tagihan")
    factories.sponsor_worker(sponsor, seed_worker)
    bill(current)
    invoice = Invoice.objects.filter(sponsor=sponsor).first()
    assert invoice is not None
    Holiday.objects.get_or_create(date=current.replace(day=15), defaults={"name": "Libur uji"})
    Holiday.objects.get_or_create(date=add_months(current, 1).replace(day=15), defaults={"name": "Libur uji 2"})

    def worker(name, months, *, user=False, sponsored=True, with_account=True, occupation="petani"):
        w = factories.make_worker(full_name=name, user=user, occupation=occupation)
        if sponsored:
            s = factories.make_sponsor(agency=agency, capacity=3, user=with_account, full_name=f"Sponsor {name}")
            factories.sponsor_worker(s, w)
        factories.paid_months(w, invoice, *months, current=current)
        return w

    made = {
        "protected": worker("Terlindungi", [-2, -1, 0], user=True),
        "protected_transport": worker("Ojek Terlindungi", [-1, 0], occupation="ojek"),
        "prepaid": worker("Bayar Dimuka", [0, 1, 2, 3], user=True),
        "gap": worker("Bolong", [-4, -3, 0, 2], user=True),
        "grace_1": worker("Telat Sebulan", [-3, -2, -1], user=True),
        "grace_2": worker("Telat Dua", [-3, -2], user=True, occupation="ojek"),
        "grace_no_user": worker("Telat Tanpa Aplikasi", [-2, -1]),
        "lapsed": worker("Putus", [-9, -8], user=True),
        "lapsed_no_user": worker("Putus Tanpa Aplikasi", [-12]),
        "never": worker("Belum Bayar", [], user=True),
        "future_only": worker("Mulai Bulan Depan", [1], user=True),
        "sponsor_no_account": worker("Sponsor Tanpa Akun", [-2, -1], user=True, with_account=False),
        "app_only": worker("Mandiri", [-1], user=True, sponsored=False),
        "bridged": worker("Talangan", [-1, 0], user=True),
        "cohort": worker("Kohort APBD", [-1], user=True),
        "anonymized": worker("Dihapus", [-1, 0], user=True),
        "not_in_scan": worker("Tanpa Siapa", [-1, 0], sponsored=False),
    }
    # the bridged worker's sponsor left; the pool paid the months (sponsor None on the coverage rows above)
    sponsorship_end(
        sponsorship=Sponsorship.objects.get(worker=made["bridged"], status=Sponsorship.Status.ACTIVE),
        reason="sponsor_left",
    )
    cohort = Cohort.objects.create(
        regency=regency, name="APBD uji", funder="apbd", starts_on=add_months(current, -1), funded_until=current
    )
    CohortMember.objects.create(cohort=cohort, worker=made["cohort"])
    Worker.objects.filter(pk=made["anonymized"].pk).update(anonymized_at=timezone.now())
    return made


@pytest.mark.parametrize("days", [0, 10, 14, 16, 40, 75, 200])
def test_set_based_coverage_scan_equals_the_per_worker_scan(varied, days):
    today = local_today() + dt.timedelta(days=days)
    old = comparable(reference_coverage_requests(today=today))
    new = comparable(coverage_requests(today=today, chunk=4))  # fetched 4 rows at a time
    assert new == old
    kinds = {r[1] for r in old.values()}
    if days == 40:  # the fixture reaches every kind the scan writes
        assert kinds == {"coverage_lapsing", "worker_at_risk", "worker_lapsed", "worker_protected"}, kinds


def test_the_scan_is_three_statements_whatever_the_number_of_workers(varied):
    today = local_today() + dt.timedelta(days=40)
    for chunk in (2, 1000):  # fetched 2 rows at a time or all at once: the same statements
        with CaptureQueriesContext(connection) as queries:
            coverage_requests(today=today, chunk=chunk)
        # holidays, rates, and the workers with their paid months and sponsor's user
        assert len(queries) == 3, [q["sql"] for q in queries.captured_queries]


def reference_invoice_reminder_requests(*, today: dt.date) -> list[NotifyRequest]:
    """The invoice part before it read plain values (model instances of every invoice and sponsor)."""
    from django.db.models import Count

    from backend.formats import period_label
    from notifications.services import timezones_for
    from sponsorship.billing.reminders import DUE_SOON_DAYS, OVERDUE_DAYS, _end_of_day

    targets = {
        today + dt.timedelta(days=DUE_SOON_DAYS): ("invoice_due_soon", DUE_SOON_DAYS),
        today: ("invoice_due_today", 0),
    }
    for days in OVERDUE_DAYS:
        targets[today - dt.timedelta(days=days)] = ("invoice_overdue", days)
    invoices = list(
        Invoice.objects.filter(status=Invoice.Status.ISSUED, due_date__in=list(targets), sponsor__user__isnull=False)
        .select_related("sponsor")
        .annotate(workers=Count("lines__worker", distinct=True))
    )
    zones = timezones_for({i.sponsor.user_id for i in invoices if i.sponsor is not None})
    requests = []
    for invoice in invoices:
        kind, days = targets[invoice.due_date]
        sponsor = invoice.sponsor
        user_id = sponsor.user_id
        expires = _end_of_day(max(invoice.due_date, today), zones[user_id])
        requests.append(
            NotifyRequest(
                user_id=user_id,
                kind=kind,
                dedupe_key=f"invoice:{invoice.pk}:reminder:{today}",
                context={
                    "sponsor_name": sponsor.full_name,
                    "amount_idr": invoice.amount_idr,
                    "due_date": invoice.due_date,
                    "invoice_id": invoice.pk,
                    "invoice_number": invoice.number,
                    "days": days,
                    "workers": invoice.workers,
                    "period_label": period_label(invoice.period),
                },
                data={"invoice_id": str(invoice.pk), "due_date": invoice.due_date.isoformat()},
                collapse_key=f"invoice-{invoice.pk}",
                expires_at=expires,
            )
        )
    return requests


def test_invoice_reminders_from_plain_values_equal_the_model_instance_version(varied):
    from sponsorship.billing.reminders import invoice_reminder_requests

    current = month_start(local_today())
    bill(add_months(current, 1))  # every sponsor (with and without an account) billed next month too
    dues = sorted(set(Invoice.objects.filter(status=Invoice.Status.ISSUED).values_list("due_date", flat=True)))
    seen = set()
    for due in dues:
        for days in (-3, 0, 3, 7):
            today = due + dt.timedelta(days=days)
            old = comparable(reference_invoice_reminder_requests(today=today))
            assert comparable(invoice_reminder_requests(today=today)) == old
            seen |= {r[1] for r in old.values()}
    assert seen == {"invoice_due_soon", "invoice_due_today", "invoice_overdue"}
