"""Catching up with the gateway: notifications never processed or failed (the sweep, replay_notifications),
attempts waiting too long for a notification (payments_reconcile asks the status API), and money that went back
at the gateway without our hearing of it (payments_reconcile_returns: refunds, chargebacks, bank reversals)."""

import datetime as dt
import logging

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from sponsorship.billing.gateways import get_gateway
from sponsorship.billing.gateways.base import REFUNDABLE_PAYMENT_TYPES, GatewayUnavailable, TransactionNotFound
from sponsorship.billing.models import PAYROLL_PAYMENT_TYPE, PaymentAttempt, PaymentNotification
from sponsorship.billing.services.reversals import MONEY_RETURNED
from sponsorship.billing.services.settlement import REPLAYABLE, notifications_process, payment_apply_status
from sponsorship.core.transitions import transition

logger = logging.getLogger(__name__)
S = PaymentAttempt.Status
N = PaymentNotification.State
SWEEP_RECEIVED_AFTER_SECONDS = 120  # an enqueued task normally finishes well within this
SWEEP_MAX_AUTO_ATTEMPTS = 30  # then only `replay_notifications` (an admin) retries it
SWEEP_BATCH = 500


def notifications_replay(*, ids=None, gateway=None) -> dict:
    """Process now what failed or was never finished (all of them, or these ids). Outcome → count."""
    gateway = gateway or get_gateway()
    qs = PaymentNotification.objects.filter(state__in=REPLAYABLE)
    if ids:
        qs = qs.filter(pk__in=ids)
    return notifications_process(
        note_ids=list(qs.order_by("received_at").values_list("pk", flat=True)), gateway=gateway
    )


def notifications_sweep(*, now=None, gateway=None) -> dict:
    """Periodic (beat): rows whose task never ran (broker down, worker lost) and failed rows, with backoff.

    A failed row waits min(2^(attempts-1), 60) minutes before the next try, up to SWEEP_MAX_AUTO_ATTEMPTS.
    """
    now = now or timezone.now()
    stuck = list(
        PaymentNotification.objects.filter(
            state=N.RECEIVED, received_at__lte=now - dt.timedelta(seconds=SWEEP_RECEIVED_AFTER_SECONDS)
        )
        .order_by("received_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    failed = [
        pk
        for pk, attempts, last in PaymentNotification.objects.filter(
            state=N.FAILED, attempts__lt=SWEEP_MAX_AUTO_ATTEMPTS
        )
        .order_by("processed_at")
        .values_list("pk", "attempts", "processed_at")[:SWEEP_BATCH]
        if last is None or last <= now - dt.timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))
    ]
    if not stuck and not failed:
        return {}
    return notifications_process(note_ids=stuck + failed, gateway=gateway)


# ---- reconciliation ----------------------------------------------------------------------------------
def payments_reconcile(*, older_than_minutes: int | None = None, gateway=None) -> dict:
    """Ask the gateway about attempts that have been waiting too long (missed or lost notifications)."""
    gateway = gateway or get_gateway()
    minutes = settings.PAYMENT_RECONCILE_AFTER_MINUTES if older_than_minutes is None else older_than_minutes
    now = timezone.now()
    cutoff = now - dt.timedelta(minutes=minutes)
    qs = PaymentAttempt.objects.filter(
        status__in=[S.CREATING, S.OPEN, S.PENDING, S.GATEWAY_FAILED, S.SUPERSEDED],
        updated_at__lte=cutoff,
        created_at__gte=now - dt.timedelta(days=8),
    )
    counts: dict[str, int] = {}
    for attempt in qs.order_by("pk"):
        try:
            status = gateway.get_status(attempt.order_id)
            outcome = payment_apply_status(attempt=attempt, status=status)
        except TransactionNotFound:
            if attempt.status == S.CREATING:
                moved = transition(PaymentAttempt, attempt.pk, to=S.GATEWAY_FAILED, error="not at gateway")
                outcome = "gateway_failed" if moved else "stale"
            elif attempt.status == S.OPEN and attempt.created_at < now - dt.timedelta(hours=25):
                moved = transition(PaymentAttempt, attempt.pk, to=S.EXPIRED, gateway_status="page_expired")
                outcome = "expired" if moved else "stale"
            else:
                PaymentAttempt.objects.filter(pk=attempt.pk).update(updated_at=now)
                outcome = "not_attempted_yet"
        except GatewayUnavailable as exc:
            logger.warning("reconcile %s: %s", attempt.order_id, exc)
            outcome = "gateway_unavailable"
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


REVERSAL_WINDOW_DAYS = 3  # a provider reversal (Permata VA, Mandiri bill) comes ~1-5 minutes after settlement


def _settled_since(since) -> Q:
    return Q(settled_at__gte=since) | Q(settled_at__isnull=True, updated_at__gte=since)


def payments_reconcile_returns(*, days: int | None = None, gateway=None) -> dict:
    """Nightly: compare what the gateway says went back (refunded / charged back amount, a bank reversal) with
    what we booked, for payments settled (or flagged, or partly refunded) within `days`; book the difference.

    This heals a refund or chargeback whose notification never arrived or was lost; in agreement, nothing moves.
    One status call per payment in the window; `payment_apply_status` does the rest (idempotent)."""
    gateway = gateway or get_gateway()
    days = settings.PAYMENT_RECONCILE_RETURNS_DAYS if days is None else days
    now = timezone.now()
    # Only e-wallet / QRIS / card payments can be refunded or charged back; the others (VA, Mandiri bill) only
    # reversed by their bank, within minutes of the settlement: those are asked about for a few days only.
    refundable = Q(payment_type__in=REFUNDABLE_PAYMENT_TYPES) & _settled_since(now - dt.timedelta(days=days))
    reversible = _settled_since(now - dt.timedelta(days=min(days, REVERSAL_WINDOW_DAYS)))
    qs = (
        PaymentAttempt.objects.filter(status__in=[S.SETTLED, S.FLAGGED, S.REFUNDED])
        .filter(refundable | reversible)
        .exclude(payment_type=PAYROLL_PAYMENT_TYPE)  # settled by payroll deduction: the gateway never saw them
    )
    counts: dict[str, int] = {}
    unknown: list[str] = []  # settled here, unknown to the gateway: one summary line, not one per payment
    for attempt in qs.order_by("pk").iterator(chunk_size=200):
        try:
            status = gateway.get_status(attempt.order_id)
        except TransactionNotFound:
            unknown.append(attempt.order_id)
            outcome = "unknown_to_gateway"
        except GatewayUnavailable as exc:
            logger.warning("reconcile returns %s: %s", attempt.order_id, exc)
            outcome = "gateway_unavailable"
        else:
            returned = status.refunded_amount_idr or sum(r.amount_idr for r in status.refunds)
            ts = status.transaction_status
            if ts in MONEY_RETURNED and returned != attempt.refunded_amount_idr:
                outcome = payment_apply_status(attempt=attempt, status=status)
                logger.error("reconcile: %s on %s was not booked (%s)", ts, attempt.order_id, outcome)
            elif ts == "deny" and attempt.status == S.SETTLED:
                outcome = payment_apply_status(attempt=attempt, status=status)
                logger.error("reconcile: bank reversal of %s was not booked (%s)", attempt.order_id, outcome)
            else:
                outcome = "in_agreement"
        counts[outcome] = counts.get(outcome, 0) + 1
    if unknown:
        logger.warning(
            "reconcile returns: %s settled payments are unknown to the gateway (e.g. %s)",
            len(unknown),
            ", ".join(unknown[:10]),
        )
    return counts
