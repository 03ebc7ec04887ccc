"""Starting a payment: one live Snap checkout per invoice, reused on a double click; a gateway failure leaves the
invoice payable."""

import datetime as dt
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.api.errors import ConflictError, GatewayError
from backend.formats import period_label
from sponsorship.billing import locks
from sponsorship.billing.gateways import get_gateway
from sponsorship.billing.gateways.base import CheckoutRequest, Customer, GatewayRejected, GatewayUnavailable, Item
from sponsorship.billing.models import Invoice, PaymentAttempt
from sponsorship.core.audit import audit_record
from sponsorship.core.transitions import transition

logger = logging.getLogger(__name__)
S = PaymentAttempt.Status

NOT_PAYABLE = _("This invoice cannot be paid (already paid or voided).")


@dataclass(frozen=True)
class PaymentStart:
    attempt: PaymentAttempt
    reused: bool


def _notification_url() -> str:
    if not settings.MIDTRANS_OVERRIDE_NOTIFICATION or not settings.PUBLIC_BASE_URL:
        return ""
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("midtrans-notification")


def checkout_request_for(invoice: Invoice, attempt: PaymentAttempt, *, finish_url: str = "") -> CheckoutRequest:
    items = [
        Item(
            id=f"W{line.worker_id}-{line.month:%Y%m}",
            name=f"Premi {period_label(line.month, 'id')} - {line.worker.first_name}"[
                :50
            ],  # the gateway page is Indonesian
            price_idr=line.amount_idr,
        )
        for line in invoice.lines.select_related("worker")
    ]
    if invoice.credit_applied_idr:
        items.append(Item(id="KREDIT", name="Kredit kelebihan bayar", price_idr=-invoice.credit_applied_idr))
    if sum(i.price_idr * i.quantity for i in items) != attempt.amount_idr:
        raise RuntimeError(f"invoice {invoice.number}: items do not sum to {attempt.amount_idr}")
    worker, sponsor = invoice.payer_worker, invoice.sponsor
    if worker is not None:  # self-pay (services/self_pay.py): the first name only
        payer = f"worker:{worker.pk}"
        customer = Customer(first_name=worker.full_name.split(" ")[0], email="")
    else:
        assert sponsor is not None  # exactly one payer (invoice_exactly_one_payer); pools never check out
        payer = f"sponsor:{sponsor.pk}"
        customer = Customer(first_name=sponsor.full_name.split(" ")[0], email=getattr(sponsor.user, "email", "") or "")
    return CheckoutRequest(
        order_id=attempt.order_id,
        gross_amount_idr=attempt.amount_idr,
        items=tuple(items),
        customer=customer,
        custom_fields=(
            f"invoice:{invoice.number}",
            payer,
            f"period:{invoice.period:%Y-%m}+{invoice.months}",
        ),
        notification_url=_notification_url(),
        idempotency_key=attempt.order_id,
        finish_url=finish_url,
    )


def payment_start(*, invoice: Invoice, actor=None, gateway=None, finish_url: str = "") -> PaymentStart:
    """Open (or reuse) the one live checkout of an invoice. Gateway failures leave the invoice payable.
    `finish_url`: where the payment page sends the payer back (a hint for the browser, never proof of payment)."""
    gateway = gateway or get_gateway()
    reuse_after = timezone.now() - dt.timedelta(minutes=settings.PAYMENT_ATTEMPT_REUSE_MINUTES)
    with transaction.atomic():
        invoice = locks.lock_invoice(invoice)
        if invoice.status != Invoice.Status.ISSUED or invoice.amount_idr <= 0:
            raise ConflictError(NOT_PAYABLE, code="not_payable")
        live = PaymentAttempt.objects.filter(invoice=invoice, status__in=PaymentAttempt.LIVE).first()
        wait_for = None
        if live is not None:
            if live.status in (S.OPEN, S.PENDING) and live.redirect_url and live.created_at > reuse_after:
                return PaymentStart(live, True)
            if live.status == S.CREATING and live.created_at > timezone.now() - dt.timedelta(
                seconds=settings.MIDTRANS_TIMEOUT_SECONDS * 2 + 5
            ):
                wait_for = live  # a double click: the first request is talking to the gateway right now
            else:
                transition(
                    PaymentAttempt,
                    live.pk,
                    to=S.SUPERSEDED if live.status != S.CREATING else S.GATEWAY_FAILED,
                    error=live.error or "superseded by a new attempt",
                )
        if wait_for is None:
            seq = PaymentAttempt.objects.filter(invoice=invoice).count() + 1
            attempt = PaymentAttempt.objects.create(
                invoice=invoice, order_id=order_id_for(invoice, seq), amount_idr=invoice.amount_idr, status=S.CREATING
            )
            audit_record(
                actor=actor,
                action="payment.start",
                obj=attempt,
                after={"order_id": attempt.order_id, "amount_idr": attempt.amount_idr},
            )
    if wait_for is not None:
        return _wait_for_checkout(wait_for)

    try:
        session = gateway.create_checkout(checkout_request_for(invoice, attempt, finish_url=finish_url))
    except GatewayUnavailable as exc:
        transition(PaymentAttempt, attempt.pk, to=S.GATEWAY_FAILED, error=str(exc)[:2000])
        logger.warning("snap create failed for %s: %s", attempt.order_id, exc)
        raise GatewayError(
            _(
                "The payment service cannot be reached right now. Your invoice is still payable; "
                "please try again in a moment."
            ),
            code="gateway_unavailable",
            status_code=503,
        ) from None
    except GatewayRejected as exc:
        transition(PaymentAttempt, attempt.pk, to=S.GATEWAY_FAILED, error=str(exc)[:2000])
        logger.error("snap create rejected for %s: %s", attempt.order_id, exc)
        raise GatewayError(
            _("The payment service rejected this request. Your invoice is still payable; it has been logged."),
            code="gateway_rejected",
            status_code=502,
        ) from None
    transition(PaymentAttempt, attempt.pk, to=S.OPEN, snap_token=session.token, redirect_url=session.redirect_url)
    attempt.refresh_from_db()
    return PaymentStart(attempt, False)


def order_id_for(invoice: Invoice, seq: int) -> str:
    """The deployment's prefix first (MIDTRANS_ORDER_PREFIX): two deployments on one Midtrans merchant never
    issue the same order id, and each webhook can tell the other's notifications apart."""
    return f"{settings.MIDTRANS_ORDER_PREFIX}-{invoice.number}-{seq}"


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
