"""Acting on what the gateway confirmed: a stored notification is processed (status API → state forward →
row marked processed, in one transaction), a paid attempt pays its invoice and writes the coverage ledger.

Rules (house style §7): the status API is asked before acting; attempt state only moves forward
(PaymentAttempt.TRANSITIONS, conditional UPDATEs); an amount that differs from the invoice is flagged, never
paid; what fails stays replayable (reconciliation: the sweep and replay_notifications). Money going back
(reversal, refund, chargeback) is in reversals.
"""

import json
import logging
import traceback
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from backend.formats import period_label
from backend.observability.metrics import count_webhook_processed
from notifications.services import notify
from sponsorship.billing import locks
from sponsorship.billing.gateways import get_gateway
from sponsorship.billing.gateways.base import GatewayUnavailable, TransactionNotFound, TransactionStatus
from sponsorship.billing.models import CreditEntry, Invoice, PaymentAttempt, PaymentNotification, RefundCase
from sponsorship.billing.services.coverage import coverage_record_invoice
from sponsorship.billing.services.protection_log import record_protection_action
from sponsorship.billing.services.reversals import MONEY_RETURNED, payment_money_returned, payment_reverse
from sponsorship.core.audit import audit_record
from sponsorship.core.transitions import transition, transition_many
from sponsorship.people.models import Sponsorship

logger = logging.getLogger(__name__)
S = PaymentAttempt.Status
N = PaymentNotification.State
REPLAYABLE = (N.RECEIVED, N.FAILED)


def _sponsor_keeps_paying(sponsor_id: int) -> bool:
    return Sponsorship.objects.filter(sponsor_id=sponsor_id, status=Sponsorship.Status.ACTIVE).exists()


def _book_surplus(
    *, attempt: PaymentAttempt | None, sponsor_id: int | None, amount: int, reason: str, note: str
) -> str:
    """Money received that buys no coverage: credit on the next invoice, or a refund case for an admin. A worker's
    own payment (self-pay, no sponsor) always goes back to them: a refund case."""
    if amount <= 0:
        return ""
    if sponsor_id is None or (attempt is not None and not _sponsor_keeps_paying(sponsor_id)):
        if attempt is None:
            return ""
        RefundCase.objects.get_or_create(
            attempt=attempt, reason=reason, defaults={"sponsor_id": sponsor_id, "amount_idr": amount, "note": note}
        )
        return "refund_case"
    CreditEntry.objects.get_or_create(
        attempt=attempt,
        kind=CreditEntry.Kind.SURPLUS,
        defaults={"sponsor_id": sponsor_id, "amount_idr": amount, "note": note},
    )
    return "credit"


def payment_apply_status(*, attempt: PaymentAttempt, status: TransactionStatus) -> str:
    """Move an attempt (and its invoice, and the coverage ledger) to what the gateway confirmed."""
    ts = status.transaction_status
    if status.is_paid:
        return payment_settle(attempt=attempt, status=status)
    common = {
        "gateway_status": ts,
        "transaction_id": status.transaction_id or attempt.transaction_id,
        "payment_type": status.payment_type or attempt.payment_type,
    }
    target = {
        "pending": S.PENDING,
        "capture": S.PENDING,
        "authorize": S.PENDING,
        "expire": S.EXPIRED,
        "cancel": S.CANCELLED,
        "deny": S.DENIED,
        "failure": S.DENIED,
    }.get(ts)
    if ts in MONEY_RETURNED:
        return payment_money_returned(attempt=attempt, status=status)
    if ts == "deny":
        attempt.refresh_from_db()
        if attempt.status == S.SETTLED:
            return payment_reverse(attempt=attempt, status=status)
    if target is None:
        logger.warning("ignoring %s for %s (not handled automatically)", ts, attempt.order_id)
        return f"ignored_{ts}"
    return f"moved_{target}" if transition(PaymentAttempt, attempt.pk, to=target, **common) else f"stale_{ts}"


