"""Hand-over to self-pay: a worker whose sponsor left and whom no sponsor or pool takes gets a link to pay their
own premium (docs/bridge-fund.md).

`self_pay_offer` writes an unpaid invoice with the worker as payer (one line: the coming month, at the self-paid
rate, PP 50/2025's discount where it applies), a link token (random, only its SHA-256 kept) that expires after
SELF_PAY_LINK_DAYS, logs `handed_over` and sends the link through the worker's route (WhatsApp, then SMS, then the
app). The page (/bayar/<token>/, billing/api/self_pay_views.py) shows the first name, month, amount and
protected-until, starts a Snap checkout through the usual checkout code, and the settlement webhook writes the
coverage with the worker as payer (settlement.py). A new sponsor accepting withdraws an open link.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from backend.formats import period_label
from notifications.services import notify
from sponsorship.billing import locks
from sponsorship.billing.models import CoverageMonth, FundingSource, Invoice, InvoiceLine, PaymentAttempt, SelfPayLink
from sponsorship.billing.services.billing import LIVE_INVOICE, _void_locked
from sponsorship.billing.services.protection_log import record_protection_action
from sponsorship.billing.services.rates import RateBook, RateMissing, sector_of
from sponsorship.core.audit import AuditAction, audit_record
from sponsorship.people.models import Sponsorship, Worker

WITHDRAW_REASON = "Pengampu baru: bulan ini ditagihkan ke pengampu"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_days() -> int:
    return getattr(settings, "SELF_PAY_LINK_DAYS", 14)


def self_pay_url(token: str) -> str:
    return (settings.PUBLIC_BASE_URL or "").rstrip("/") + reverse("self-pay", args=[token])


@dataclass(frozen=True)
class Offer:
    link: SelfPayLink
    token: str  # only here, never stored


def self_pay_offer(*, worker: Worker, month: dt.date, risk=None, now: dt.datetime | None = None) -> Offer | None:
    """Write the worker's self-pay invoice and link for `month` and send it; None when the month is covered, on a
    live invoice already (an open link included), or a sponsor took the worker meanwhile."""
    now = now or timezone.now()
    try:
        premium = RateBook.load().premium(
            month, sector=sector_of(worker.occupation.is_transport), funding_source=FundingSource.SELF
        )
    except RateMissing:
        return None
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        locks.billing_lock(exclusive=False)
        locks.worker_lock(worker.pk)
        if Sponsorship.objects.filter(worker=worker, status=Sponsorship.Status.ACTIVE).exists():
            return None
        if CoverageMonth.objects.filter(worker=worker, month=month).exists():
            return None
        if InvoiceLine.objects.filter(worker=worker, month=month, invoice__status__in=LIVE_INVOICE).exists():
            return None
        expires = now + dt.timedelta(days=link_days())
        invoice = Invoice.objects.create(
            payer_kind=Invoice.Payer.WORKER,
            payer_worker=worker,
            number=f"MDR-{month:%Y%m}-{worker.pk:06d}-{uuid.uuid4().hex[:4].upper()}",
            kind=Invoice.Kind.MONTHLY,
            period=month,
            months=1,
            status=Invoice.Status.ISSUED,
            issued_at=now,
            due_date=timezone.localtime(expires).date(),
            subtotal_idr=premium.amount_idr,
            credit_applied_idr=0,
            amount_idr=premium.amount_idr,
        )
        InvoiceLine.objects.create(
            invoice=invoice,
            worker=worker,
            month=month,
            rate_id=premium.rate_id,
            jkk_idr=premium.jkk_idr,
            jkm_idr=premium.jkm_idr,
            jht_idr=premium.jht_idr,
            amount_idr=premium.amount_idr,
        )
        link = SelfPayLink.objects.create(
            worker=worker, invoice=invoice, token_hash=token_hash(token), created_at=now, expires_at=expires
        )
        detail = {
            "invoice": invoice.number,
            "month": month.isoformat(),
            "amount_idr": premium.amount_idr,
            "expires_at": expires.isoformat(),
            "days_left": getattr(risk, "days_left", None),
            "sent": bool(worker.user_id),
        }
        record_protection_action(worker.pk, "handed_over", detail=detail, at=now)
        audit_record(actor=None, action=AuditAction.SELF_PAY_OFFER, obj=invoice, after=detail)
        if worker.user_id:
            notify(
                user=worker.user,
                kind="self_pay_link",
                dedupe_key=f"self_pay_link:{invoice.pk}",
                context={
                    "worker_name": worker.full_name.split(" ")[0],
                    "period_label": period_label(month),
                    "amount_idr": premium.amount_idr,
                    "url": self_pay_url(token),
                    "due_date": timezone.localtime(expires).date(),
                },
                data={"invoice_id": str(invoice.pk)},
                expires_at=expires,
            )
    return Offer(link, token)


def self_pay_withdraw(*, worker_id: int, now: dt.datetime | None = None) -> int:
    """A new sponsor accepted: open self-pay invoices of the worker are voided (unless a payment is under way; a
    late payment is surplus and refunded like any other). Runs in the caller's transaction."""
    open_invoices = Invoice.objects.filter(
        payer_kind=Invoice.Payer.WORKER, payer_worker_id=worker_id, status=Invoice.Status.ISSUED
    )
    withdrawn = 0
    for invoice in locks.lock_invoices(open_invoices):
        if PaymentAttempt.objects.filter(invoice=invoice, status=PaymentAttempt.Status.PENDING).exists():
            continue
        if _void_locked(invoice=invoice, reason=WITHDRAW_REASON, actor=None):
            audit_record(actor=None, action=AuditAction.SELF_PAY_WITHDRAW, obj=invoice, after={"reason": "rematched"})
            withdrawn += 1
    return withdrawn


def self_pay_expire(*, now: dt.datetime | None = None) -> int:
    """Daily: void the invoices of expired links (a payment under way is left to finish), so the month is free for
    whoever pays it next."""
    now = now or timezone.now()
    expired = Invoice.objects.filter(
        payer_kind=Invoice.Payer.WORKER, status=Invoice.Status.ISSUED, self_pay_link__expires_at__lte=now
    )
    done = 0
    for invoice_id in expired.values_list("pk", flat=True):
        with transaction.atomic():
            locked = locks.lock_invoices(Invoice.objects.filter(pk=invoice_id, status=Invoice.Status.ISSUED))
            if (
                not locked
                or PaymentAttempt.objects.filter(invoice_id=invoice_id, status=PaymentAttempt.Status.PENDING).exists()
            ):
                continue
            done += _void_locked(invoice=locked[0], reason="Tautan bayar mandiri kedaluwarsa", actor=None)
    return done


@dataclass(frozen=True)
class LinkView:
    """What the page shows: nothing else of the worker (no NIK, phone, village)."""

    link: SelfPayLink
    state: str  # "payable" | "paid" | "expired" | "withdrawn"
    first_name: str
    month: dt.date
    amount_idr: int
    protected_until: dt.date | None


def self_pay_link_for(token: str, *, now: dt.datetime | None = None) -> LinkView | None:
    if not token or len(token) > 100:
        return None
    link = (
        SelfPayLink.objects.select_related("invoice", "worker__occupation").filter(token_hash=token_hash(token)).first()
    )
    if link is None:
        return None
    from sponsorship.billing.selectors.coverage import worker_coverage_status  # noqa: PLC0415 - heavy import

    now = now or timezone.now()
    invoice = link.invoice
    if invoice.status == Invoice.Status.PAID:
        state = "paid"
    elif invoice.status != Invoice.Status.ISSUED:
        state = "withdrawn"
    elif now >= link.expires_at:
        state = "expired"
    else:
        state = "payable"
    if link.opened_at is None:
        SelfPayLink.objects.filter(pk=link.pk, opened_at__isnull=True).update(opened_at=now)
    status = worker_coverage_status(link.worker, sponsor_first_name=None)
    return LinkView(
        link=link,
        state=state,
        first_name=link.worker.full_name.split(" ")[0],
        month=invoice.period,
        amount_idr=invoice.amount_idr,
        protected_until=status.protected_until,
    )
