"""Money going back after a payment settled: a bank reversal (settlement → deny), a refund, a chargeback.

What the payment bought is taken back (coverage rows, the invoice's paid state, surplus credit); refunds we
asked for through a refund case only confirm that case. The gateway's refunds arrive parsed
(TransactionStatus.refunds, refunded_amount_idr): nothing here reads the gateway's raw answer.
"""

import logging
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from sponsorship.billing import locks
from sponsorship.billing.gateways.base import TransactionStatus
from sponsorship.billing.models import CoverageMonth, CreditEntry, Invoice, PaymentAttempt, RefundCase
from sponsorship.billing.services.coverage import coverage_remove_invoice
from sponsorship.core.audit import AuditAction, audit_record
from sponsorship.core.transitions import transition

logger = logging.getLogger(__name__)
S = PaymentAttempt.Status

MONEY_RETURNED = ("refund", "partial_refund", "chargeback", "partial_chargeback")


def _paid_the_invoice(attempt: PaymentAttempt, invoice: Invoice) -> bool:
    """This settled attempt is the one that paid the invoice (a second payment of it only bought surplus)."""
    if invoice.status != Invoice.Status.PAID or attempt.status not in (S.SETTLED, S.REFUNDED):
        return False
    return (
        invoice.paid_at == attempt.settled_at or CoverageMonth.objects.filter(invoice=invoice, attempt=attempt).exists()
    )


def _undo_payment(*, attempt: PaymentAttempt, invoice: Invoice, invoice_to: str, why: str) -> dict:
    """The money of a settled attempt is gone: take back what it bought (caller holds the locks).

    - the attempt paid the invoice: its coverage rows are removed, the invoice goes back to `issued` (bank
      reversal: payable again, its applied credit stays on it) or to `refunded` (the applied credit is
      restored, the worker-months can be billed again);
    - unless the invoice was paid twice and the other payment's money is still with us unspent (surplus credit
      untouched, or an open double-payment refund case): then that payment moves onto the invoice, which stays
      paid with its coverage (`_move_onto_invoice`), and nothing is removed;
    - any surplus it bought (credit on the next invoice) is cancelled with a negative `reversed` entry, and
      its open refund cases are closed: there is nothing left to give back.
    """
    done: dict[str, Any] = {
        "coverage_removed": [],
        "invoice": None,
        "credit_reversed_idr": 0,
        "refund_cases_closed": [],
        "moved_to": None,
    }
    now = timezone.now()
    paid_it = _paid_the_invoice(attempt, invoice)
    second = _unspent_second_payment(attempt, invoice) if paid_it else None
    if second is not None:
        # Paid twice, and the first payment is gone: the second one pays the invoice instead of being surplus.
        done["moved_to"] = _move_onto_invoice(invoice=invoice, first=attempt, second=second[0], held_as=second[1])
    elif paid_it:
        done["coverage_removed"] = coverage_remove_invoice(
            invoice=invoice, reason=f"{attempt.order_id}: {why}", attempt=attempt
        )
        fields: dict[str, Any] = {"status": invoice_to}
        if invoice_to == Invoice.Status.ISSUED:
            fields["paid_at"] = None
        fields.pop("status")
        transition(Invoice, invoice.pk, to=invoice_to, from_=Invoice.Status.PAID, **fields)
        if invoice_to == Invoice.Status.REFUNDED and invoice.credit_applied_idr:
            CreditEntry.objects.create(
                sponsor_id=invoice.sponsor_id,
                kind=CreditEntry.Kind.RESTORED,
                amount_idr=invoice.credit_applied_idr,
                invoice=invoice,
                note=f"Tagihan {invoice.number} dikembalikan ({why})",
            )
        done["invoice"] = f"paid->{invoice_to}"
    surplus = CreditEntry.objects.filter(attempt=attempt, kind=CreditEntry.Kind.SURPLUS).first()
    if surplus is not None and not CreditEntry.objects.filter(attempt=attempt, kind=CreditEntry.Kind.REVERSED).exists():
        CreditEntry.objects.create(
            sponsor_id=surplus.sponsor_id,
            kind=CreditEntry.Kind.REVERSED,
            amount_idr=-surplus.amount_idr,
            attempt=attempt,
            invoice=invoice,
            note=f"{attempt.order_id}: {why}",
        )
        done["credit_reversed_idr"] = surplus.amount_idr
    for case in locks.lock_refund_cases(RefundCase.objects.filter(attempt=attempt, status=RefundCase.Status.OPEN)):
        transition(
            RefundCase,
            case.pk,
            to=RefundCase.Status.RESOLVED,
            from_=RefundCase.Status.OPEN,
            resolved_at=now,
            note=(case.note + f"\nDitutup: {why}").strip(),
        )
        done["refund_cases_closed"].append(case.pk)
    return done


def _unspent_second_payment(attempt: PaymentAttempt, invoice: Invoice) -> tuple[PaymentAttempt, str] | None:
    """Another settled payment of this invoice, of the invoice's amount, whose money we still hold unspent:
    its surplus credit is untouched (the sponsor's balance still covers it) or its double-payment refund case is
    still open and was never sent to the gateway. Locked (after `attempt`, under the same sponsor lock)."""
    others = (
        PaymentAttempt.objects.select_for_update()
        .filter(invoice=invoice, status=S.SETTLED, paid_amount_idr=invoice.amount_idr)
        .exclude(pk=attempt.pk)
        .order_by("settled_at", "pk")
    )
    for other in others:
        paid = other.paid_amount_idr or 0
        credit = CreditEntry.objects.filter(attempt=other)
        surplus = credit.filter(kind=CreditEntry.Kind.SURPLUS).values_list("amount_idr", flat=True).first()
        if surplus is not None and surplus == paid and not credit.filter(kind=CreditEntry.Kind.REVERSED).exists():
            balance = CreditEntry.objects.filter(sponsor_id=invoice.sponsor_id).aggregate(total=Sum("amount_idr"))
            if (balance["total"] or 0) >= surplus:
                return other, "credit"
        case = (
            RefundCase.objects.filter(
                attempt=other,
                status=RefundCase.Status.OPEN,
                reason=RefundCase.Reason.DOUBLE_PAYMENT,
                amount_idr=paid,
                refund_key="",
            )
            .select_for_update()
            .first()
        )
        if case is not None:
            return other, "refund_case"
    return None


def _move_onto_invoice(*, invoice: Invoice, first: PaymentAttempt, second: PaymentAttempt, held_as: str) -> str:
    """The invoice stays paid, now by `second`; its coverage rows stay (re-pointed), and what `second` was held
    as (surplus credit, an open refund case) is taken back, since that money now pays the invoice."""
    why = f"{second.order_id} kini membayar {invoice.number} ({first.order_id} dibatalkan)"
    Invoice.objects.filter(pk=invoice.pk).update(paid_at=second.settled_at)
    CoverageMonth.objects.filter(invoice=invoice).update(attempt=second, paid_at=second.settled_at)
    if held_as == "credit":
        CreditEntry.objects.create(
            sponsor_id=invoice.sponsor_id,
            kind=CreditEntry.Kind.REVERSED,
            amount_idr=-(second.paid_amount_idr or 0),
            attempt=second,
            invoice=invoice,
            note=why[:255],
        )
    else:
        for case in locks.lock_refund_cases(
            RefundCase.objects.filter(attempt=second, status=RefundCase.Status.OPEN, refund_key="")
        ):
            transition(
                RefundCase,
                case.pk,
                to=RefundCase.Status.RESOLVED,
                from_=RefundCase.Status.OPEN,
                resolved_at=timezone.now(),
                note=(case.note + f"\nDitutup: {why}").strip(),
            )
    logger.warning("%s: %s", invoice.number, why)
    return f"{second.order_id} ({held_as})"


def payment_reverse(*, attempt: PaymentAttempt, status: TransactionStatus) -> str:
    """A bank reversal (settlement → deny, Permata VA / Mandiri bill): treat as not paid.

    The coverage that payment bought is removed, the invoice is payable again, an audit row keeps what was
    undone (the raw notification is kept as always), and an error is logged for an admin to follow up.
    """
    with transaction.atomic():
        invoice, attempt = locks.lock_payment(attempt)
        if attempt.status != S.SETTLED:
            return "stale_deny"
        done = _undo_payment(attempt=attempt, invoice=invoice, invoice_to=Invoice.Status.ISSUED, why="reversal bank")
        if not transition(
            PaymentAttempt,
            attempt.pk,
            to=S.REVERSED,
            gateway_status=status.transaction_status,
            error="bank reversal after settlement",
        ):
            raise RuntimeError(f"{attempt.order_id}: could not move a settled attempt to reversed")
        audit_record(
            actor=None,
            action="payment.reversed",
            obj=attempt,
            before={"attempt": "settled", "invoice": invoice.status},
            after={"order_id": attempt.order_id, "invoice": invoice.number, **done},
        )
    logger.error(
        "bank reversal on %s: %d coverage months removed, invoice %s",
        attempt.order_id,
        len(done["coverage_removed"]),
        done["invoice"] or ("paid by " + done["moved_to"] if done.get("moved_to") else "unchanged"),
    )
    return "reversed" + ("+moved" if done.get("moved_to") else "")


def payment_money_returned(*, attempt: PaymentAttempt, status: TransactionStatus) -> str:
    """refund / partial_refund / chargeback confirmed by the status API.

    Refunds we made for a refund case (matched by refund_key) only confirm that case. Money returned
    otherwise (a refund from the Midtrans dashboard, a chargeback) takes back what the payment bought
    (`_undo_payment`, invoice → refunded); what was paid and not returned stays with the sponsor as credit.
    """
    ts = status.transaction_status
    with transaction.atomic():
        invoice, attempt = locks.lock_payment(attempt)
        paid = attempt.paid_amount_idr or status.gross_amount_idr
        refunds = status.refunds
        if "chargeback" in ts:
            total = status.refunded_amount_idr if ts == "partial_chargeback" else paid
        else:
            total = sum(r.amount_idr for r in refunds) or status.refunded_amount_idr
        total = min(total or paid, paid)
        ours = {}
        for case in locks.lock_refund_cases(RefundCase.objects.filter(attempt=attempt).exclude(refund_key="")):
            match = next((r for r in refunds if r.refund_key == case.refund_key), None)
            if match is None:
                continue
            ours[case.pk] = match.amount_idr
            update: dict[str, Any] = {"bank_confirmed_at": (match.bank_confirmed_at or case.bank_confirmed_at)[:32]}
            if case.status in (RefundCase.Status.OPEN, RefundCase.Status.MANUAL_TRANSFER):
                update.update(
                    status=RefundCase.Status.REFUNDED, refunded_amount_idr=ours[case.pk], refunded_at=timezone.now()
                )
            RefundCase.objects.filter(pk=case.pk).update(**update)
        outside = total - sum(ours.values())
        previous = attempt.refunded_amount_idr
        if total <= previous and attempt.status in (S.REFUNDED, S.CHARGED_BACK):
            return f"no_change_{ts}"
        target = S.CHARGED_BACK if "chargeback" in ts else S.REFUNDED
        was = attempt.status  # `attempt` keeps it: the object is not refreshed after the swap below
        if not transition(PaymentAttempt, attempt.pk, to=target, refunded_amount_idr=total, gateway_status=ts):
            return f"stale_{ts}"
        done = {}
        why = "chargeback" if "chargeback" in ts else "refund di luar Pengampu"
        kept = CreditEntry.objects.filter(attempt=attempt, kind=CreditEntry.Kind.RESTORED).first()
        if outside > 0 and kept is not None:
            # a further partial refund after this payment was already undone: less of it stays as credit
            more = min(total - previous, kept.amount_idr)
            if more > 0:
                CreditEntry.objects.create(
                    sponsor_id=invoice.sponsor_id,
                    kind=CreditEntry.Kind.REVERSED,
                    amount_idr=-more,
                    invoice=invoice,
                    note=f"{attempt.order_id}: {ts} tambahan",
                )
        elif outside > 0:
            done = _undo_payment(attempt=attempt, invoice=invoice, invoice_to=Invoice.Status.REFUNDED, why=why)
            keep = paid - total
            if keep > 0 and (done.get("invoice") or done.get("moved_to")):
                CreditEntry.objects.create(
                    sponsor_id=invoice.sponsor_id,
                    kind=CreditEntry.Kind.RESTORED,
                    amount_idr=keep,
                    invoice=invoice,
                    attempt=attempt,
                    note=f"{attempt.order_id}: sisa setelah {ts} sebagian",
                )
                done["credit_kept_idr"] = keep
        audit_record(
            actor=None,
            action=AuditAction.PAYMENT_CHARGED_BACK if target == S.CHARGED_BACK else AuditAction.PAYMENT_REFUNDED,
            obj=attempt,
            before={"attempt": was, "refunded_idr": previous},
            after={
                "order_id": attempt.order_id,
                "status": ts,
                "refunded_idr": total,
                "our_refund_cases": sorted(ours),
                "outside_idr": outside,
                **done,
            },
        )
    if outside > 0:
        logger.error(
            "%s on %s: Rp %s returned outside a refund case; coverage months removed: %d",
            ts,
            attempt.order_id,
            outside,
            len(done.get("coverage_removed", [])),
        )
    return f"{target}" + ("+undone" if done.get("invoice") else "") + ("+moved" if done.get("moved_to") else "")
