"""Giving money back for a refund case (double payment, amount mismatch, a voided invoice paid) through Midtrans.

- Only settled payments of e-wallet / QRIS / card types can be refunded through the API (reference §3.8):
  VA / bank transfer / Mandiri bill cases are marked `manual_transfer` with a clear message, nothing is sent.
- `refund_key` (the gateway's idempotency key) is written on the case BEFORE the call, so a retry after a
  timeout or a crash between the gateway's answer and our commit sends the same key: Midtrans answers with the
  first refund, never a second one.
- Gateway down / timeout → 503, refused (4xx) → 502; the case stays open with `last_error`.
- Every request, success, refusal and failure is audited. The refund notification that follows is processed
  like any other (reversals.payment_money_returned) and only confirms the case (bank_confirmed_at).
"""

import logging
import uuid

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from backend.api.errors import ConflictError, GatewayError
from sponsorship.billing import locks
from sponsorship.billing.gateways import get_gateway
from sponsorship.billing.gateways.base import (
    REFUNDABLE_PAYMENT_TYPES,
    GatewayRejected,
    GatewayUnavailable,
    RefundRefused,
    RefundRequest,
    TransactionNotFound,
)
from sponsorship.billing.models import PaymentAttempt, RefundCase
from sponsorship.core.audit import audit_record
from sponsorship.core.transitions import transition

logger = logging.getLogger(__name__)

MANUAL_MESSAGE = _(
    "A %(kind)s payment cannot be refunded through Midtrans; return Rp %(amount)s by a manual bank "
    "transfer to the sponsor's account, then mark this case resolved."
)
PAID_STATES = (PaymentAttempt.Status.SETTLED, PaymentAttempt.Status.FLAGGED, PaymentAttempt.Status.REFUNDED)


class RefundOutcome:
    REFUNDED = "refunded"
    MANUAL = "manual_transfer"


def refund_case_refund(*, case: RefundCase, actor=None, gateway=None) -> tuple[str, RefundCase]:
    """Refund this open case through the gateway (or mark it for a manual bank transfer). Returns (outcome, case)."""
    gateway = gateway or get_gateway()
    with transaction.atomic():
        case = locks.lock_refund_case(case.pk)
        attempt = case.attempt
        if case.status != RefundCase.Status.OPEN:
            raise ConflictError(
                gettext("This case is no longer open (%(status)s).") % {"status": case.get_status_display()},
                code="refund_case_not_open",
            )
        if attempt.status not in PAID_STATES:
            raise ConflictError(
                _("This payment is not settled at Midtrans; there is nothing to refund."), code="not_refundable"
            )
        payment_type = (attempt.payment_type or "").lower()
        if payment_type not in REFUNDABLE_PAYMENT_TYPES:
            message = MANUAL_MESSAGE % {"kind": payment_type or "transfer bank", "amount": format(case.amount_idr, ",")}
            transition(
                RefundCase,
                case.pk,
                to=RefundCase.Status.MANUAL_TRANSFER,
                note=(case.note + "\n" + message).strip(),
                last_error="",
            )
            audit_record(
                actor=actor,
                action="refund.manual_transfer",
                obj=case,
                before={"status": case.status},
                after={
                    "status": RefundCase.Status.MANUAL_TRANSFER,
                    "payment_type": payment_type,
                    "amount_idr": case.amount_idr,
                    "order_id": attempt.order_id,
                },
            )
            case.refresh_from_db()
            return RefundOutcome.MANUAL, case
        if not case.refund_key:
            case.refund_key = f"rc{case.pk}-{uuid.uuid4().hex[:16]}"
            RefundCase.objects.filter(pk=case.pk).update(refund_key=case.refund_key)
        audit_record(
            actor=actor,
            action="refund.request",
            obj=case,
            after={"order_id": attempt.order_id, "amount_idr": case.amount_idr, "refund_key": case.refund_key},
        )
    # Outside the transaction: no row lock is held while we wait for the gateway (up to the timeout).
    request = RefundRequest(
        refund_key=case.refund_key,
        amount_idr=case.amount_idr,
        reason=f"Pengampu {case.get_reason_display()} #{case.pk}",
    )
    try:
        result = gateway.refund(attempt.transaction_id or attempt.order_id, request)
    except GatewayUnavailable as exc:
        _record_failure(case, actor, exc, "unavailable")
        raise GatewayError(
            _(
                "Midtrans cannot be reached; the refund was not sent. The case stays open; try again "
                "later (the same refund key is used, it cannot refund twice)."
            ),
            code="gateway_unavailable",
            status_code=503,
        ) from None
    except (RefundRefused, GatewayRejected, TransactionNotFound) as exc:
        _record_failure(case, actor, exc, "rejected")
        message = gettext("Midtrans refused this refund: %(error)s. The case stays open.")
        raise GatewayError(message % {"error": str(exc)[:200]}, code="gateway_rejected", status_code=502) from None
    with transaction.atomic():
        transition(
            RefundCase,
            case.pk,
            to=RefundCase.Status.REFUNDED,
            from_=RefundCase.Status.OPEN,
            refunded_amount_idr=result.refund_amount_idr,
            refunded_at=timezone.now(),
            gateway_refund_id=result.refund_id[:32],
            last_error="",
            resolved_at=timezone.now(),
            resolved_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        audit_record(
            actor=actor,
            action="refund.done",
            obj=case,
            after={
                "order_id": attempt.order_id,
                "refund_key": result.refund_key,
                "refund_amount_idr": result.refund_amount_idr,
                "transaction_status": result.transaction_status,
                "refund_id": result.refund_id,
            },
        )
    case.refresh_from_db()
    return RefundOutcome.REFUNDED, case


def _record_failure(case: RefundCase, actor, exc: Exception, kind: str) -> None:
    logger.warning("refund of case %s failed (%s): %s", case.pk, kind, exc)
    with transaction.atomic():
        RefundCase.objects.filter(pk=case.pk).update(last_error=f"{kind}: {exc}"[:2000])
        audit_record(
            actor=actor,
            action="refund.failed",
            obj=case,
            after={"kind": kind, "error": str(exc)[:500], "refund_key": case.refund_key},
        )


def refund_case_resolve(*, case: RefundCase, note: str, actor=None) -> RefundCase:
    """An admin closes a case handled outside the gateway (the manual bank transfer was made)."""
    with transaction.atomic():
        case = locks.lock_refund_case(case.pk)
        if case.status not in (RefundCase.Status.OPEN, RefundCase.Status.MANUAL_TRANSFER):
            raise ConflictError(_("This case is already closed."), code="refund_case_not_open")
        before = case.status
        transition(
            RefundCase,
            case.pk,
            to=RefundCase.Status.RESOLVED,
            resolved_at=timezone.now(),
            resolved_by=actor if getattr(actor, "is_authenticated", False) else None,
            note=(case.note + "\n" + (note or "")).strip(),
        )
        audit_record(
            actor=actor,
            action="refund.resolve",
            obj=case,
            before={"status": before},
            after={"status": RefundCase.Status.RESOLVED, "note": note},
        )
    case.refresh_from_db()
    return case