def payment_settle(*, attempt: PaymentAttempt, status: TransactionStatus) -> str:
    with transaction.atomic():
        invoice, attempt = locks.lock_payment(attempt)
        if attempt.status in (S.SETTLED, S.FLAGGED, S.REVERSED, S.REFUNDED, S.CHARGED_BACK):
            return "already_" + attempt.status
        now = timezone.now()
        paid = status.gross_amount_idr
        if paid != attempt.amount_idr or paid != invoice.amount_idr:
            transition(
                PaymentAttempt,
                attempt.pk,
                to=S.FLAGGED,
                paid_amount_idr=paid,
                gateway_status=status.transaction_status,
                transaction_id=status.transaction_id,
                payment_type=status.payment_type,
                error=f"amount mismatch: paid {paid}, expected {attempt.amount_idr}",
            )
            RefundCase.objects.get_or_create(
                attempt=attempt,
                reason=RefundCase.Reason.AMOUNT_MISMATCH,
                defaults={
                    "sponsor_id": invoice.sponsor_id,
                    "amount_idr": paid,
                    "note": f"Dibayar {paid}, tagihan {invoice.amount_idr}",
                },
            )
            audit_record(
                actor=None,
                action="payment.flag_amount_mismatch",
                obj=attempt,
                after={"paid_idr": paid, "expected_idr": attempt.amount_idr},
            )
            logger.error("amount mismatch on %s: paid %s expected %s", attempt.order_id, paid, attempt.amount_idr)
            return "amount_mismatch"
        if not transition(
            PaymentAttempt,
            attempt.pk,
            to=S.SETTLED,
            paid_amount_idr=paid,
            settled_at=now,
            gateway_status=status.transaction_status,
            transaction_id=status.transaction_id,
            payment_type=status.payment_type,
        ):
            return "not_settleable_" + attempt.status
        outcome = "settled"
        if transition(Invoice, invoice.pk, to=Invoice.Status.PAID, from_=Invoice.Status.ISSUED, paid_at=now):
            surplus = coverage_record_invoice(invoice=invoice, paid_at=now, attempt=attempt)
            if invoice.payer_kind == Invoice.Payer.WORKER:
                _record_self_paid(invoice=invoice, attempt=attempt, surplus=surplus, at=now)
            booked = _book_surplus(
                attempt=attempt,
                sponsor_id=invoice.sponsor_id,
                amount=min(sum(line.amount_idr for line in surplus), paid),
                reason=RefundCase.Reason.DOUBLE_PAYMENT,
                note=f"{len(surplus)} bulan-pekerja pada {invoice.number} sudah dibayar",
            )
            if booked:
                outcome += f"+surplus_{booked}"
        elif (reissue := _live_reissue_of(invoice)) is not None and reissue.amount_idr <= paid:
            # Hand-over: the voided invoice was reissued with the lines its sponsor still owes; the late payment
            # pays the reissue and the released months' money is surplus (docs/money-rules.md).
            transition(Invoice, reissue.pk, to=Invoice.Status.PAID, from_=Invoice.Status.ISSUED, paid_at=now)
            # The attempt now belongs to the invoice it paid, so its receipt, a later refund, reversal or
            # chargeback act on the reissue like on any payment (the audit row below keeps the voided number).
            PaymentAttempt.objects.filter(pk=attempt.pk).update(invoice=reissue)
            surplus = coverage_record_invoice(invoice=reissue, paid_at=now, attempt=attempt)
            outcome += f"+reissue_{reissue.number}"
            booked = _book_surplus(
                attempt=attempt,
                sponsor_id=invoice.sponsor_id,
                amount=paid - reissue.amount_idr + sum(line.amount_idr for line in surplus),
                reason=RefundCase.Reason.VOID_INVOICE_PAID,
                note=f"{invoice.number} diterbitkan ulang sebagai {reissue.number}",
            )
            if booked:
                outcome += f"+surplus_{booked}"
            reissue_id = reissue.pk
            transaction.on_commit(lambda: _notify_receipt(reissue_id))
        else:
            # The invoice was already paid by another attempt, or voided: all of it is surplus.
            reason = (
                RefundCase.Reason.VOID_INVOICE_PAID
                if invoice.status == Invoice.Status.VOID
                else RefundCase.Reason.DOUBLE_PAYMENT
            )
            outcome += "+surplus_" + _book_surplus(
                attempt=attempt,
                sponsor_id=invoice.sponsor_id,
                amount=paid,
                reason=reason,
                note=f"{invoice.number} sudah {invoice.status}",
            )
        audit_record(
            actor=None,
            action="payment.settle",
            obj=attempt,
            after={"order_id": attempt.order_id, "paid_idr": paid, "invoice": invoice.number, "outcome": outcome},
        )
        if outcome == "settled":
            transaction.on_commit(lambda: _notify_receipt(invoice.pk))
    return outcome


def _live_reissue_of(invoice: Invoice) -> Invoice | None:
    """The end of a voided invoice's reissue chain (hand-over), locked, if it is still unpaid. The caller holds the
    sponsor's lock; the reissues are that sponsor's later invoices (id order kept)."""
    if invoice.status != Invoice.Status.VOID:
        return None
    current = invoice
    for _ in range(24):  # one step per ended sponsorship; bounded all the same
        following = Invoice.objects.filter(replaces=current).order_by("pk").first()
        if following is None:
            break
        current = following
    if current.pk == invoice.pk or current.status != Invoice.Status.ISSUED:
        return None
    locked = locks.lock_invoices(Invoice.objects.filter(pk=current.pk, status=Invoice.Status.ISSUED))
    return locked[0] if locked else None


def invoice_settle_by_credit(*, invoice: Invoice) -> bool:
    """An invoice fully paid by sponsor credit (amount 0) is paid at once, without the gateway."""
    with transaction.atomic():
        now = timezone.now()
        if not transition_many(
            Invoice.objects.filter(pk=invoice.pk, amount_idr=0),
            to=Invoice.Status.PAID,
            from_=Invoice.Status.ISSUED,
            paid_at=now,
        ):
            return False
        surplus = coverage_record_invoice(invoice=invoice, paid_at=now)
        amount = sum(line.amount_idr for line in surplus)
        if amount and invoice.sponsor_id is not None:  # an amount-0 invoice is a sponsor's, paid by credit
            CreditEntry.objects.create(
                sponsor_id=invoice.sponsor_id,
                kind=CreditEntry.Kind.RESTORED,
                amount_idr=amount,
                invoice=invoice,
                note="Bulan sudah dibayar; kredit kembali",
            )
        audit_record(actor=None, action="invoice.settle_by_credit", obj=invoice, after={"number": invoice.number})
    return True


def _record_self_paid(*, invoice: Invoice, attempt: PaymentAttempt, surplus, at) -> None:
    """A worker paid their own premium (self-pay link): logged for the at-risk dashboard."""
    covered = [line for line in invoice.lines.all() if line not in surplus]
    for line in covered:
        record_protection_action(
            line.worker_id,
            "self_paid",
            detail={"invoice": invoice.number, "month": line.month.isoformat(), "amount_idr": line.amount_idr},
            at=at,
        )


def _notify_receipt(invoice_id: int) -> None:
    invoice = Invoice.objects.select_related("sponsor__user").get(pk=invoice_id)
    if invoice.sponsor is None or invoice.sponsor.user_id is None:
        return  # a self-paid invoice: the worker's status push (reminders) tells them they are protected
    with transaction.atomic():
        notify(
            user=invoice.sponsor.user,
            kind="payment_received",
            dedupe_key=f"payment_received:{invoice.pk}",
            context={
                "sponsor_name": invoice.sponsor.full_name,
                "amount_idr": invoice.amount_idr,
                "invoice_id": invoice.pk,
                "invoice_number": invoice.number,
                "period_label": period_label(invoice.period),
                "workers": invoice.lines.values("worker_id").distinct().count(),
            },
            data={"invoice_id": str(invoice.pk)},
        )


# ---- processing a stored notification ------------------------------------------------------------
class _ProcessingFailed(Exception):
    pass


