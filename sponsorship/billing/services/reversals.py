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


def _undo_payment(
    *, attempt: PaymentAttempt, invoice: Invoice, invoice_to: str, why: str, returned: int | None = None
) -> dict:
    """The money of a settled attempt is gone: take back what it bought (caller holds the locks).

    - the attempt paid the invoice: its coverage rows are removed, the invoice goes back to `issued` (bank
      reversal: payable again, its applied credit stays on it) or to `refunded` (the applied credit is
      restored, the worker-months can be billed again);
    - unless the invoice was paid twice and the other payment's money is still with us unspent (surplus credit
      untouched, or an open double-payment refund case): then that payment moves onto the invoice, which stays
      paid with its coverage (`_move_onto_invoice`), and nothing is removed;
    - any surplus it bought (credit on the next invoice) is cancelled with a negative `reversed` entry, and
      its open refund cases are closed: there is nothing left to give back;
    - but a payment that paid no invoice (it only bought surplus: the second half of a double payment, or the
      cash of an invoice undone because its credit was taken back) loses only what went back: `returned`
      (the gateway's cumulative refunded / charged-back total; None = all of it, a bank reversal) leaves its
      credit or its open refund case, the rest stays the sponsor's.
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
                sponsor_id=_sponsor_id(invoice),
                kind=CreditEntry.Kind.RESTORED,
                amount_idr=invoice.credit_applied_idr,
                invoice=invoice,
                note=f"Tagihan {invoice.number} dikembalikan ({why})",
            )
        done["invoice"] = f"paid->{invoice_to}"
    mine = CreditEntry.objects.filter(attempt=attempt)
    kinds = [CreditEntry.Kind.SURPLUS] if paid_it else [CreditEntry.Kind.SURPLUS, CreditEntry.Kind.RESTORED]
    held = mine.filter(kind__in=kinds).aggregate(total=Sum("amount_idr"))["total"] or 0
    gone = -(mine.filter(kind=CreditEntry.Kind.REVERSED).aggregate(total=Sum("amount_idr"))["total"] or 0)
    whole = paid_it or returned is None
    more = (held if whole else min(returned or 0, held)) - gone
    if more > 0:
        done.update(_take_back_credit(attempt=attempt, invoice=invoice, amount=more, why=why))
        done["credit_reversed_idr"] = more
    for case in locks.lock_refund_cases(RefundCase.objects.filter(attempt=attempt, status=RefundCase.Status.OPEN)):
        # the case holds this payment's money, never sent back through Pengampu: part of it went back outside
        # (cumulative `returned`), so the case keeps what we still hold; all of it gone closes the case
        keep = 0 if whole or case.refund_key else min(case.amount_idr, (attempt.paid_amount_idr or 0) - (returned or 0))
        if keep > 0:
            if keep < case.amount_idr:
                RefundCase.objects.filter(pk=case.pk).update(
                    amount_idr=keep,
                    note=(case.note + f"\n{attempt.order_id}: sisa Rp {keep} setelah {why}").strip(),
                )
                done["refund_cases_reduced"] = [*done.get("refund_cases_reduced", []), case.pk]
            continue
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


def _sponsor_id(invoice: Invoice) -> int:
    """Credit belongs to sponsors; pool and self-pay invoices never hold or give any (they apply no credit)."""
    assert invoice.sponsor_id is not None, f"{invoice.number}: credit on an invoice without a sponsor"
    return invoice.sponsor_id


def _credit_balance(sponsor_id: int) -> int:
    return CreditEntry.objects.filter(sponsor_id=sponsor_id).aggregate(total=Sum("amount_idr"))["total"] or 0


def _take_back_credit(*, attempt: PaymentAttempt, invoice: Invoice, amount: int, why: str) -> dict:
    """`amount` of the sponsor's credit is gone (the payment that brought it was reversed or returned): a negative
    `reversed` entry (tied to `attempt`). The balance never goes negative: when it holds less than `amount`, the
    credit was already applied to other invoices, and those give it back, newest first, until the balance covers
    it — an unpaid one is voided (its credit restored; its months are billed again by the next run), a paid one
    is undone as a refund would undo it (coverage removed and reclaimed, invoice `refunded`, its applied credit
    and the cash that paid it back in the balance; its months are billed again, with whatever credit is left).
    Caller holds the sponsor's lock (so no other transaction holds these invoices)."""
    sponsor_id = _sponsor_id(invoice)
    out: dict[str, Any] = {}
    balance = _credit_balance(sponsor_id)
    if balance < amount:
        given_back = []
        holders = locks.lock_invoices(
            Invoice.objects.filter(
                sponsor_id=sponsor_id,
                credit_applied_idr__gt=0,
                status__in=[Invoice.Status.ISSUED, Invoice.Status.PAID],
            )
        )
        for other in sorted(holders, key=lambda i: i.pk, reverse=True):
            if balance >= amount:
                break
            balance += _give_credit_back(other, why=f"kredit dari {attempt.order_id} ditarik: {why}")
            given_back.append(other.number)
            logger.warning(
                "%s: credit already spent; %s (%s) gave it back", attempt.order_id, other.number, other.status
            )
        out["credit_taken_from_invoices"] = given_back
    CreditEntry.objects.create(
        sponsor_id=sponsor_id,
        kind=CreditEntry.Kind.REVERSED,
        amount_idr=-amount,
        attempt=attempt,
        invoice=invoice,
        note=f"{attempt.order_id}: {why}"[:255],
    )
    if balance < amount:  # nothing left to take it from (cannot happen while the ledger holds): say so loudly
        logger.error("%s: credit balance of sponsor %s short by Rp %s", attempt.order_id, sponsor_id, amount - balance)
    return out


def _give_credit_back(invoice: Invoice, *, why: str) -> int:
    """The credit applied to this (locked) invoice goes back to the balance; returns what the balance gained."""
    if invoice.status == Invoice.Status.ISSUED:
        from sponsorship.billing.services.billing import _void_locked  # billing imports settlement imports us

        return invoice.credit_applied_idr if _void_locked(invoice=invoice, reason=why, actor=None) else 0
    cash = [
        a for a in PaymentAttempt.objects.select_for_update().filter(invoice=invoice) if _paid_the_invoice(a, invoice)
    ]
    removed = coverage_remove_invoice(invoice=invoice, reason=why, attempt=cash[0] if cash else None)
    if not transition(Invoice, invoice.pk, to=Invoice.Status.REFUNDED, from_=Invoice.Status.PAID):
        return 0
    # What the balance gets back is exactly what the coverage was worth (surplus lines were credited at payment
    # time already): the cash that paid for it first (tied to its payment, so a later refund of that payment
    # takes it from there), the rest was credit.
    gained = sum(r["amount_idr"] for r in removed)
    cash_part = 0
    for attempt in cash[:1]:
        own_surplus = (
            CreditEntry.objects.filter(attempt=attempt, kind=CreditEntry.Kind.SURPLUS)
            .values_list("amount_idr", flat=True)
            .first()
        ) or 0
        cash_part = max(min(gained, (attempt.paid_amount_idr or 0) - attempt.refunded_amount_idr - own_surplus), 0)
        if cash_part:
            CreditEntry.objects.create(
                sponsor_id=_sponsor_id(invoice),
                kind=CreditEntry.Kind.RESTORED,
                amount_idr=cash_part,
                invoice=invoice,
                attempt=attempt,
                note=f"{attempt.order_id}: {invoice.number} dikembalikan"[:255],
            )
    if gained - cash_part > 0:
        CreditEntry.objects.create(
            sponsor_id=_sponsor_id(invoice),
            kind=CreditEntry.Kind.RESTORED,
            amount_idr=gained - cash_part,
            invoice=invoice,
            note=f"Tagihan {invoice.number} dikembalikan ({why})"[:255],
        )
    audit_record(
        actor=None,
        action=AuditAction.INVOICE_CREDIT_TAKEN_BACK,
        obj=invoice,
        before={"status": "paid"},
        after={"status": "refunded", "why": why, "credit_back_idr": gained, "coverage_removed": len(removed)},
    )
    return gained


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
            balance = CreditEntry.objects.filter(sponsor_id=_sponsor_id(invoice)).aggregate(total=Sum("amount_idr"))
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
            sponsor_id=_sponsor_id(invoice),
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
            # (what this payment still holds as credit: its surplus and what was kept, less what already went)
            left = CreditEntry.objects.filter(attempt=attempt).aggregate(total=Sum("amount_idr"))["total"] or 0
            more = min(total - previous, left)
            if more > 0:
                done = _take_back_credit(attempt=attempt, invoice=invoice, amount=more, why=f"{ts} tambahan")
        elif outside > 0:
            done = _undo_payment(
                attempt=attempt, invoice=invoice, invoice_to=Invoice.Status.REFUNDED, why=why, returned=outside
            )
            keep = paid - total
            if keep > 0 and (done.get("invoice") or done.get("moved_to")):
                CreditEntry.objects.create(
                    sponsor_id=_sponsor_id(invoice),
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
