"""Issuing and voiding invoices.

- The monthly run is set-based (a fixed number of queries for any number of sponsors) and safe to
  run twice at once: invoices are inserted with ON CONFLICT DO NOTHING against the unique
  (sponsor, period) index, and lines are written only for the invoices this run actually inserted
  (tagged with its batch id).
- Prepay (1–12 months) and arrears (≤3 months) invoices are per sponsor, under the sponsor's row lock.
- A month already covered, or already on a live (issued or paid) invoice, is never billed again.
- Sponsor credit (from a double payment) is applied to the next invoice, under the sponsor's row lock.
Lock order everywhere: sponsor → invoice → payment attempt.
"""
import calendar
import datetime as dt
import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Sum
from django.utils import timezone

from backend.api.errors import ApplicationError, ConflictError
from backend.i18n import tr
from sponsorship.models import (AuditLog, CoverageMonth, CreditEntry, Holiday, Invoice, InvoiceLine, PaymentAttempt,
                                Sponsor, Sponsorship)
from sponsorship.services.audit import audit_record
from sponsorship.services.rates import RateBook, sector_of

logger = logging.getLogger(__name__)

LIVE_INVOICE = (Invoice.Status.ISSUED, Invoice.Status.PAID)
MONTHS_ID = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
             "November", "Desember"]


# ---- calendar -----------------------------------------------------------------------------------------
def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def month_end(month: dt.date) -> dt.date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def period_label(month: dt.date) -> str:
    return f"{MONTHS_ID[month.month - 1]} {month.year}"


def local_today() -> dt.date:
    return timezone.localdate()


def next_working_day(day: dt.date, holidays: set[dt.date] | None = None) -> dt.date:
    if holidays is None:
        holidays = set(Holiday.objects.filter(date__gte=day, date__lte=day + dt.timedelta(days=31))
                       .values_list("date", flat=True))
    while day.weekday() >= 5 or day in holidays:
        day += dt.timedelta(days=1)
    return day


def due_date_for(period: dt.date, holidays: set[dt.date] | None = None) -> dt.date:
    """The 15th of the month being paid for, or the next working day."""
    return next_working_day(period.replace(day=settings.BILLING_DUE_DAY), holidays)


def period_to_bill(today: dt.date | None = None) -> dt.date | None:
    """The month a run today should bill: next month once we are BILLING_ISSUE_DAYS_BEFORE days from it."""
    today = today or local_today()
    upcoming = add_months(month_start(today), 1)
    if (upcoming - today).days <= settings.BILLING_ISSUE_DAYS_BEFORE:
        return upcoming
    return None


def _number(period: dt.date, sponsor_id: int, suffix: str = "") -> str:
    return f"INV-{period:%Y%m}-{sponsor_id:06d}{suffix}"


# ---- monthly run --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BillingRunResult:
    period: dt.date
    batch: str
    invoices: int
    lines: int
    amount_idr: int


def _credit_balances(sponsor_ids=None) -> dict[int, int]:
    qs = CreditEntry.objects.all()
    if sponsor_ids is not None:
        qs = qs.filter(sponsor_id__in=sponsor_ids)
    return {row["sponsor_id"]: row["balance"] for row in
            qs.values("sponsor_id").annotate(balance=Sum("amount_idr")).filter(balance__gt=0)}


def billing_run(*, period: dt.date, actor=None, notify: bool = True, now=None) -> BillingRunResult:
    """Issue the monthly invoice of every active sponsor for `period` that does not have one yet."""
    period = month_start(period)
    now = now or timezone.now()
    batch = uuid.uuid4().hex
    book = RateBook.load()
    holidays = set(Holiday.objects.filter(date__gte=period, date__lte=month_end(period) + dt.timedelta(days=14))
                   .values_list("date", flat=True))
    due = due_date_for(period, holidays)
    with transaction.atomic():
        candidates = (
            Sponsorship.objects.filter(status=Sponsorship.Status.ACTIVE, sponsor__status=Sponsor.Status.ACTIVE)
            .exclude(Exists(Invoice.objects.filter(sponsor_id=OuterRef("sponsor_id"), period=period,
                                                   kind=Invoice.Kind.MONTHLY)))
            .exclude(Exists(CoverageMonth.objects.filter(worker_id=OuterRef("worker_id"), month=period)))
            .exclude(Exists(InvoiceLine.objects.filter(worker_id=OuterRef("worker_id"), month=period,
                                                       invoice__status__in=LIVE_INVOICE)))
            .order_by("sponsor_id", "worker_id")
            .values_list("sponsor_id", "worker_id", "worker__occupation__is_transport")
        )
        per_sponsor: dict[int, list] = defaultdict(list)
        for sponsor_id, worker_id, is_transport in candidates.iterator(chunk_size=5000):
            premium = book.premium(period, sector=sector_of(is_transport))
            per_sponsor[sponsor_id].append((worker_id, premium))
        if not per_sponsor:
            return BillingRunResult(period, batch, 0, 0, 0)

        # Credit is spent under the sponsor's lock; only sponsors holding credit are locked.
        with_credit = _credit_balances()
        credit_ids = sorted(set(with_credit) & set(per_sponsor))
        if credit_ids:
            list(Sponsor.objects.filter(pk__in=credit_ids).order_by("pk").select_for_update().values_list("pk"))
            with_credit = _credit_balances(credit_ids)
        invoices = []
        for sponsor_id, lines in per_sponsor.items():
            subtotal = sum(p.amount_idr for _, p in lines)
            credit = min(with_credit.get(sponsor_id, 0), subtotal)
            invoices.append(Invoice(
                sponsor_id=sponsor_id, number=_number(period, sponsor_id), kind=Invoice.Kind.MONTHLY, period=period,
                months=1, status=Invoice.Status.ISSUED, issued_at=now, due_date=due, subtotal_idr=subtotal,
                credit_applied_idr=credit, amount_idr=subtotal - credit, batch=batch))
        Invoice.objects.bulk_create(invoices, batch_size=2000, ignore_conflicts=True)
        won = dict(Invoice.objects.filter(batch=batch).values_list("sponsor_id", "id"))
        line_rows, credit_rows, total = [], [], 0
        for invoice in invoices:
            invoice_id = won.get(invoice.sponsor_id)
            if invoice_id is None:
                continue  # a parallel run issued this one
            total += invoice.amount_idr
            for worker_id, p in per_sponsor[invoice.sponsor_id]:
                line_rows.append(InvoiceLine(invoice_id=invoice_id, worker_id=worker_id, month=period, rate_id=p.rate_id,
                                             jkk_idr=p.jkk_idr, jkm_idr=p.jkm_idr, jht_idr=p.jht_idr,
                                             amount_idr=p.amount_idr))
            if invoice.credit_applied_idr:
                credit_rows.append(CreditEntry(sponsor_id=invoice.sponsor_id, kind=CreditEntry.Kind.APPLIED,
                                               amount_idr=-invoice.credit_applied_idr, invoice_id=invoice_id,
                                               note=f"Dipakai pada {invoice.number}"))
        InvoiceLine.objects.bulk_create(line_rows, batch_size=5000)
        CreditEntry.objects.bulk_create(credit_rows)
        AuditLog.objects.create(actor=actor if getattr(actor, "is_authenticated", False) else None,
                                action="billing.run", object_type="sponsorship.invoice", object_id=batch,
                                after={"period": period.isoformat(), "invoices": len(won), "lines": len(line_rows),
                                       "amount_idr": total})
        fully_credited = [won[i.sponsor_id] for i in invoices if i.sponsor_id in won and i.amount_idr == 0]
        if fully_credited:
            from sponsorship.services.payments import invoice_settle_by_credit
            for invoice_id in fully_credited:
                invoice_settle_by_credit(invoice=Invoice.objects.get(pk=invoice_id))
        if notify and won:
            transaction.on_commit(lambda: _enqueue_issued_notifications(batch))
    return BillingRunResult(period, batch, len(won), len(line_rows), total)


def _enqueue_issued_notifications(batch: str) -> None:
    from sponsorship import tasks
    tasks.notify_invoices_issued.delay(batch)


def invoices_notify_issued(*, batch: str = "", invoice_ids=None) -> int:
    """Tell each sponsor their invoice is out: one outbox row each, deduped by invoice, a handful of queries."""
    from django.db.models import Count

    from notifications.services import NotifyRequest, notify_bulk
    qs = Invoice.objects.filter(status=Invoice.Status.ISSUED, sponsor__user__isnull=False).select_related("sponsor")
    qs = qs.filter(batch=batch) if batch else qs.filter(pk__in=invoice_ids or [])
    qs = qs.annotate(workers=Count("lines__worker", distinct=True))
    requests = [NotifyRequest(
        user_id=invoice.sponsor.user_id, kind="invoice_issued", dedupe_key=f"invoice_issued:{invoice.pk}",
        context={"sponsor_name": invoice.sponsor.full_name, "amount_idr": invoice.amount_idr,
                 "due_date": invoice.due_date, "invoice_id": invoice.pk, "invoice_number": invoice.number,
                 "period_label": period_label(invoice.period), "workers": invoice.workers},
        data={"invoice_id": str(invoice.pk)}) for invoice in qs]
    with transaction.atomic():
        return len(notify_bulk(requests)) if requests else 0


def _notify(**kwargs):
    from notifications.services import notify
    return notify(**kwargs)