def notification_process(*, note_id: int, gateway=None) -> str:
    """Act on one stored notification: confirm with the status API, move state forward, mark it processed.

    Idempotent and safe in parallel: one order at a time (advisory lock), the row's state is re-read under
    the lock, and every write below is a conditional update or protected by a unique key. The row is marked
    processed in the same transaction as the state change, i.e. only after success.
    """
    gateway = gateway or get_gateway()
    note = PaymentNotification.objects.filter(pk=note_id).only("state", "order_id").first()
    if note is None or note.state not in REPLAYABLE:
        return f"skipped_{note.state if note else 'missing'}"
    try:
        with transaction.atomic():
            # One order at a time (copies and out-of-order siblings arrive together); first in the lock order.
            locks.order_lock(note.order_id)
            note = PaymentNotification.objects.get(pk=note_id)
            if note.state not in REPLAYABLE:
                return f"skipped_{note.state}"  # another worker finished it while we waited for the lock
            attempt = PaymentAttempt.objects.filter(order_id=note.order_id).first()
            if attempt is None:
                _mark(note_id, N.UNKNOWN_ORDER, outcome="unknown_order", error="")
                return "unknown_order"
            if _cannot_change(attempt.status, note.transaction_status):
                outcome = f"no_change_{attempt.status}"
            else:
                try:
                    status = gateway.get_status(note.transaction_id or note.order_id)
                except (GatewayUnavailable, TransactionNotFound) as exc:
                    raise _ProcessingFailed(f"status API: {exc}") from None
                if status.order_id and status.order_id != note.order_id:
                    raise _ProcessingFailed(f"status API answered order {status.order_id}")
                outcome = payment_apply_status(attempt=attempt, status=status)
                if not _confirms(note, status):
                    # The gateway does not (yet) say what this notification says (a settlement while it still
                    # answers pending, a refund total it does not list yet). We acted on the gateway's word; the
                    # row gives up its dedupe key, so the genuine notification that follows is processed afresh
                    # instead of being taken for a copy of this one.
                    outcome = f"unconfirmed_{status.transaction_status}:{outcome}"
                    _mark(note_id, N.PROCESSED, outcome=outcome[:120], error="", dedupe_key=None)
                    return outcome
            _mark(note_id, N.PROCESSED, outcome=outcome[:120], error="")
        return outcome
    except _ProcessingFailed as exc:
        logger.warning("notification %s not processed yet: %s", note_id, exc)
        _mark(note_id, N.FAILED, error=str(exc)[:2000], outcome="status_unavailable")
    except Exception:  # noqa: BLE001 - recorded on the row; the sweep or replay_notifications retries
        logger.exception("notification %s failed", note_id)
        _mark(note_id, N.FAILED, error=traceback.format_exc()[-4000:], outcome="internal_error")
    return "failed"


def _confirms(note: PaymentNotification, status: TransactionStatus) -> bool:
    """The status API agrees with what the notification claims: the same status and, for money going back, at
    least the refunded total it claims."""
    if note.transaction_status != status.transaction_status:
        return False
    if note.transaction_status not in MONEY_RETURNED:
        return True
    try:
        claimed = json.loads(note.raw_body).get("refund_amount") or 0
        claimed_idr = Decimal(str(claimed))
    except (ValueError, AttributeError, ArithmeticError):
        return False
    gateway_total = status.refunded_amount_idr or sum(r.amount_idr for r in status.refunds)
    return gateway_total >= claimed_idr


def _cannot_change(attempt_status: str, notified_status: str) -> bool:
    """A settled attempt can only be reversed (deny) or have money returned (refund, chargeback); a flagged or
    refunded one only have (more) money returned; a reversed or charged-back one is final."""
    if notified_status in MONEY_RETURNED:
        return attempt_status not in (S.SETTLED, S.FLAGGED, S.REFUNDED)
    if attempt_status == S.SETTLED:
        return notified_status != "deny"
    return attempt_status in (S.FLAGGED, S.REVERSED, S.REFUNDED, S.CHARGED_BACK)


def _mark(note_id: int, state: str, **fields) -> None:
    fields.setdefault("processed_at", timezone.now())
    PaymentNotification.objects.filter(pk=note_id).update(state=state, attempts=F("attempts") + 1, **fields)


def notifications_process(*, note_ids, gateway=None) -> dict:
    """Process these stored notifications one by one (each in its own transaction). Outcome → count."""
    gateway = gateway or get_gateway()
    counts: dict[str, int] = {}
    for note_id in note_ids:
        outcome = notification_process(note_id=note_id, gateway=gateway)
        count_webhook_processed(outcome)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts
