"""The one order in which billing takes its locks, and the functions that take them.

Two transactions that take locks in the same order never deadlock: one of them waits, the other finishes.
Every billing transaction takes what it needs from this list, top to bottom, never going back up:

1. the per-order advisory lock (`order_lock`): one Midtrans order processed at a time (notification copies and
   out-of-order siblings arrive together); taken before any row lock;
2. the billing advisory lock (`billing_lock`): the monthly run takes it exclusively, per-sponsor invoicing
   (prepay, arrears) shares it, so a run and a prepay never both bill a worker-month;
2b. the per-worker advisory lock (`worker_lock`): the bridge fund and the self-pay hand-over decide one worker's
   coming month at a time (services/bridge.py, services/self_pay.py);
3. sponsor rows (`lock_sponsor`, `lock_sponsor_for_invoicing`); several sponsors (the run's credit holders) in
   id order;
4. invoice rows of that sponsor (`lock_invoice`, `lock_invoices`); several in id order;
4b. a bridge pool's row (`lock_pool`), after the invoices the pool's payment takes a month off;
5. the payment attempt (`lock_payment` takes 3 → 4 → 5 for one attempt);
6. refund cases of that attempt (`lock_refund_cases`), in id order; an admin refunding or resolving one case
   locks only that case (`lock_refund_case`) and nothing after it;
7. coverage rows (`coverage_remove_invoice` locks an invoice's rows in (worker, month) order; the remittance
   export locks a month's rows) — last: nothing is locked after them.

Credit entries are append-only (inserted, never locked): a sponsor's balance is read under the sponsor's lock.
Gateway calls never happen while any of these is held (refunds and checkouts commit first, then call).
All locks are transaction-level: they go with the commit or rollback, so every caller is inside
`transaction.atomic()`.
"""

from django.db import connection
from django.db.models import QuerySet

from sponsorship.billing.models import BridgePool, Invoice, PaymentAttempt, RefundCase
from sponsorship.people.models import Sponsor

# "PENG" + 1: the key of the billing advisory lock (2.)
BILLING_ADVISORY_KEY = 0x50_45_4E_47_01


def order_lock(order_id: str) -> None:
    """1. One Midtrans order at a time (waits for another transaction processing the same order)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"midtrans:{order_id}"])


def billing_lock(*, exclusive: bool) -> None:
    """2. Exclusive for the monthly run, shared for per-sponsor invoicing."""
    fn = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {fn}(%s)", [BILLING_ADVISORY_KEY])


def worker_lock(worker_id: int) -> None:
    """2b. One bridge/self-pay decision per worker at a time."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"bridge:worker:{worker_id}"])


def lock_pool(pool_id: int):
    """4b. A bridge pool's row (its balance is read and debited under it)."""
    return BridgePool.objects.select_for_update().get(pk=pool_id)


def lock_sponsor(sponsor_id: int) -> Sponsor | None:
    """3. The sponsor's row (None if it does not exist)."""
    return Sponsor.objects.select_for_update().filter(pk=sponsor_id).first()


def lock_sponsor_for_invoicing(sponsor_id: int) -> Sponsor:
    """2 (shared) → 3: writing a per-sponsor invoice."""
    billing_lock(exclusive=False)
    return Sponsor.objects.select_for_update().get(pk=sponsor_id)


def lock_invoice(invoice: Invoice) -> Invoice:
    """3 → 4: the invoice's sponsor, then the invoice (fresh from the database)."""
    if invoice.sponsor_id is not None:
        lock_sponsor(invoice.sponsor_id)
    return Invoice.objects.select_for_update().get(pk=invoice.pk)


def lock_invoices(queryset: QuerySet) -> list[Invoice]:
    """4, several invoices (the caller already holds their sponsor's lock): in id order."""
    return list(queryset.select_for_update().order_by("pk"))


def lock_payment(attempt: PaymentAttempt) -> tuple[Invoice, PaymentAttempt]:
    """3 → 4 → 5: sponsor, invoice, attempt (both returned fresh from the database)."""
    sponsor_id = Invoice.objects.filter(pk=attempt.invoice_id).values_list("sponsor_id", flat=True).get()
    if sponsor_id is not None:  # a self-pay invoice has no sponsor: the invoice row is its lock
        lock_sponsor(sponsor_id)
    invoice = Invoice.objects.select_for_update().get(pk=attempt.invoice_id)
    return invoice, PaymentAttempt.objects.select_for_update().get(pk=attempt.pk)


def lock_refund_cases(queryset: QuerySet) -> list[RefundCase]:
    """6, the refund cases of an attempt whose lock the caller holds: in id order."""
    return list(queryset.select_for_update().order_by("pk"))


def lock_refund_case(case_id: int) -> RefundCase:
    """6, one case on its own (an admin refunding or resolving it), with its attempt (not locked)."""
    return RefundCase.objects.select_for_update(of=("self",)).select_related("attempt").get(pk=case_id)
