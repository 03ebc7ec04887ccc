"""Hand-over (issue 13, defect 1): a sponsorship that ends releases its unpaid later months to the next sponsor.

The rule is in docs/money-rules.md ("Hand-over"). Driven through the public API, the services and the Midtrans
simulator over HTTP.
"""

import datetime as dt
import json

import pytest
from django.test import TestCase

from sponsorship.billing.models import CoverageMonth, CreditEntry, Invoice, InvoiceLine, PaymentAttempt, RefundCase
from sponsorship.billing.selectors.coverage import worker_coverage_status
from sponsorship.billing.services.billing import billing_run, invoice_create_arrears, invoice_create_prepay
from sponsorship.core.models import AuditLog
from sponsorship.core.periods import add_months, local_today, month_start
from sponsorship.matching.models import Proposal
from sponsorship.people.models import Sponsorship
from sponsorship.people.services.sponsorships import sponsorship_end, sponsorship_start
from tests import factories
from tests.billing.conftest import notification_from_status, sim_control
from tests.matching.conftest import HOME, NEAR, town  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db
NOTIFY = "/api/v1/payments/midtrans/notification/"
WIB = dt.timezone(dt.timedelta(hours=7))


def post_note(client, payload):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(NOTIFY, data=json.dumps(payload), content_type="application/json")


def open_checkout(api, invoice) -> str:
    response = api(invoice.sponsor.user).post(f"/api/v1/sponsor/invoices/{invoice.pk}/pay/")
    assert response.status_code in (200, 201), response.content
    return response.json()["order_id"]


def settle(sim, http, client, order_id, method="bca_va"):
    sim_control(http, sim, "pay", {"order_id": order_id, "method": method})
    response = post_note(client, notification_from_status(order_id))
    assert response.status_code == 200, response.content


def pay(api, sim, http, client, invoice, method="bca_va"):
    settle(sim, http, client, open_checkout(api, invoice), method)
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID


def live_months(worker) -> list:
    return list(
        InvoiceLine.objects.filter(worker=worker, invoice__status__in=["issued", "paid"]).values_list(
            "invoice__sponsor_id", "month"
        )
    )


def test_admin_ends_c_d_accepts_and_pays_everything_worker_stays_protected(
    town,  # noqa: F811
    agency,
    regency_admin,
    api,
    gateway_settings,
    sim,
    http,
    client,
):
    """The failure the product exists to prevent: C's next-month invoice is out, the admin ends C's
    sponsorships, D accepts the re-match proposal and pays all D is billed. The worker must be protected."""
    nxt = add_months(month_start(local_today()), 1)
    c = factories.make_sponsor(agency=agency, village_code=HOME, full_name="Cahyo")
    d = factories.make_sponsor(agency=agency, village_code=NEAR, full_name="Dewi", capacity=3)
    w = factories.make_worker(village_code=HOME)
    factories.sponsor_worker(c, w)
    billing_run(period=nxt, notify=False)
    c_invoice = Invoice.objects.get(sponsor=c)
    assert c_invoice.lines.filter(worker=w, month=nxt).exists()

    response = api(regency_admin).post(f"/api/v1/admin/sponsors/{c.pk}/leave/", {"status": "left"}, format="json")
    assert response.status_code == 200 and response.json()["rematch_proposals"] == 1
    offer = Proposal.objects.get(worker=w, status="offered")
    assert offer.sponsor_id == d.pk
    assert api(d.user).post(f"/api/v1/sponsor/proposals/{offer.pk}/accept/").status_code == 201

    billing_run(period=nxt, notify=False)
    d_invoices = list(Invoice.objects.filter(sponsor=d, status="issued"))
    assert d_invoices, "D was never billed for the month C's invoice held"
    for invoice in d_invoices:
        pay(api, sim, http, client, invoice)

    assert list(CoverageMonth.objects.filter(worker=w, month=nxt).values_list("sponsor_id", flat=True)) == [d.pk]
    assert worker_coverage_status(w, today=nxt + dt.timedelta(days=19)).state == "protected"
    c_invoice.refresh_from_db()
    assert c_invoice.status == Invoice.Status.VOID and c_invoice.void_reason
    # Billed once: the month is on exactly one live invoice, D's (paid).
    assert live_months(w) == [(d.pk, nxt)]
    audit = AuditLog.objects.get(action="invoice.handover_release", object_id=str(c_invoice.pk))
    premium = c_invoice.lines.get().amount_idr
    assert audit.after["released"] == [{"worker_id": w.pk, "month": nxt.isoformat(), "amount_idr": premium}]
    assert audit.after["reissued_as"] is None  # C had no other worker: voided, nothing to reissue
    # A second run bills nothing more.
    assert billing_run(period=nxt, notify=False).invoices == 0


