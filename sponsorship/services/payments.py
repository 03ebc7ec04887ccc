"""Paying invoices through the gateway, and acting on what the gateway tells us.

Rules (house style §7): the webhook body is stored before anything trusts it; the signature is
checked in constant time; the database dedupes (unique dedupe_key); the status API is asked before
acting; attempt state only moves forward (PaymentAttempt.TRANSITIONS, conditional UPDATEs); an
amount that differs from the invoice is flagged, never paid; failures answer 5xx so Midtrans retries.
"""
import json
import logging
import time
import traceback
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from backend.api.errors import ConflictError, GatewayError
from backend.i18n import tr
from sponsorship.gateways import get_gateway
from sponsorship.gateways.base import (CheckoutRequest, Customer, GatewayRejected, GatewayUnavailable, Item,
                                       TransactionNotFound, TransactionStatus)
from sponsorship.models import (CreditEntry, Invoice, PaymentAttempt, PaymentNotification, RefundCase, Sponsor,
                                Sponsorship)
from sponsorship.services.audit import audit_record
from sponsorship.services.billing import _notify, period_label
from sponsorship.services.coverage import coverage_record_invoice

logger = logging.getLogger(__name__)
S = PaymentAttempt.Status


# ---- state machine ------------------------------------------------------------------------------------
def _transition(attempt: PaymentAttempt, new: str, **fields) -> bool:
    """Compare-and-swap: move only from a state that allows `new`. False = another process won / not allowed."""
    allowed_from = [old for old, targets in PaymentAttempt.TRANSITIONS.items() if new in targets]
    changed = PaymentAttempt.objects.filter(pk=attempt.pk, status__in=allowed_from).update(
        status=new, updated_at=timezone.now(), **fields)
    return bool(changed)


# ---- paying -------------------------------------------------------------------------------------------
NOT_PAYABLE = ("Tagihan ini tidak dapat dibayar (sudah lunas atau dibatalkan).",
               "This invoice cannot be paid (already paid or voided).")


@dataclass(frozen=True)
class PaymentStart:
    attempt: PaymentAttempt
    reused: bool


def _notification_url() -> str:
    if not settings.MIDTRANS_OVERRIDE_NOTIFICATION or not settings.PUBLIC_BASE_URL:
        return ""
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("midtrans-notification")


def checkout_request_for(invoice: Invoice, attempt: PaymentAttempt) -> CheckoutRequest:
    items = [Item(id=f"W{line.worker_id}-{line.month:%Y%m}",
                  name=f"Premi {period_label(line.month)} - {line.worker.first_name}"[:50],
                  price_idr=line.amount_idr) for line in invoice.lines.select_related("worker")]
    if invoice.credit_applied_idr:
        items.append(Item(id="KREDIT", name="Kredit kelebihan bayar", price_idr=-invoice.credit_applied_idr))
    if sum(i.price_idr * i.quantity for i in items) != attempt.amount_idr:
        raise RuntimeError(f"invoice {invoice.number}: items do not sum to {attempt.amount_idr}")
    sponsor = invoice.sponsor
    return CheckoutRequest(
        order_id=attempt.order_id, gross_amount_idr=attempt.amount_idr, items=tuple(items),
        customer=Customer(first_name=sponsor.full_name.split(" ")[0], email=getattr(sponsor.user, "email", "") or ""),
        custom_fields=(f"invoice:{invoice.number}", f"sponsor:{sponsor.pk}",
                       f"period:{invoice.period:%Y-%m}+{invoice.months}"),
        notification_url=_notification_url(), idempotency_key=attempt.order_id)


def payment_start(*, invoice: Invoice, actor=None, gateway=None) -> PaymentStart:
    """Open (or reuse) the one live checkout of an invoice. Gateway failures leave the invoice payable."""
    gateway = gateway or get_gateway()
    reuse_after = timezone.now() - timezone.timedelta(minutes=settings.PAYMENT_ATTEMPT_REUSE_MINUTES)
    with transaction.atomic():
        Sponsor.objects.select_for_update().filter(pk=invoice.sponsor_id).first()
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.status != Invoice.Status.ISSUED or invoice.amount_idr <= 0:
            raise ConflictError(tr(*NOT_PAYABLE), code="not_payable")
        live = PaymentAttempt.objects.filter(invoice=invoice, status__in=PaymentAttempt.LIVE).first()
        wait_for = None
        if live is not None:
            if live.status in (S.OPEN, S.PENDING) and live.redirect_url and live.created_at > reuse_after:
                return PaymentStart(live, True)
            if live.status == S.CREATING and live.created_at > timezone.now() - timezone.timedelta(
                    seconds=settings.MIDTRANS_TIMEOUT_SECONDS * 2 + 5):
                wait_for = live  # a double click: the first request is talking to the gateway right now
            else:
                _transition(live, S.SUPERSEDED if live.status != S.CREATING else S.GATEWAY_FAILED,
                            error=live.error or "superseded by a new attempt")
        if wait_for is None:
            seq = PaymentAttempt.objects.filter(invoice=invoice).count() + 1
            attempt = PaymentAttempt.objects.create(invoice=invoice, order_id=f"{invoice.number}-{seq}",
                                                    amount_idr=invoice.amount_idr, status=S.CREATING)
            audit_record(actor=actor, action="payment.start", obj=attempt,
                         after={"order_id": attempt.order_id, "amount_idr": attempt.amount_idr})
    if wait_for is not None:
        return _wait_for_checkout(wait_for)

    try:
        session = gateway.create_checkout(checkout_request_for(invoice, attempt))
    except GatewayUnavailable as exc:
        _transition(attempt, S.GATEWAY_FAILED, error=str(exc)[:2000])
        logger.warning("snap create failed for %s: %s", attempt.order_id, exc)
        raise GatewayError(tr("Layanan pembayaran sedang tidak dapat dihubungi. Tagihan Anda tetap bisa dibayar; "
                              "silakan coba lagi beberapa saat lagi.",
                              "The payment service cannot be reached right now. Your invoice is still payable; "
                              "please try again in a moment."), code="gateway_unavailable", status_code=503) from None
    except GatewayRejected as exc:
        _transition(attempt, S.GATEWAY_FAILED, error=str(exc)[:2000])
        logger.error("snap create rejected for %s: %s", attempt.order_id, exc)
        raise GatewayError(tr("Layanan pembayaran menolak permintaan ini. Tagihan Anda tetap bisa dibayar; "
                              "tim kami sudah dicatat.",
                              "The payment service rejected this request. Your invoice is still payable; "
                              "it has been logged."), code="gateway_rejected", status_code=502) from None
    _transition(attempt, S.OPEN, snap_token=session.token, redirect_url=session.redirect_url)
    attempt.refresh_from_db()
    return PaymentStart(attempt, False)


def _wait_for_checkout(attempt: PaymentAttempt) -> PaymentStart:
    deadline = time.monotonic() + settings.MIDTRANS_TIMEOUT_SECONDS + 2
    while time.monotonic() < deadline:
        attempt.refresh_from_db()
        if attempt.status != S.CREATING:
            break
        time.sleep(0.1)
    if attempt.status in (S.OPEN, S.PENDING) and attempt.redirect_url:
        return PaymentStart(attempt, True)
    raise ConflictError(tr("Pembayaran sedang disiapkan. Coba lagi sebentar.",
                           "The payment is being prepared. Try again in a moment."), code="payment_in_progress")


# ---- settling -----------------------------------------------------------------------------------------
def _sponsor_keeps_paying(sponsor_id: int) -> bool:
    return Sponsorship.objects.filter(sponsor_id=sponsor_id, status=Sponsorship.Status.ACTIVE).exists()


def _book_surplus(*, attempt: PaymentAttempt | None, sponsor_id: int, amount: int, reason: str, note: str) -> str:
    """Money received that buys no coverage: credit on the next invoice, or a refund case for an admin."""
    if amount <= 0:
        return ""
    if attempt is not None and not _sponsor_keeps_paying(sponsor_id):
        RefundCase.objects.get_or_create(attempt=attempt, reason=reason,
                                         defaults={"sponsor_id": sponsor_id, "amount_idr": amount, "note": note})
        return "refund_case"
    CreditEntry.objects.get_or_create(attempt=attempt, kind=CreditEntry.Kind.SURPLUS,
                                      defaults={"sponsor_id": sponsor_id, "amount_idr": amount, "note": note})
    return "credit"


def payment_apply_status(*, attempt: PaymentAttempt, status: TransactionStatus) -> str:
    """Move an attempt (and its invoice, and the coverage ledger) to what the gateway confirmed."""
    ts = status.transaction_status
    if status.is_paid:
        return payment_settle(attempt=attempt, status=status)
    common = {"gateway_status": ts, "transaction_id": status.transaction_id or attempt.transaction_id,
              "payment_type": status.payment_type or attempt.payment_type}
    target = {"pending": S.PENDING, "capture": S.PENDING, "authorize": S.PENDING, "expire": S.EXPIRED,
              "cancel": S.CANCELLED, "deny": S.DENIED, "failure": S.DENIED}.get(ts)
    if ts == "deny":
        attempt.refresh_from_db()
        if attempt.status == S.SETTLED:
            return payment_reverse(attempt=attempt, status=status)
    if target is None:
        logger.warning("ignoring %s for %s (not handled automatically)", ts, attempt.order_id)
        return f"ignored_{ts}"
    return f"moved_{target}" if _transition(attempt, target, **common) else f"stale_{ts}"


def payment_settle(*, attempt: PaymentAttempt, status: TransactionStatus) -> str:
    with transaction.atomic():
        invoice = Invoice.objects.only("sponsor_id").get(pk=attempt.invoice_id)
        Sponsor.objects.select_for_update().filter(pk=invoice.sponsor_id).first()
        invoice = Invoice.objects.select_for_update().get(pk=attempt.invoice_id)
        attempt = PaymentAttempt.objects.select_for_update().get(pk=attempt.pk)
        if attempt.status in (S.SETTLED, S.FLAGGED, S.REVERSED):
            return "already_" + attempt.status
        now = timezone.now()
        paid = status.gross_amount_idr
        if paid != attempt.amount_idr or paid != invoice.amount_idr:
            _transition(attempt, S.FLAGGED, paid_amount_idr=paid, gateway_status=status.transaction_status,
                        transaction_id=status.transaction_id, payment_type=status.payment_type,
                        error=f"amount mismatch: paid {paid}, expected {attempt.amount_idr}")
            RefundCase.objects.get_or_create(attempt=attempt, reason=RefundCase.Reason.AMOUNT_MISMATCH, defaults={
                "sponsor_id": invoice.sponsor_id, "amount_idr": paid,
                "note": f"Dibayar {paid}, tagihan {invoice.amount_idr}"})
            audit_record(actor=None, action="payment.flag_amount_mismatch", obj=attempt,
                         after={"paid_idr": paid, "expected_idr": attempt.amount_idr})
            logger.error("amount mismatch on %s: paid %s expected %s", attempt.order_id, paid, attempt.amount_idr)
            return "amount_mismatch"
        if not _transition(attempt, S.SETTLED, paid_amount_idr=paid, settled_at=now,
                           gateway_status=status.transaction_status, transaction_id=status.transaction_id,
                           payment_type=status.payment_type):
            return "not_settleable_" + attempt.status
        outcome = "settled"
        if Invoice.objects.filter(pk=invoice.pk, status=Invoice.Status.ISSUED).update(
                status=Invoice.Status.PAID, paid_at=now):
            surplus = coverage_record_invoice(invoice=invoice, paid_at=now, attempt=attempt)
            booked = _book_surplus(attempt=attempt, sponsor_id=invoice.sponsor_id,
                                   amount=min(sum(line.amount_idr for line in surplus), paid),
                                   reason=RefundCase.Reason.DOUBLE_PAYMENT,
                                   note=f"{len(surplus)} bulan-pekerja pada {invoice.number} sudah dibayar")
            if booked:
                outcome += f"+surplus_{booked}"
        else:
            # The invoice was already paid by another attempt, or voided: all of it is surplus.
            reason = (RefundCase.Reason.VOID_INVOICE_PAID if invoice.status == Invoice.Status.VOID
                      else RefundCase.Reason.DOUBLE_PAYMENT)
            outcome += "+surplus_" + _book_surplus(attempt=attempt, sponsor_id=invoice.sponsor_id, amount=paid,
                                                   reason=reason, note=f"{invoice.number} sudah {invoice.status}")
        audit_record(actor=None, action="payment.settle", obj=attempt,
                     after={"order_id": attempt.order_id, "paid_idr": paid, "invoice": invoice.number,
                            "outcome": outcome})
        if outcome == "settled":
            transaction.on_commit(lambda: _notify_receipt(invoice.pk))
    return outcome


def payment_reverse(*, attempt: PaymentAttempt, status: TransactionStatus) -> str:
    """A bank reversal (settlement → deny): flag for an admin; coverage is left for a human to decide."""
    with transaction.atomic():
        if not _transition(attempt, S.REVERSED, gateway_status=status.transaction_status,
                           error="bank reversal after settlement"):
            return "stale_deny"
        audit_record(actor=None, action="payment.reversed", obj=attempt, after={"order_id": attempt.order_id})
    logger.error("bank reversal on %s: needs an admin", attempt.order_id)
    return "reversed"


def invoice_settle_by_credit(*, invoice: Invoice) -> bool:
    """An invoice fully paid by sponsor credit (amount 0) is paid at once, without the gateway."""
    with transaction.atomic():
        now = timezone.now()
        if not Invoice.objects.filter(pk=invoice.pk, status=Invoice.Status.ISSUED, amount_idr=0).update(
                status=Invoice.Status.PAID, paid_at=now):
            return False
        surplus = coverage_record_invoice(invoice=invoice, paid_at=now)
        amount = sum(line.amount_idr for line in surplus)
        if amount:
            CreditEntry.objects.create(sponsor_id=invoice.sponsor_id, kind=CreditEntry.Kind.RESTORED,
                                       amount_idr=amount, invoice=invoice, note="Bulan sudah dibayar; kredit kembali")
        audit_record(actor=None, action="invoice.settle_by_credit", obj=invoice, after={"number": invoice.number})
    return True


def _notify_receipt(invoice_id: int) -> None:
    invoice = Invoice.objects.select_related("sponsor__user").get(pk=invoice_id)
    if invoice.sponsor.user_id is None:
        return
    with transaction.atomic():
        _notify(user=invoice.sponsor.user, kind="payment_received", dedupe_key=f"payment_received:{invoice.pk}",
                context={"sponsor_name": invoice.sponsor.full_name, "amount_idr": invoice.amount_idr,
                         "invoice_id": invoice.pk, "invoice_number": invoice.number,
                         "period_label": period_label(invoice.period),
                         "workers": invoice.lines.values("worker_id").distinct().count()},
                data={"invoice_id": str(invoice.pk)})


# ---- webhook ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WebhookAnswer:
    status: int
    body: dict = field(default_factory=dict)


N = PaymentNotification.State


def _mark(note: PaymentNotification, state: str, **fields) -> None:
    fields.setdefault("processed_at", timezone.now())
    PaymentNotification.objects.filter(pk=note.pk).update(state=state, **fields)


def notification_receive(*, raw_body: bytes, headers: dict, remote_ip: str | None, gateway=None) -> WebhookAnswer:
    """Evidence first: the raw body is committed before it is parsed or trusted."""
    note = PaymentNotification.objects.create(raw_body=raw_body.decode("utf-8", "replace"), headers=headers,
                                              remote_ip=remote_ip)
    return notification_process(note=note, gateway=gateway)


def notification_process(*, note: PaymentNotification, gateway=None) -> WebhookAnswer:
    gateway = gateway or get_gateway()
    PaymentNotification.objects.filter(pk=note.pk).update(attempts=note.attempts + 1)
    try:
        payload = json.loads(note.raw_body)
        if not isinstance(payload, dict):
            raise ValueError("not an object")
    except ValueError:
        _mark(note, N.REJECTED, outcome="invalid_json")
        return WebhookAnswer(400, {"status": "invalid_json"})
    order_id = str(payload.get("order_id", ""))[:64]
    fields = {"order_id": order_id, "transaction_id": str(payload.get("transaction_id", ""))[:64],
              "transaction_status": str(payload.get("transaction_status", "")).lower()[:24],
              "status_code": str(payload.get("status_code", ""))[:8],
              "gross_amount": str(payload.get("gross_amount", ""))[:24]}
    if not gateway.verify_notification(payload):
        _mark(note, N.REJECTED, signature_valid=False, outcome="bad_signature", **fields)
        logger.warning("rejected notification %s: bad signature (order %s)", note.pk, order_id)
        return WebhookAnswer(403, {"status": "invalid_signature"})
    key = "|".join([order_id, fields["transaction_id"], fields["transaction_status"], fields["status_code"],
                    fields["gross_amount"]])[:160]
    try:
        with transaction.atomic():
            PaymentNotification.objects.filter(pk=note.pk).update(dedupe_key=key, signature_valid=True, **fields)
    except IntegrityError:
        original = PaymentNotification.objects.filter(dedupe_key=key).first()
        PaymentNotification.objects.filter(pk=note.pk).update(signature_valid=True, duplicate_of=original, **fields)
        if original is not None and original.state in (N.PROCESSED, N.UNKNOWN_ORDER):
            _mark(note, N.DUPLICATE, outcome=f"duplicate_of_{original.pk}")
            return WebhookAnswer(200 if original.state == N.PROCESSED else 404, {"status": "duplicate"})
        # The first copy is still running or failed: handling this one is safe (everything below is idempotent).
    try:
        attempt = PaymentAttempt.objects.filter(order_id=order_id).first()
        if attempt is None:
            _mark(note, N.UNKNOWN_ORDER, outcome="unknown_order")
            logger.warning("notification %s for unknown order %r", note.pk, order_id)
            return WebhookAnswer(404, {"status": "unknown_order"})
        with transaction.atomic():
            # One order at a time (copies of one notification arrive together); an advisory lock keeps
            # clear of the sponsor → invoice → attempt row-lock order.
            _order_lock(order_id)
            attempt.refresh_from_db()
            if _cannot_change(attempt.status, fields["transaction_status"]):
                _mark(note, N.PROCESSED, outcome=f"no_change_{attempt.status}", error="")
                return WebhookAnswer(200, {"status": "ok", "outcome": "no_change"})
            try:
                status = gateway.get_status(fields["transaction_id"] or order_id)
            except (GatewayUnavailable, TransactionNotFound) as exc:
                _mark(note, N.FAILED, error=f"status API: {exc}"[:2000], outcome="status_unavailable")
                return WebhookAnswer(503, {"status": "retry_later"})
            if status.order_id and status.order_id != order_id:
                _mark(note, N.FAILED, error=f"status API answered order {status.order_id}", outcome="status_mismatch")
                return WebhookAnswer(500, {"status": "retry_later"})
            outcome = payment_apply_status(attempt=attempt, status=status)
            _mark(note, N.PROCESSED, outcome=outcome[:120], error="")
        return WebhookAnswer(200, {"status": "ok", "outcome": outcome})
    except Exception:  # noqa: BLE001 - any internal failure must answer 5xx so Midtrans retries
        logger.exception("notification %s failed", note.pk)
        _mark(note, N.FAILED, error=traceback.format_exc()[-4000:], outcome="internal_error")
        return WebhookAnswer(500, {"status": "retry_later"})


def _order_lock(order_id: str) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"midtrans:{order_id}"])


def _cannot_change(attempt_status: str, notified_status: str) -> bool:
    """A settled attempt can only be reversed (deny); flagged/reversed ones wait for an admin."""
    if attempt_status == S.SETTLED:
        return notified_status != "deny"
    return attempt_status in (S.FLAGGED, S.REVERSED)


def notifications_replay(*, ids=None, gateway=None) -> dict:
    """Process again what failed (or was never finished). Duplicates and rejects are not replayed."""
    gateway = gateway or get_gateway()
    qs = PaymentNotification.objects.filter(state__in=[N.FAILED, N.RECEIVED])
    if ids:
        qs = PaymentNotification.objects.filter(pk__in=ids)
    counts: dict[str, int] = {}
    for note in qs.order_by("received_at"):
        answer = notification_process(note=note, gateway=gateway)
        counts[str(answer.status)] = counts.get(str(answer.status), 0) + 1
    return counts


# ---- reconciliation ----------------------------------------------------------------------------------
def payments_reconcile(*, older_than_minutes: int | None = None, gateway=None) -> dict:
    """Ask the gateway about attempts that have been waiting too long (missed or lost notifications)."""
    gateway = gateway or get_gateway()
    minutes = settings.PAYMENT_RECONCILE_AFTER_MINUTES if older_than_minutes is None else older_than_minutes
    now = timezone.now()
    cutoff = now - timezone.timedelta(minutes=minutes)
    qs = PaymentAttempt.objects.filter(
        status__in=[S.CREATING, S.OPEN, S.PENDING, S.GATEWAY_FAILED, S.SUPERSEDED], updated_at__lte=cutoff,
        created_at__gte=now - timezone.timedelta(days=8))
    counts: dict[str, int] = {}
    for attempt in qs.order_by("pk"):
        try:
            status = gateway.get_status(attempt.order_id)
            outcome = payment_apply_status(attempt=attempt, status=status)
        except TransactionNotFound:
            if attempt.status == S.CREATING:
                outcome = "gateway_failed" if _transition(attempt, S.GATEWAY_FAILED, error="not at gateway") else "stale"
            elif attempt.status == S.OPEN and attempt.created_at < now - timezone.timedelta(hours=25):
                outcome = "expired" if _transition(attempt, S.EXPIRED, gateway_status="page_expired") else "stale"
            else:
                PaymentAttempt.objects.filter(pk=attempt.pk).update(updated_at=now)
                outcome = "not_attempted_yet"
        except GatewayUnavailable as exc:
            logger.warning("reconcile %s: %s", attempt.order_id, exc)
            outcome = "gateway_unavailable"
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts
