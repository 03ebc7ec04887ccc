"""Paying invoices through the gateway, and acting on what the gateway tells us.

Rules (house style §7): every webhook body is stored as evidence before it is acted on; the signature
is checked in constant time; the database dedupes (unique dedupe_key); the status API is asked before
acting; attempt state only moves forward (PaymentAttempt.TRANSITIONS, conditional UPDATEs); an
amount that differs from the invoice is flagged, never paid. The webhook only accepts (store + verify,
answered in milliseconds); processing runs in a Celery task after commit, and what fails stays
replayable (sweep + replay_notifications). A failure to store answers 5xx so Midtrans retries.
"""
import atexit
import functools
import json
import logging
import os
import threading
import time
import traceback
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.api.errors import ConflictError, GatewayError
from sponsorship.billing.gateways import get_gateway
from sponsorship.billing.gateways.base import (CheckoutRequest, Customer, GatewayRejected, GatewayUnavailable, Item,
                                       TransactionNotFound, TransactionStatus)
from sponsorship.billing.models import CoverageMonth, CreditEntry, Invoice, PaymentAttempt, PaymentNotification, RefundCase
from sponsorship.people.models import Sponsor, Sponsorship
from sponsorship.core.audit import audit_record
from sponsorship.billing.services.billing import _notify, period_label
from sponsorship.billing.services.coverage import coverage_record_invoice, coverage_remove_invoice

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
NOT_PAYABLE = _("This invoice cannot be paid (already paid or voided).")


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
            raise ConflictError(NOT_PAYABLE, code="not_payable")
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
        raise GatewayError(_("The payment service cannot be reached right now. Your invoice is still payable; "
                              "please try again in a moment."), code="gateway_unavailable", status_code=503) from None
    except GatewayRejected as exc:
        _transition(attempt, S.GATEWAY_FAILED, error=str(exc)[:2000])
        logger.error("snap create rejected for %s: %s", attempt.order_id, exc)
        raise GatewayError(_("The payment service rejected this request. Your invoice is still payable; "
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
    raise ConflictError(_("The payment is being prepared. Try again in a moment."), code="payment_in_progress")


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
    if ts in MONEY_RETURNED:
        return payment_money_returned(attempt=attempt, status=status)
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
        invoice, attempt = _lock_payment(attempt)
        if attempt.status in (S.SETTLED, S.FLAGGED, S.REVERSED, S.REFUNDED, S.CHARGED_BACK):
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


MONEY_RETURNED = ("refund", "partial_refund", "chargeback", "partial_chargeback")


def _lock_payment(attempt: PaymentAttempt) -> tuple[Invoice, PaymentAttempt]:
    """Lock order sponsor → invoice → attempt (as everywhere)."""
    sponsor_id = Invoice.objects.filter(pk=attempt.invoice_id).values_list("sponsor_id", flat=True).get()
    Sponsor.objects.select_for_update().filter(pk=sponsor_id).first()
    invoice = Invoice.objects.select_for_update().get(pk=attempt.invoice_id)
    return invoice, PaymentAttempt.objects.select_for_update().get(pk=attempt.pk)


def _paid_the_invoice(attempt: PaymentAttempt, invoice: Invoice) -> bool:
    """This settled attempt is the one that paid the invoice (a second payment of it only bought surplus)."""
    if invoice.status != Invoice.Status.PAID or attempt.status not in (S.SETTLED, S.REFUNDED):
        return False
    return (invoice.paid_at == attempt.settled_at
            or CoverageMonth.objects.filter(invoice=invoice, attempt=attempt).exists())


def _undo_payment(*, attempt: PaymentAttempt, invoice: Invoice, invoice_to: str, why: str) -> dict:
    """The money of a settled attempt is gone: take back what it bought (caller holds the locks).

    - the attempt paid the invoice: its coverage rows are removed, the invoice goes back to `issued` (bank
      reversal: payable again, its applied credit stays on it) or to `refunded` (the applied credit is
      restored, the worker-months can be billed again);
    - any surplus it bought (credit on the next invoice) is cancelled with a negative `reversed` entry, and
      its open refund cases are closed: there is nothing left to give back.
    """
    done = {"coverage_removed": [], "invoice": None, "credit_reversed_idr": 0, "refund_cases_closed": []}
    now = timezone.now()
    if _paid_the_invoice(attempt, invoice):
        done["coverage_removed"] = coverage_remove_invoice(invoice=invoice)
        fields = {"status": invoice_to}
        if invoice_to == Invoice.Status.ISSUED:
            fields["paid_at"] = None
        Invoice.objects.filter(pk=invoice.pk, status=Invoice.Status.PAID).update(**fields)
        if invoice_to == Invoice.Status.REFUNDED and invoice.credit_applied_idr:
            CreditEntry.objects.create(sponsor_id=invoice.sponsor_id, kind=CreditEntry.Kind.RESTORED,
                                       amount_idr=invoice.credit_applied_idr, invoice=invoice,
                                       note=f"Tagihan {invoice.number} dikembalikan ({why})")
        done["invoice"] = f"paid->{invoice_to}"
    surplus = CreditEntry.objects.filter(attempt=attempt, kind=CreditEntry.Kind.SURPLUS).first()
    if surplus is not None and not CreditEntry.objects.filter(attempt=attempt, kind=CreditEntry.Kind.REVERSED).exists():
        CreditEntry.objects.create(sponsor_id=surplus.sponsor_id, kind=CreditEntry.Kind.REVERSED,
                                   amount_idr=-surplus.amount_idr, attempt=attempt, invoice=invoice,
                                   note=f"{attempt.order_id}: {why}")
        done["credit_reversed_idr"] = surplus.amount_idr
    for case in RefundCase.objects.select_for_update().filter(attempt=attempt, status=RefundCase.Status.OPEN):
        RefundCase.objects.filter(pk=case.pk).update(status=RefundCase.Status.RESOLVED, resolved_at=now,
                                                     note=(case.note + f"\nDitutup: {why}").strip())
        done["refund_cases_closed"].append(case.pk)
    return done


def payment_reverse(*, attempt: PaymentAttempt, status: TransactionStatus) -> str:
    """A bank reversal (settlement → deny, Permata VA / Mandiri bill): treat as not paid.

    The coverage that payment bought is removed, the invoice is payable again, an audit row keeps what was
    undone (the raw notification is kept as always), and an error is logged for an admin to follow up.
    """
    with transaction.atomic():
        invoice, attempt = _lock_payment(attempt)
        if attempt.status != S.SETTLED:
            return "stale_deny"
        done = _undo_payment(attempt=attempt, invoice=invoice, invoice_to=Invoice.Status.ISSUED, why="reversal bank")
        if not _transition(attempt, S.REVERSED, gateway_status=status.transaction_status,
                           error="bank reversal after settlement"):
            raise RuntimeError(f"{attempt.order_id}: could not move a settled attempt to reversed")
        audit_record(actor=None, action="payment.reversed", obj=attempt,
                     before={"attempt": "settled", "invoice": invoice.status},
                     after={"order_id": attempt.order_id, "invoice": invoice.number, **done})
    logger.error("bank reversal on %s: %d coverage months removed, invoice %s", attempt.order_id,
                 len(done["coverage_removed"]), done["invoice"] or "unchanged")
    return "reversed"


def _refunds_of(status: TransactionStatus) -> list[dict]:
    refunds = status.raw.get("refunds") if isinstance(status.raw, dict) else None
    return [r for r in refunds if isinstance(r, dict)] if isinstance(refunds, list) else []


def payment_money_returned(*, attempt: PaymentAttempt, status: TransactionStatus) -> str:
    """refund / partial_refund / chargeback confirmed by the status API.

    Refunds we made for a refund case (matched by refund_key) only confirm that case. Money returned
    otherwise (a refund from the Midtrans dashboard, a chargeback) takes back what the payment bought
    (`_undo_payment`, invoice → refunded); what was paid and not returned stays with the sponsor as credit.
    """
    from sponsorship.billing.gateways.midtrans import amount_to_idr
    ts = status.transaction_status
    with transaction.atomic():
        invoice, attempt = _lock_payment(attempt)
        paid = attempt.paid_amount_idr or status.gross_amount_idr
        refunds = _refunds_of(status)
        if "chargeback" in ts:
            total = amount_to_idr(status.raw.get("refund_amount") or 0) if ts == "partial_chargeback" else paid
        else:
            total = sum(amount_to_idr(r.get("refund_amount", 0)) for r in refunds) or \
                amount_to_idr(status.raw.get("refund_amount") or 0)
        total = min(total or paid, paid)
        ours = {}
        for case in RefundCase.objects.select_for_update().filter(attempt=attempt).exclude(refund_key=""):
            match = next((r for r in refunds if r.get("refund_key") == case.refund_key), None)
            if match is None:
                continue
            ours[case.pk] = amount_to_idr(match.get("refund_amount", 0))
            update = {"bank_confirmed_at": str(match.get("bank_confirmed_at") or case.bank_confirmed_at)[:32]}
            if case.status in (RefundCase.Status.OPEN, RefundCase.Status.MANUAL_TRANSFER):
                update.update(status=RefundCase.Status.REFUNDED, refunded_amount_idr=ours[case.pk],
                              refunded_at=timezone.now())
            RefundCase.objects.filter(pk=case.pk).update(**update)
        outside = total - sum(ours.values())
        previous = attempt.refunded_amount_idr
        if total <= previous and attempt.status in (S.REFUNDED, S.CHARGED_BACK):
            return f"no_change_{ts}"
        target = S.CHARGED_BACK if "chargeback" in ts else S.REFUNDED
        was = attempt.status  # `attempt` keeps it: the object is not refreshed after the swap below
        if not _transition(attempt, target, refunded_amount_idr=total, gateway_status=ts):
            return f"stale_{ts}"
        done = {}
        why = "chargeback" if "chargeback" in ts else "refund di luar Pengampu"
        kept = CreditEntry.objects.filter(attempt=attempt, kind=CreditEntry.Kind.RESTORED).first()
        if outside > 0 and kept is not None:
            # a further partial refund after this payment was already undone: less of it stays as credit
            more = min(total - previous, kept.amount_idr)
            if more > 0:
                CreditEntry.objects.create(sponsor_id=invoice.sponsor_id, kind=CreditEntry.Kind.REVERSED,
                                           amount_idr=-more, invoice=invoice, note=f"{attempt.order_id}: {ts} tambahan")
        elif outside > 0:
            done = _undo_payment(attempt=attempt, invoice=invoice, invoice_to=Invoice.Status.REFUNDED, why=why)
            keep = paid - total
            if keep > 0 and done.get("invoice"):
                CreditEntry.objects.create(sponsor_id=invoice.sponsor_id, kind=CreditEntry.Kind.RESTORED,
                                           amount_idr=keep, invoice=invoice, attempt=attempt,
                                           note=f"{attempt.order_id}: sisa setelah {ts} sebagian")
                done["credit_kept_idr"] = keep
        audit_record(actor=None, action=f"payment.{target}", obj=attempt,
                     before={"attempt": was, "refunded_idr": previous},
                     after={"order_id": attempt.order_id, "status": ts, "refunded_idr": total,
                            "our_refund_cases": sorted(ours), "outside_idr": outside, **done})
    if outside > 0:
        logger.error("%s on %s: Rp %s returned outside a refund case; coverage months removed: %d",
                     ts, attempt.order_id, outside, len(done.get("coverage_removed", [])))
    return f"{target}" + ("+undone" if done.get("invoice") else "")


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
# Accepting (synchronous, in the request) and processing (a Celery task after commit) are split, as the
# reference §5.4 says ("return 200 fast; do heavy work async"):
#   accept:  parse → verify the signature (403) → ONE insert of the raw row with its dedupe key and whether the
#            order exists (unknown → 404; a copy of a stored one → 200 "duplicate") → 200. A failure to store
#            answers 503, so Midtrans retries (4 times for a 503, once for a 500).
#   process: per-order lock → status API → payment_apply_status → row marked processed, only after success.
#            A failure leaves the row `failed` with its error; the sweep (beat) and `replay_notifications`
#            process it again. Processing is idempotent, so a second run of the same row is harmless.
@dataclass(frozen=True)
class WebhookAnswer:
    status: int
    body: dict = field(default_factory=dict)


N = PaymentNotification.State
REPLAYABLE = (N.RECEIVED, N.FAILED)
SWEEP_RECEIVED_AFTER_SECONDS = 120  # an enqueued task normally finishes well within this
SWEEP_MAX_AUTO_ATTEMPTS = 30  # then only `replay_notifications` (an admin) retries it
SWEEP_BATCH = 500

# The hot path in one round trip: the dedupe key is UNIQUE, so ON CONFLICT DO NOTHING returning no row means a
# copy already exists; the order check rides along in the same statement.
_ACCEPT_SQL = """
WITH known AS (SELECT EXISTS (SELECT 1 FROM {attempt} WHERE order_id = %(order_id)s) AS yes)
INSERT INTO {note} (received_at, raw_body, headers, remote_ip, order_id, transaction_id, transaction_status,
                    status_code, gross_amount, signature_valid, dedupe_key, state, outcome, error, attempts,
                    processed_at)
SELECT %(now)s, %(raw_body)s, %(headers)s::jsonb, %(remote_ip)s::inet, %(order_id)s, %(transaction_id)s,
       %(transaction_status)s, %(status_code)s, %(gross_amount)s, true, %(dedupe_key)s,
       CASE WHEN known.yes THEN %(received)s ELSE %(unknown)s END,
       CASE WHEN known.yes THEN '' ELSE %(unknown)s END, '', 0,
       CASE WHEN known.yes THEN NULL ELSE %(now)s END
FROM known
ON CONFLICT (dedupe_key) DO NOTHING
RETURNING id, state
"""


def _mark(note_id: int, state: str, **fields) -> None:
    fields.setdefault("processed_at", timezone.now())
    PaymentNotification.objects.filter(pk=note_id).update(state=state, attempts=F("attempts") + 1, **fields)


def _payload_fields(payload: dict) -> dict:
    return {"order_id": str(payload.get("order_id", ""))[:64],
            "transaction_id": str(payload.get("transaction_id", ""))[:64],
            "transaction_status": str(payload.get("transaction_status", "")).lower()[:24],
            "status_code": str(payload.get("status_code", ""))[:8],
            "gross_amount": str(payload.get("gross_amount", ""))[:24]}


def notification_receive(*, raw_body: bytes, headers: dict, remote_ip: str | None, gateway=None) -> WebhookAnswer:
    """Accept a Midtrans notification: store it as evidence, answer at once; processing happens after commit."""
    text = raw_body.decode("utf-8", "replace")
    evidence = {"raw_body": text, "headers": headers, "remote_ip": remote_ip}
    fields = {"order_id": ""}
    try:
        try:
            payload = json.loads(text)
            if not isinstance(payload, dict):
                raise ValueError("not an object")
        except ValueError:
            PaymentNotification.objects.create(**evidence, state=N.REJECTED, outcome="invalid_json",
                                               processed_at=timezone.now())
            return WebhookAnswer(400, {"status": "invalid_json"})
        fields = _payload_fields(payload)
        if not (gateway or get_gateway()).verify_notification(payload):
            PaymentNotification.objects.create(**evidence, **fields, signature_valid=False, state=N.REJECTED,
                                               outcome="bad_signature", processed_at=timezone.now())
            logger.warning("rejected notification: bad signature (order %s)", fields["order_id"])
            return WebhookAnswer(403, {"status": "invalid_signature"})
        key = "|".join([fields["order_id"], fields["transaction_id"], fields["transaction_status"],
                        fields["status_code"], fields["gross_amount"]])[:160]
        with connection.cursor() as cursor:
            cursor.execute(_ACCEPT_SQL.format(note=_table(PaymentNotification), attempt=_table(PaymentAttempt)), {
                **fields, "raw_body": text, "headers": json.dumps(headers), "remote_ip": remote_ip or None,
                "dedupe_key": key, "now": timezone.now(), "received": N.RECEIVED, "unknown": N.UNKNOWN_ORDER})
            row = cursor.fetchone()
        if row is None:
            return _accept_duplicate(key=key, evidence=evidence, fields=fields)
        note_id, state = row
        if state == N.UNKNOWN_ORDER:
            logger.warning("notification %s for unknown order %r", note_id, fields["order_id"])
            return WebhookAnswer(404, {"status": "unknown_order"})
        transaction.on_commit(lambda: _enqueue_processing(note_id), robust=True)
        return WebhookAnswer(200, {"status": "accepted"})
    except DatabaseError:
        # Not stored means not safe to acknowledge: a 503 makes Midtrans send it again (up to 4 times).
        logger.exception("could not store a Midtrans notification (order %r)", fields["order_id"])
        return WebhookAnswer(503, {"status": "retry_later"})


def _accept_duplicate(*, key: str, evidence: dict, fields: dict) -> WebhookAnswer:
    original = PaymentNotification.objects.filter(dedupe_key=key).values_list("pk", "state").first()
    original_id, original_state = original or (None, "")
    PaymentNotification.objects.create(**evidence, **fields, signature_valid=True, duplicate_of_id=original_id,
                                       state=N.DUPLICATE, outcome=f"duplicate_of_{original_id}",
                                       processed_at=timezone.now())
    if original_state == N.UNKNOWN_ORDER:
        return WebhookAnswer(404, {"status": "duplicate"})
    if original_state == N.FAILED:
        # Midtrans (or an admin in its dashboard) sent it again: a good moment to try the original once more.
        transaction.on_commit(lambda: _enqueue_processing(original_id), robust=True)
    return WebhookAnswer(200, {"status": "duplicate"})


class _WakeUps:
    """The processing wake-ups of one web process, coalesced: one Celery message per window
    (PAYMENT_WAKEUP_WINDOW_MS, default 100 ms), not one per request.

    Publishing a Celery message costs about as much CPU as the rest of the request (measured: ~1.3-1.9 ms), so
    a burst of notifications is enqueued as a few `process_payment_notifications([ids])` tasks by a daemon
    thread. The wake-up is not what makes a notification safe: the row is committed before the 200, and if
    this process dies before flushing (or the broker is down) the row stays `received` and the sweep
    processes it. With eager Celery (dev, tests) the task runs at once, in the request.
    """

    def __init__(self, window_seconds: float | None = None):
        self._window = window_seconds
        self._ids: list[int] = []
        self._cond = threading.Condition()
        self._pid = None

    @property
    def window(self) -> float:
        if self._window is None:
            self._window = settings.PAYMENT_WAKEUP_WINDOW_MS / 1000
        return self._window

    def add(self, note_id: int) -> None:
        if _celery_eager():
            _enqueue([note_id])
            return
        with self._cond:
            if self._pid != os.getpid():  # first use in this (possibly forked) process
                self._ids, self._pid = [], os.getpid()
                threading.Thread(target=self._run, name="payment-wakeups", daemon=True).start()
                atexit.register(self.flush)
            self._ids.append(note_id)
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._ids:
                    self._cond.wait()
            time.sleep(self.window)  # let the rest of a burst join this message
            self.flush()

    def flush(self) -> None:
        with self._cond:
            ids, self._ids = self._ids, []
        if ids:
            _enqueue(ids)


@functools.cache
def _celery_eager() -> bool:
    """Read once per process (a Celery setting lookup costs ~0.1 ms, on every request otherwise)."""
    from sponsorship.billing import tasks
    return bool(tasks.process_payment_notifications.app.conf.task_always_eager)


def _enqueue(note_ids: list[int]) -> None:
    from backend.celery import delay_or
    from sponsorship.billing import tasks
    # the stored rows are the source of truth; the sweep recovers them
    delay_or(tasks.process_payment_notifications, note_ids,
             what=f"processing of notifications {note_ids[:20]}; the sweep will")


_wakeups = _WakeUps()


def _enqueue_processing(note_id: int) -> None:
    """After commit."""
    _wakeups.add(note_id)


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
            # One order at a time (copies and out-of-order siblings arrive together); an advisory lock keeps
            # clear of the sponsor → invoice → attempt row-lock order.
            _order_lock(note.order_id)
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
            _mark(note_id, N.PROCESSED, outcome=outcome[:120], error="")
        return outcome
    except _ProcessingFailed as exc:
        logger.warning("notification %s not processed yet: %s", note_id, exc)
        _mark(note_id, N.FAILED, error=str(exc)[:2000], outcome="status_unavailable")
    except Exception:  # noqa: BLE001 - recorded on the row; the sweep or replay_notifications retries
        logger.exception("notification %s failed", note_id)
        _mark(note_id, N.FAILED, error=traceback.format_exc()[-4000:], outcome="internal_error")
    return "failed"


def _order_lock(order_id: str) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"midtrans:{order_id}"])


def _cannot_change(attempt_status: str, notified_status: str) -> bool:
    """A settled attempt can only be reversed (deny) or have money returned (refund, chargeback); a flagged or
    refunded one only have (more) money returned; a reversed or charged-back one is final."""
    if notified_status in MONEY_RETURNED:
        return attempt_status not in (S.SETTLED, S.FLAGGED, S.REFUNDED)
    if attempt_status == S.SETTLED:
        return notified_status != "deny"
    return attempt_status in (S.FLAGGED, S.REVERSED, S.REFUNDED, S.CHARGED_BACK)


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def notifications_process(*, note_ids, gateway=None) -> dict:
    """Process these stored notifications one by one (each in its own transaction). Outcome → count."""
    gateway = gateway or get_gateway()
    counts: dict[str, int] = {}
    for note_id in note_ids:
        outcome = notification_process(note_id=note_id, gateway=gateway)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def notifications_replay(*, ids=None, gateway=None) -> dict:
    """Process now what failed or was never finished (all of them, or these ids). Outcome → count."""
    gateway = gateway or get_gateway()
    qs = PaymentNotification.objects.filter(state__in=REPLAYABLE)
    if ids:
        qs = qs.filter(pk__in=ids)
    return notifications_process(note_ids=list(qs.order_by("received_at").values_list("pk", flat=True)),
                                 gateway=gateway)


def notifications_sweep(*, now=None, gateway=None) -> dict:
    """Periodic (beat): rows whose task never ran (broker down, worker lost) and failed rows, with backoff.

    A failed row waits min(2^(attempts-1), 60) minutes before the next try, up to SWEEP_MAX_AUTO_ATTEMPTS.
    """
    now = now or timezone.now()
    stuck = list(PaymentNotification.objects.filter(
        state=N.RECEIVED, received_at__lte=now - timezone.timedelta(seconds=SWEEP_RECEIVED_AFTER_SECONDS))
        .order_by("received_at").values_list("pk", flat=True)[:SWEEP_BATCH])
    failed = [pk for pk, attempts, last in PaymentNotification.objects.filter(
        state=N.FAILED, attempts__lt=SWEEP_MAX_AUTO_ATTEMPTS).order_by("processed_at")
        .values_list("pk", "attempts", "processed_at")[:SWEEP_BATCH]
        if last is None or last <= now - timezone.timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))]
    if not stuck and not failed:
        return {}
    return notifications_process(note_ids=stuck + failed, gateway=gateway)


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