@pytest.fixture
def two_workers(agency, gateway_settings):
    """C sponsors w1 and w2 since months ago; C's December invoice holds both."""
    c = factories.make_sponsor(agency=agency, full_name="Cahyo", capacity=3)
    d = factories.make_sponsor(agency=agency, full_name="Dewi", capacity=3)
    w1, w2 = factories.make_worker(full_name="Slamet"), factories.make_worker(full_name="Siti", sex="F")
    since = dt.datetime(2026, 6, 1, 9, tzinfo=WIB)
    s1 = sponsorship_start(sponsor=c, worker=w1, source="admin", started_at=since)
    sponsorship_start(sponsor=c, worker=w2, source="admin", started_at=since)
    billing_run(period=dt.date(2026, 12, 1), notify=False)
    return c, d, w1, w2, s1, Invoice.objects.get(sponsor=c, period=dt.date(2026, 12, 1))


def end_and_hand_over(s1, d, w1, day):
    at = dt.datetime.combine(day, dt.time(10), tzinfo=WIB)
    assert sponsorship_end(sponsorship=s1, reason=Sponsorship.EndReason.OTHER, ended_at=at)
    return sponsorship_start(sponsor=d, worker=w1, source="admin", started_at=at)


def test_ending_one_sponsorship_reissues_the_invoice_with_the_remaining_lines(two_workers):
    c, d, w1, w2, s1, old = two_workers
    end_and_hand_over(s1, d, w1, dt.date(2026, 12, 3))  # before December's due date: December moves to D
    old.refresh_from_db()
    assert old.status == Invoice.Status.VOID
    new = Invoice.objects.get(replaces=old)
    assert new.status == Invoice.Status.ISSUED and new.sponsor_id == c.pk and new.due_date == old.due_date
    assert list(new.lines.values_list("worker_id", "month")) == [(w2.pk, dt.date(2026, 12, 1))]
    assert new.amount_idr == old.amount_idr // 2 and new.sequence == 2 and new.kind == "monthly"
    # December of w1 is billed to D by the run (a late addition of this month), once.
    run = billing_run(period=dt.date(2026, 12, 1), notify=False, now=dt.datetime(2026, 12, 4, 8, tzinfo=WIB))
    assert run.invoices == 1
    assert live_months(w1) == [(d.pk, dt.date(2026, 12, 1))]
    assert billing_run(period=dt.date(2026, 12, 1), notify=False).invoices == 0


def test_a_month_already_due_when_the_sponsorship_ended_stays_with_the_old_sponsor(two_workers):
    c, d, w1, w2, s1, old = two_workers
    end_and_hand_over(s1, d, w1, dt.date(2026, 12, 16))  # December was due on the 15th: C owes it
    old.refresh_from_db()
    assert old.status == Invoice.Status.ISSUED and old.lines.count() == 2
    assert not Invoice.objects.filter(replaces=old).exists()


def test_paid_lines_are_never_touched(two_workers, api, sim, http, client):
    c, d, w1, w2, s1, old = two_workers
    pay(api, sim, http, client, old)
    end_and_hand_over(s1, d, w1, dt.date(2026, 12, 3))
    old.refresh_from_db()
    assert old.status == Invoice.Status.PAID
    assert CoverageMonth.objects.filter(worker=w1, month=dt.date(2026, 12, 1), sponsor=c).exists()
    # Covered, so nobody is billed for it again.
    assert billing_run(period=dt.date(2026, 12, 1), notify=False).invoices == 0


def test_prepay_and_arrears_of_the_next_sponsor_take_the_released_months_once(two_workers):
    c, d, w1, w2, s1, old = two_workers
    end_and_hand_over(s1, d, w1, dt.date(2026, 12, 3))
    arrears = invoice_create_arrears(sponsor=d, today=dt.date(2026, 12, 20))
    assert list(arrears.lines.values_list("worker_id", "month")) == [(w1.pk, dt.date(2026, 12, 1))]
    prepay = invoice_create_prepay(sponsor=d, months=2, today=dt.date(2026, 12, 20))
    assert list(prepay.lines.values_list("month", flat=True)) == [dt.date(2027, 1, 1), dt.date(2027, 2, 1)]


def test_prepay_of_the_next_sponsor_starts_at_the_released_month(agency, gateway_settings):
    c = factories.make_sponsor(agency=agency, full_name="Cahyo")
    d = factories.make_sponsor(agency=agency, full_name="Dewi")
    w = factories.make_worker()
    since = dt.datetime(2026, 6, 1, 9, tzinfo=WIB)
    s = sponsorship_start(sponsor=c, worker=w, source="admin", started_at=since)
    c_prepay = invoice_create_prepay(sponsor=c, months=3, today=dt.date(2026, 11, 20))  # Nov, Dec, Jan: unpaid
    end_and_hand_over(s, d, w, dt.date(2026, 11, 25))
    c_prepay.refresh_from_db()
    assert c_prepay.status == Invoice.Status.VOID  # November was due on the 16th (15th a Sunday): C keeps it
    kept = Invoice.objects.get(replaces=c_prepay)
    assert list(kept.lines.values_list("month", flat=True)) == [dt.date(2026, 11, 1)]
    d_prepay = invoice_create_prepay(sponsor=d, months=2, today=dt.date(2026, 11, 26))
    assert list(d_prepay.lines.values_list("month", flat=True)) == [dt.date(2026, 12, 1), dt.date(2027, 1, 1)]


def test_c_pays_the_old_invoice_after_the_lines_moved(two_workers, api, sim, http, client):
    """The VA was shown before the hand-over and paid after it: the payment settles the reissue (w2) and the
    released month (w1) becomes credit, since C still sponsors; no double coverage, no lost money."""
    c, d, w1, w2, s1, old = two_workers
    order_id = open_checkout(api, old)
    end_and_hand_over(s1, d, w1, dt.date(2026, 12, 3))
    settle(sim, http, client, order_id)
    new = Invoice.objects.get(replaces=old)
    new.refresh_from_db()
    assert new.status == Invoice.Status.PAID
    assert PaymentAttempt.objects.get(order_id=order_id).status == "settled"
    assert list(CoverageMonth.objects.values_list("worker_id", "sponsor_id")) == [(w2.pk, c.pk)]
    assert CreditEntry.objects.get(sponsor=c, kind="surplus").amount_idr == old.amount_idr - new.amount_idr
    # D is billed for w1's December and pays it: one coverage row per worker-month.
    run = billing_run(period=dt.date(2026, 12, 1), notify=False, now=dt.datetime(2026, 12, 4, 8, tzinfo=WIB))
    assert run.invoices == 1
    pay(api, sim, http, client, Invoice.objects.get(sponsor=d))
    assert sorted(CoverageMonth.objects.values_list("worker_id", "sponsor_id")) == sorted(
        [(w1.pk, d.pk), (w2.pk, c.pk)]
    )


def test_c_pays_the_voided_invoice_after_leaving_gets_a_refund_case(agency, gateway_settings, api, sim, http, client):
    c = factories.make_sponsor(agency=agency, full_name="Cahyo")
    w = factories.make_worker()
    s = sponsorship_start(sponsor=c, worker=w, source="admin", started_at=dt.datetime(2026, 6, 1, 9, tzinfo=WIB))
    billing_run(period=dt.date(2026, 12, 1), notify=False)
    old = Invoice.objects.get(sponsor=c)
    order_id = open_checkout(api, old)
    assert sponsorship_end(sponsorship=s, reason="other", ended_at=dt.datetime(2026, 12, 2, 9, tzinfo=WIB))
    settle(sim, http, client, order_id)
    assert not CoverageMonth.objects.exists()
    case = RefundCase.objects.get(sponsor=c)
    assert case.amount_idr == old.amount_idr and case.reason == "void_invoice_paid"