# ---- per-sponsor invoices -----------------------------------------------------------------------------
def _lock_sponsor(sponsor: Sponsor) -> Sponsor:
    return Sponsor.objects.select_for_update().get(pk=sponsor.pk)


def _active_workers(sponsor: Sponsor):
    return list(Sponsorship.objects.filter(sponsor=sponsor, status=Sponsorship.Status.ACTIVE)
                .select_related("worker__occupation").order_by("worker_id"))


def _taken_months(worker_ids) -> dict[int, set]:
    """Months already covered or on a live invoice, per worker."""
    taken: dict[int, set] = defaultdict(set)
    for worker_id, month in CoverageMonth.objects.filter(worker_id__in=worker_ids).values_list("worker_id", "month"):
        taken[worker_id].add(month)
    for worker_id, month in InvoiceLine.objects.filter(worker_id__in=worker_ids, invoice__status__in=LIVE_INVOICE) \
            .values_list("worker_id", "month"):
        taken[worker_id].add(month)
    return taken


def _issue(*, sponsor: Sponsor, kind: str, lines: list, actor, today: dt.date, suffix: str) -> Invoice:
    """Write one invoice with its lines (caller holds the sponsor lock)."""
    months = sorted({m for _, m, _ in lines})
    period = months[0]
    subtotal = sum(p.amount_idr for _, _, p in lines)
    credit = min(_credit_balances([sponsor.pk]).get(sponsor.pk, 0), subtotal)
    invoice = Invoice.objects.create(
        sponsor=sponsor, number=_number(period, sponsor.pk, suffix), kind=kind, period=period,
        months=len(months), status=Invoice.Status.ISSUED, issued_at=timezone.now(),
        due_date=max(due_date_for(period), next_working_day(today + dt.timedelta(days=3))),
        subtotal_idr=subtotal, credit_applied_idr=credit, amount_idr=subtotal - credit)
    InvoiceLine.objects.bulk_create([
        InvoiceLine(invoice=invoice, worker_id=worker_id, month=month, rate_id=p.rate_id, jkk_idr=p.jkk_idr,
                    jkm_idr=p.jkm_idr, jht_idr=p.jht_idr, amount_idr=p.amount_idr)
        for worker_id, month, p in lines])
    if credit:
        CreditEntry.objects.create(sponsor=sponsor, kind=CreditEntry.Kind.APPLIED, amount_idr=-credit,
                                   invoice=invoice, note=f"Dipakai pada {invoice.number}")
    audit_record(actor=actor, action=f"invoice.issue_{kind}", obj=invoice,
                 after={"number": invoice.number, "months": [m.isoformat() for m in months],
                        "lines": len(lines), "amount_idr": invoice.amount_idr, "credit_idr": credit})
    if invoice.amount_idr == 0:
        from sponsorship.services.payments import invoice_settle_by_credit
        invoice_settle_by_credit(invoice=invoice)
        invoice.refresh_from_db()
    else:
        transaction.on_commit(lambda: invoices_notify_issued(invoice_ids=[invoice.pk]))
    return invoice


NOTHING_TO_BILL = ("Tidak ada bulan yang perlu ditagih untuk pekerja Anda.", "There is no month to bill for your workers.")


def invoice_create_prepay(*, sponsor: Sponsor, months: int, actor=None, today: dt.date | None = None) -> Invoice:
    """One invoice paying `months` (1–12) ahead for every active worker, after what is already paid or billed."""
    if not 1 <= int(months) <= settings.BILLING_MAX_PREPAY_MONTHS:
        raise ApplicationError(tr("Bayar di muka hanya 1 sampai 12 bulan.", "Prepayment is 1 to 12 months."),
                               code="invalid_months")
    today = today or local_today()
    book = RateBook.load()
    with transaction.atomic():
        sponsor = _lock_sponsor(sponsor)
        sponsorships = _active_workers(sponsor)
        taken = _taken_months([s.worker_id for s in sponsorships])
        lines = []
        for s in sponsorships:
            month = month_start(today)
            if taken[s.worker_id]:
                month = max(month, add_months(max(taken[s.worker_id]), 1))
            for i in range(int(months)):
                m = add_months(month, i)
                lines.append((s.worker_id, m, book.premium(m, sector=sector_of(s.worker.occupation.is_transport))))
        if not lines:
            raise ApplicationError(tr(*NOTHING_TO_BILL), code="nothing_to_bill")
        return _issue(sponsor=sponsor, kind=Invoice.Kind.PREPAY, lines=lines, actor=actor, today=today,
                      suffix=f"-P{uuid.uuid4().hex[:6].upper()}")


def invoice_create_arrears(*, sponsor: Sponsor, actor=None, today: dt.date | None = None) -> Invoice:
    """One invoice for the unpaid months of the last 3 (and this month once past its due date).

    Unpaid monthly invoices for those months are voided in favour of it (unless a customer is already
    paying one at the bank: those months stay on their own invoice).
    """
    today = today or local_today()
    book = RateBook.load()
    current = month_start(today)
    window = [add_months(current, -i) for i in range(settings.BILLING_MAX_ARREARS_MONTHS, 0, -1)]
    if today > due_date_for(current):
        window.append(current)
    window = window[-settings.BILLING_MAX_ARREARS_MONTHS:]
    with transaction.atomic():
        sponsor = _lock_sponsor(sponsor)
        sponsorships = _active_workers(sponsor)
        worker_ids = [s.worker_id for s in sponsorships]
        superseded = list(Invoice.objects.select_for_update().filter(
            sponsor=sponsor, kind=Invoice.Kind.MONTHLY, status=Invoice.Status.ISSUED, period__in=window)
            .exclude(Exists(PaymentAttempt.objects.filter(invoice=OuterRef("pk"), status=PaymentAttempt.Status.PENDING)))
            .order_by("pk"))
        covered = defaultdict(set)
        for worker_id, month in CoverageMonth.objects.filter(worker_id__in=worker_ids, month__in=window) \
                .values_list("worker_id", "month"):
            covered[worker_id].add(month)
        elsewhere = defaultdict(set)  # on another live invoice that is not being superseded
        for worker_id, month in InvoiceLine.objects.filter(worker_id__in=worker_ids, month__in=window,
                                                           invoice__status__in=LIVE_INVOICE) \
                .exclude(invoice__in=superseded).values_list("worker_id", "month"):
            elsewhere[worker_id].add(month)
        lines = []
        for s in sponsorships:
            start = month_start(timezone.localtime(s.started_at).date())
            for m in window:
                if m >= start and m not in covered[s.worker_id] and m not in elsewhere[s.worker_id]:
                    lines.append((s.worker_id, m, book.premium(m, sector=sector_of(s.worker.occupation.is_transport))))
        if not lines:
            raise ApplicationError(tr("Tidak ada tunggakan yang perlu dibayar.", "There are no arrears to pay."),
                                   code="nothing_to_bill")
        for old in superseded:
            _void_locked(invoice=old, reason="Digabung ke tagihan tunggakan", actor=actor)
        return _issue(sponsor=sponsor, kind=Invoice.Kind.ARREARS, lines=lines, actor=actor, today=today,
                      suffix=f"-A{uuid.uuid4().hex[:6].upper()}")


# ---- void ---------------------------------------------------------------------------------------------
def _void_locked(*, invoice: Invoice, reason: str, actor) -> bool:
    changed = Invoice.objects.filter(pk=invoice.pk, status=Invoice.Status.ISSUED).update(
        status=Invoice.Status.VOID, void_reason=reason[:255], voided_at=timezone.now(),
        voided_by=actor if getattr(actor, "is_authenticated", False) else None)
    if not changed:
        return False
    # Open checkout pages are retired; a VA already shown (pending) would have blocked the void.
    PaymentAttempt.objects.filter(invoice=invoice, status__in=[PaymentAttempt.Status.OPEN,
                                                                PaymentAttempt.Status.CREATING]).update(
        status=PaymentAttempt.Status.SUPERSEDED)
    if invoice.credit_applied_idr:
        CreditEntry.objects.create(sponsor_id=invoice.sponsor_id, kind=CreditEntry.Kind.RESTORED,
                                   amount_idr=invoice.credit_applied_idr, invoice=invoice,
                                   note=f"Tagihan {invoice.number} dibatalkan")
    audit_record(actor=actor, action="invoice.void", obj=invoice, before={"status": "issued"},
                 after={"status": "void", "reason": reason})
    return True


def invoice_void(*, invoice: Invoice, reason: str, actor=None) -> Invoice:
    """Void an unpaid invoice with a reason (audited). Refused while the sponsor is paying it."""
    if not (reason or "").strip():
        raise ApplicationError(tr("Alasan pembatalan wajib diisi.", "A reason is required."), code="reason_required")
    with transaction.atomic():
        Sponsor.objects.select_for_update().filter(pk=invoice.sponsor_id).first()
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.status != Invoice.Status.ISSUED:
            raise ConflictError(tr("Hanya tagihan yang belum dibayar yang dapat dibatalkan.",
                                   "Only an unpaid invoice can be voided."), code="not_voidable")
        if PaymentAttempt.objects.filter(invoice=invoice, status=PaymentAttempt.Status.PENDING).exists():
            raise ConflictError(tr("Tagihan sedang dibayar; tunggu hasil pembayaran.",
                                   "This invoice is being paid; wait for the payment result."), code="payment_pending")
        _void_locked(invoice=invoice, reason=reason.strip(), actor=actor)
    invoice.refresh_from_db()
    return invoice