def test_reissue_uses_credit_and_restores_what_the_old_one_used(two_workers):
    c, d, w1, w2, s1, old = two_workers
    CreditEntry.objects.create(sponsor=c, kind="surplus", amount_idr=5_000, note="test")
    # Re-issue the same situation with credit: void the plain one first, bill again.
    from sponsorship.billing.services.billing import invoice_void

    invoice_void(invoice=old, reason="test")
    billing_run(period=dt.date(2026, 12, 1), notify=False)
    with_credit = Invoice.objects.get(sponsor=c, status="issued")
    assert with_credit.credit_applied_idr == 5_000
    end_and_hand_over(s1, d, w1, dt.date(2026, 12, 3))
    new = Invoice.objects.get(replaces=with_credit)
    assert new.credit_applied_idr == 5_000 and new.amount_idr == new.subtotal_idr - 5_000
    assert sum(CreditEntry.objects.filter(sponsor=c).values_list("amount_idr", flat=True)) == 0


def test_money_returned_on_a_payment_that_paid_the_reissue_takes_its_coverage_back(two_workers, api, sim, http, client):
    """A refund made outside Pengampu of the forwarded payment undoes it like any payment: the reissue's coverage
    is removed and the surplus credit it bought is reversed (nothing is left with the sponsor)."""
    c, d, w1, w2, s1, old = two_workers
    order_id = open_checkout(api, old)
    end_and_hand_over(s1, d, w1, dt.date(2026, 12, 3))
    settle(sim, http, client, order_id, method="gopay")  # a VA cannot be refunded
    new = Invoice.objects.get(replaces=old)
    assert PaymentAttempt.objects.get(order_id=order_id).invoice_id == new.pk
    sim_control(http, sim, "refund", {"order_id": order_id})
    assert post_note(client, notification_from_status(order_id, status_code="200")).status_code == 200
    new.refresh_from_db()
    assert new.status == Invoice.Status.REFUNDED and not CoverageMonth.objects.exists()
    assert sum(CreditEntry.objects.filter(sponsor=c).values_list("amount_idr", flat=True)) == 0


@pytest.mark.django_db(transaction=True)
def test_a_billing_run_and_a_sponsorship_end_in_parallel_never_leave_the_month_with_the_old_sponsor(agency):
    """The race that matters: the run reads C's sponsorship as active while it ends. The hand-over takes the billing
    lock (shared) before it moves anything, so either the run bills C and the end releases it, or the end comes
    first and the run skips it: never a live line of the ended sponsorship, never a deadlock."""
    import threading

    from tests.factories import restore_reference_rows

    restore_reference_rows()
    pairs = []
    for i in range(6):
        c = factories.make_sponsor(agency=agency, full_name=f"Cahyo {i}")
        w = factories.make_worker(full_name=f"Pekerja {i}")
        pairs.append(
            sponsorship_start(sponsor=c, worker=w, source="admin", started_at=dt.datetime(2026, 6, 1, tzinfo=WIB))
        )
    barrier, errors = threading.Barrier(len(pairs) + 1), []

    def run():
        from django.db import connection as conn

        try:
            barrier.wait()
            billing_run(period=dt.date(2026, 12, 1), notify=False)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            conn.close()

    def end(sponsorship):
        from django.db import connection as conn

        try:
            barrier.wait()
            sponsorship_end(sponsorship=sponsorship, reason="other", ended_at=dt.datetime(2026, 12, 2, 9, tzinfo=WIB))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=run)] + [threading.Thread(target=end, args=(s,)) for s in pairs]
    [t.start() for t in threads]
    [t.join(30) for t in threads]
    assert not errors, errors
    assert Sponsorship.objects.filter(status="active").count() == 0
    assert not InvoiceLine.objects.filter(invoice__status__in=["issued", "paid"]).exists()
