"""Payroll deduction, part 2: the treasurer's confirmation settles invoices; what was not deducted falls back to a
Snap payment link; the regional bank's transfer is matched to what was confirmed (docs/payroll.md).

A confirmed row settles its invoice exactly like a gateway payment: a PaymentAttempt (payment_type "payroll",
order id unique per payroll month and ASN) goes through settlement.payment_settle, so coverage months are written
once, a month already paid becomes credit, and a different amount is flagged with a refund case — never paid.
"""

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.api.errors import ApplicationError, ConflictError, GatewayError
from backend.formats import period_label
from notifications.services import NotifyRequest, notify, notify_bulk
from sponsorship.billing import locks
from sponsorship.billing.gateways.base import TransactionStatus
from sponsorship.billing.models import (
    PAYROLL_PAYMENT_TYPE,
    Invoice,
    PaymentAttempt,
    PayrollConfirmation,
    PayrollDeduction,
    PayrollList,
    PayrollTransfer,
    RefundCase,
)
from sponsorship.billing.services.checkout import payment_start
from sponsorship.billing.services.settlement import payment_settle
from sponsorship.core.audit import AuditAction, audit_record
from sponsorship.core.periods import local_today
from sponsorship.core.transitions import transition
from sponsorship.people.models import Agency, Profile, Role

logger = logging.getLogger(__name__)
D = PayrollDeduction.Status
S = PaymentAttempt.Status


def payroll_order_id(row: PayrollDeduction) -> str:
    """One order id per payroll month and ASN: the database refuses a second settlement of the same deduction."""
    return f"{settings.MIDTRANS_ORDER_PREFIX}-PAYROLL-{row.payroll_month:%Y%m}-{row.sponsor_id}"


def _deduction_settle(
    *, row: PayrollDeduction, amount: int, reference: str, on: dt.date, confirmation: PayrollConfirmation | None
) -> str:
    """Settle one listed deduction with what the treasurer deducted (`amount` > 0). Caller holds the list lock."""
    invoice = locks.lock_invoice(row.invoice)
    # A payment link sent earlier (the row was reported missing) must not stay live beside the deduction: the
    # money came by payroll. Should the ASN pay the link all the same, that payment becomes credit (settlement).
    for live in PaymentAttempt.objects.filter(invoice=invoice, status__in=PaymentAttempt.LIVE):
        transition(
            PaymentAttempt,
            live.pk,
            to=S.SUPERSEDED if live.status != S.CREATING else S.GATEWAY_FAILED,
            error="superseded by a payroll deduction",
        )
    attempt = PaymentAttempt.objects.create(
        invoice=invoice,
        order_id=payroll_order_id(row),
        amount_idr=row.amount_idr,
        status=S.CREATING,
        payment_type=PAYROLL_PAYMENT_TYPE,
    )
    # Deducted more than billed: the bill is paid like any full deduction (no payment link) and the excess is
    # money owed back to the ASN, a refund case the admins see (paid back by hand: payroll is not refundable at
    # the gateway). Deducted less: the gateway rule, the whole amount is held and never half-pays the bill.
    excess = max(amount - row.amount_idr, 0)
    status = TransactionStatus(
        order_id=attempt.order_id,
        transaction_id=reference[:64],
        transaction_status="settlement",
        status_code="200",
        gross_amount_idr=amount - excess,
        payment_type=PAYROLL_PAYMENT_TYPE,
    )
    outcome = payment_settle(attempt=attempt, status=status)
    if excess:
        PaymentAttempt.objects.filter(pk=attempt.pk).update(paid_amount_idr=amount)
        RefundCase.objects.get_or_create(
            attempt=attempt,
            reason=RefundCase.Reason.PAYROLL_EXCESS,
            defaults={
                "sponsor_id": row.sponsor_id,
                "amount_idr": excess,
                "note": f"Potongan gaji {row.payroll_month:%m/%Y}: dipotong {amount}, tagihan {row.amount_idr}",
            },
        )
        outcome += f"+excess_{excess}"
    to = D.CONFIRMED if amount >= row.amount_idr else D.SHORT
    transition(
        PayrollDeduction,
        row.pk,
        to=to,
        deducted_idr=amount,
        transfer_reference=reference[:64],
        transfer_date=on,
        attempt=attempt,
        confirmation=confirmation,
        confirmed_at=timezone.now(),
    )
    audit_record(
        actor=None,
        action=AuditAction.PAYROLL_DEDUCTION_SETTLE,
        obj=row,
        after={
            "status": to,
            "deducted_idr": amount,
            "expected_idr": row.amount_idr,
            "excess_idr": excess,
            "outcome": outcome,
            "invoice": invoice.number,
        },
    )
    return "over" if excess else to


APPLY_CHUNK = 25  # rows settled per transaction by the apply task (progress and the resume point move per chunk)


def payroll_confirmation_confirm_request(
    *, confirmation: PayrollConfirmation, actor, valid_only: bool = False, enqueue: bool = True
) -> PayrollConfirmation:
    """Confirm a previewed file: it becomes APPLYING and a task settles its rows (eager where there is no broker).

    Idempotent: confirming a file that is already being applied answers its current state (a double click or a
    retried request queues nothing twice); an applied or discarded one is a 409."""
    with transaction.atomic():
        locked = PayrollConfirmation.objects.select_for_update().select_related("payroll_list").get(pk=confirmation.pk)
        if locked.status == PayrollConfirmation.Status.APPLYING:
            return locked
        if locked.status != PayrollConfirmation.Status.PREVIEWED:
            raise ConflictError(_("This file was already applied or discarded."), code="already_applied")
        if locked.problems and not valid_only:
            raise ApplicationError(
                _("The file has problems. Fix them and upload it again, or apply the valid rows only."),
                code="has_problems",
            )
        if locked.payroll_list.status == PayrollList.Status.DRAFT:
            raise ConflictError(_("Mark the list as sent before importing its confirmation."), code="list_not_sent")
        transition(
            PayrollConfirmation,
            locked.pk,
            to=PayrollConfirmation.Status.APPLYING,
            from_=PayrollConfirmation.Status.PREVIEWED,
            valid_only=valid_only,
            progress_done=0,
            confirmed_by=actor if getattr(actor, "is_authenticated", False) else None,
            confirmed_at=timezone.now(),
        )
        audit_record(
            actor=actor,
            action=AuditAction.PAYROLL_CONFIRMATION_CONFIRM,
            obj=locked,
            before={"status": PayrollConfirmation.Status.PREVIEWED},
            after={"status": PayrollConfirmation.Status.APPLYING, "valid_only": valid_only, "rows": len(locked.rows)},
        )
        if enqueue:
            confirmation_id = locked.pk
            transaction.on_commit(lambda: _enqueue_apply(confirmation_id), robust=True)
    locked.refresh_from_db()
    return locked


def _enqueue_apply(confirmation_id: int) -> None:
    from backend.celery import delay_or
    from sponsorship.billing import tasks  # tasks imports this module

    # Broker down: the file stays APPLYING and the sweep (payroll_applying_sweep) queues it again.
    delay_or(
        tasks.payroll_confirmation_apply_task,
        confirmation_id,
        what=f"the apply of payroll confirmation {confirmation_id}",
    )


def payroll_applying_sweep(*, older_than_minutes: int = 10) -> int:
    """Queue again the files confirmed a while ago and still APPLYING (lost message, dead worker)."""
    cutoff = timezone.now() - dt.timedelta(minutes=older_than_minutes)
    stale = list(
        PayrollConfirmation.objects.filter(
            status=PayrollConfirmation.Status.APPLYING, confirmed_at__lt=cutoff
        ).values_list("pk", flat=True)
    )
    for confirmation_id in stale:
        _enqueue_apply(confirmation_id)
    return len(stale)


def payroll_confirmation_progress(confirmation: PayrollConfirmation) -> dict:
    """{done, total} rows of a file: what the apply task has settled so far."""
    total = len(confirmation.rows)
    if confirmation.status == PayrollConfirmation.Status.APPLIED:
        return {"done": total, "total": total}
    return {"done": min(confirmation.progress_done, total), "total": total}


def payroll_confirmation_apply_queued(*, confirmation_id: int) -> dict | None:
    """The task's work: settle an APPLYING file's rows chunk by chunk, then close it (missing rows, the list
    returned, the transfers matched, the payment links queued). Each chunk is a transaction that moves
    progress_done with the rows it settled, so a run that dies midway resumes where it stopped, and a row is
    never settled twice (idempotent per row besides). None when the file is not APPLYING (done, or another
    worker holds it right now)."""
    while True:
        with transaction.atomic():
            # skip_locked: a second delivery of the task while the first is inside a chunk steps aside.
            confirmation = (
                PayrollConfirmation.objects.select_for_update(skip_locked=True)
                .filter(pk=confirmation_id, status=PayrollConfirmation.Status.APPLYING)
                .first()
            )
            if confirmation is None:
                return None
            payroll_list = PayrollList.objects.select_for_update().get(pk=confirmation.payroll_list_id)
            start = confirmation.progress_done
            if start >= len(confirmation.rows):
                return _confirmation_close(confirmation=confirmation, payroll_list=payroll_list)
            chunk = confirmation.rows[start : start + APPLY_CHUNK]
            counts = dict((confirmation.result or {}).get("outcomes", {}))
            by_nip = {
                r.nip: r
                for r in PayrollDeduction.objects.select_for_update()
                .filter(payroll_list=payroll_list, nip__in=[item["nip"] for item in chunk])
                .order_by("pk")
            }
            for item in chunk:
                outcome = _confirmation_row_apply(row=by_nip[item["nip"]], item=item, confirmation=confirmation)
                counts[outcome] = counts.get(outcome, 0) + 1
            PayrollConfirmation.objects.filter(pk=confirmation.pk).update(
                progress_done=start + len(chunk), result={**(confirmation.result or {}), "outcomes": counts}
            )


def _confirmation_row_apply(*, row: PayrollDeduction, item: dict, confirmation: PayrollConfirmation) -> str:
    amount = int(item["amount_idr"])
    if row.status in PayrollDeduction.SETTLED:
        same = row.deducted_idr == amount and row.transfer_reference == item["reference"][:64]
        return "unchanged" if same else "conflict_already_settled"
    if amount == 0:
        return _mark_missing(row, confirmation) or "unchanged"
    return _deduction_settle(
        row=row,
        amount=amount,
        reference=item["reference"],
        on=dt.date.fromisoformat(item["date"]),
        confirmation=confirmation,
    )


def _confirmation_close(*, confirmation: PayrollConfirmation, payroll_list: PayrollList) -> dict:
    """Last step of an apply, under the file's and the list's locks: every listed ASN the file does not name is
    not deducted, the list is returned, the transfers re-matched; after commit the payment links are queued."""
    counts = dict((confirmation.result or {}).get("outcomes", {}))
    # NIPs the file names on rows with problems are left as they are (not "missing") when valid rows are applied.
    named = set((confirmation.result or {}).get("held_nips", [])) | {item["nip"] for item in confirmation.rows}
    for row in (
        PayrollDeduction.objects.select_for_update()
        .filter(payroll_list=payroll_list, status=D.LISTED)
        .exclude(nip__in=named)
        .order_by("pk")
    ):
        outcome = _mark_missing(row, confirmation) or "unchanged"
        counts[outcome] = counts.get(outcome, 0) + 1
    transition(
        PayrollList,
        payroll_list.pk,
        to=PayrollList.Status.RETURNED,
        from_=PayrollList.Status.SENT,
        returned_at=timezone.now(),
    )
    fallback = list(
        PayrollDeduction.objects.filter(
            payroll_list=payroll_list,
            status__in=[D.MISSING, D.SHORT],
            fallback_sent_at__isnull=True,
            invoice__status=Invoice.Status.ISSUED,
        ).values_list("pk", flat=True)
    )
    supplementary = payroll_supplementary_invoice_ids(payroll_list)
    result = {"outcomes": counts, "fallback_links": len(fallback), "supplementary_links": len(supplementary)}
    transition(
        PayrollConfirmation,
        confirmation.pk,
        to=PayrollConfirmation.Status.APPLIED,
        from_=PayrollConfirmation.Status.APPLYING,
        applied_at=timezone.now(),
        progress_done=len(confirmation.rows),
        result={**(confirmation.result or {}), **result},
    )
    audit_record(
        actor=confirmation.confirmed_by,
        action=AuditAction.PAYROLL_CONFIRMATION_APPLY,
        obj=confirmation,
        after={"list_id": payroll_list.pk, "valid_only": confirmation.valid_only, **result},
    )
    payroll_transfers_match(
        agency_id=payroll_list.agency_id, month=payroll_list.payroll_month, actor=confirmation.confirmed_by
    )
    if fallback or supplementary:
        transaction.on_commit(lambda: _enqueue_fallback(fallback, supplementary), robust=True)
    return result


def payroll_confirmation_apply(*, confirmation: PayrollConfirmation, actor, valid_only: bool = False) -> dict:
    """Confirm and apply a previewed file now, in this process (commands, tests): the task's work inline.
    The API and the dashboard call payroll_confirmation_confirm_request (a task does the settling)."""
    payroll_confirmation_confirm_request(confirmation=confirmation, actor=actor, valid_only=valid_only, enqueue=False)
    payroll_confirmation_apply_queued(confirmation_id=confirmation.pk)
    confirmation.refresh_from_db()
    return {k: confirmation.result[k] for k in ("outcomes", "fallback_links") if k in confirmation.result}


def _enqueue_fallback(row_ids: list[int], supplementary_ids: list[int] | None = None) -> None:
    from sponsorship.billing import tasks  # tasks imports this module

    tasks.payroll_fallback_links.delay(row_ids, supplementary_ids or [])


def _mark_missing(row: PayrollDeduction, confirmation: PayrollConfirmation) -> str:
    if not transition(PayrollDeduction, row.pk, to=D.MISSING, from_=D.LISTED, confirmation=confirmation):
        return ""
    audit_record(
        actor=None, action=AuditAction.PAYROLL_DEDUCTION_MISSING, obj=row, after={"invoice_id": row.invoice_id}
    )
    return D.MISSING


def payroll_fallback_send(*, row_id: int, gateway=None, today: dt.date | None = None) -> str:
    """A deduction that did not (fully) happen: open a Snap payment for the invoice and send the link to the ASN
    before the due date. Idempotent (fallback_sent_at, the notification's dedupe key, the reused live checkout)."""
    row = PayrollDeduction.objects.select_related("invoice", "sponsor__user").get(pk=row_id)
    if row.fallback_sent_at is not None or row.status not in (D.MISSING, D.SHORT):
        return "skipped"
    invoice = row.invoice
    if invoice.status != Invoice.Status.ISSUED:
        return "invoice_" + invoice.status
    try:
        started = payment_start(invoice=invoice, actor=None, gateway=gateway)
    except GatewayError as exc:
        logger.warning("payroll fallback link for deduction %s not opened: %s", row_id, exc.code)
        return "gateway_" + str(exc.code)
    with transaction.atomic():
        if not PayrollDeduction.objects.filter(pk=row_id, fallback_sent_at__isnull=True).update(
            fallback_sent_at=timezone.now()
        ):
            return "skipped"
        _link_notify(
            invoice=invoice,
            sponsor=row.sponsor,
            redirect_url=started.attempt.redirect_url,
            dedupe_key=f"payroll_fallback:{row.pk}",
            reason="payroll_" + row.status,
            today=today or local_today(),
        )
        audit_record(
            actor=None,
            action=AuditAction.PAYROLL_FALLBACK_LINK,
            obj=row,
            after={"order_id": started.attempt.order_id, "notified": row.sponsor.user_id is not None},
        )
    return "sent"


def _link_notify(*, invoice: Invoice, sponsor, redirect_url: str, dedupe_key: str, reason: str, today) -> None:
    user = sponsor.user
    if user is None:
        return
    notify(
        user=user,
        kind="invoice_due_soon",
        dedupe_key=dedupe_key,
        context={
            "sponsor_name": sponsor.full_name,
            "amount_idr": invoice.amount_idr,
            "due_date": invoice.due_date,
            "invoice_id": invoice.pk,
            "invoice_number": invoice.number,
            "days": max((invoice.due_date - today).days, 0),
            "workers": invoice.lines.values("worker_id").distinct().count(),
            "period_label": period_label(invoice.period),
        },
        data={"invoice_id": str(invoice.pk), "redirect_url": redirect_url, "reason": reason},
        collapse_key=f"invoice-{invoice.pk}",
    )


# ---- supplementary invoices (a worker accepted after the month's invoice was issued) -------------------------
def payroll_supplementary_invoice_ids(payroll_list: PayrollList) -> list[int]:
    """The listed ASN's other unpaid monthly invoices of the payroll month (supplementary, sequence 2, 3, …):
    never on a list (the treasurer deducts one amount per ASN, the month's invoice), so they are paid by link."""
    return list(
        Invoice.objects.filter(
            kind=Invoice.Kind.MONTHLY,
            period=payroll_list.payroll_month,
            status=Invoice.Status.ISSUED,
            sponsor_id__in=payroll_list.rows.values("sponsor_id"),
        )
        .exclude(payroll_deductions__isnull=False)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def payroll_supplementary_link_send(*, invoice_id: int, gateway=None, today: dt.date | None = None) -> str:
    """Open a Snap payment for a payroll ASN's supplementary invoice and tell them: payroll deducts only the
    month's invoice. Idempotent (the notification's dedupe key, the reused live checkout)."""
    invoice = Invoice.objects.select_related("sponsor__user").get(pk=invoice_id)
    if invoice.status != Invoice.Status.ISSUED or invoice.sponsor is None:
        return "invoice_" + invoice.status
    try:
        started = payment_start(invoice=invoice, actor=None, gateway=gateway)
    except GatewayError as exc:
        logger.warning("payroll supplementary link for invoice %s not opened: %s", invoice_id, exc.code)
        return "gateway_" + str(exc.code)
    with transaction.atomic():
        _link_notify(
            invoice=invoice,
            sponsor=invoice.sponsor,
            redirect_url=started.attempt.redirect_url,
            dedupe_key=f"payroll_supplementary:{invoice.pk}",
            reason="payroll_supplementary",
            today=today or local_today(),
        )
        audit_record(
            actor=None,
            action=AuditAction.PAYROLL_FALLBACK_LINK,
            obj=invoice,
            after={"order_id": started.attempt.order_id, "reason": "supplementary"},
        )
    return "sent"


# ---- the bank's transfer per agency ---------------------------------------------------------------------------
def confirmed_total_idr(*, agency_id: int, month: dt.date) -> int:
    """What the treasurer deducted for this agency's list of `month` (full and different amounts)."""
    return (
        PayrollDeduction.objects.filter(
            payroll_list__agency_id=agency_id, payroll_month=month, status__in=PayrollDeduction.SETTLED
        ).aggregate(s=Sum("deducted_idr"))["s"]
        or 0
    )


def payroll_transfer_record(
    *, agency: Agency, month: dt.date, amount_idr: int, reference: str, transfer_date: dt.date, actor
) -> PayrollTransfer:
    """Record money received from the regional bank for one agency's payroll month and match it."""
    reference = reference.strip()
    if amount_idr <= 0 or not reference:
        raise ApplicationError(_("Enter the amount received and the transfer reference."), code="invalid_transfer")
    with transaction.atomic():
        if PayrollTransfer.objects.filter(agency=agency, payroll_month=month, reference=reference).exists():
            raise ConflictError(_("This transfer reference was already recorded."), code="transfer_exists")
        transfer = PayrollTransfer.objects.create(
            agency=agency,
            payroll_month=month,
            amount_idr=amount_idr,
            reference=reference[:64],
            transfer_date=transfer_date,
            expected_idr=0,
            matched=False,
            recorded_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        audit_record(
            actor=actor,
            action=AuditAction.PAYROLL_TRANSFER_RECORD,
            obj=transfer,
            after={"agency_id": agency.pk, "payroll_month": month.isoformat(), "amount_idr": amount_idr},
        )
        payroll_transfers_match(agency_id=agency.pk, month=month, actor=actor)
    transfer.refresh_from_db()
    return transfer


def payroll_transfers_match(*, agency_id: int, month: dt.date, actor) -> bool | None:
    """Compare the transfers recorded for an agency's month with the confirmed deductions. A mismatch is an
    alert (audit + the regency's and agency's admins notified + the dashboard flag), never a silent difference.
    None when no transfer is recorded yet."""
    transfers = PayrollTransfer.objects.select_for_update().filter(agency_id=agency_id, payroll_month=month)
    rows = list(transfers)
    if not rows:
        return None
    expected = confirmed_total_idr(agency_id=agency_id, month=month)
    received = sum(t.amount_idr for t in rows)
    matched = received == expected
    was_matched = all(t.matched for t in rows)
    PayrollTransfer.objects.filter(pk__in=[t.pk for t in rows]).update(expected_idr=expected, matched=matched)
    if not matched:
        agency = Agency.objects.get(pk=agency_id)
        audit_record(
            actor=actor,
            action=AuditAction.PAYROLL_TRANSFER_MISMATCH,
            obj=agency,
            after={"payroll_month": month.isoformat(), "received_idr": received, "confirmed_idr": expected},
        )
        admins = (
            Profile.objects.filter(role=Role.REGENCY_ADMIN, regency_id=agency.regency_id)
            .values_list("user_id", flat=True)
            .union(
                Profile.objects.filter(role=Role.AGENCY_ADMIN, agency_id=agency_id).values_list("user_id", flat=True)
            )
        )
        regency = agency.regency
        notify_bulk(
            [
                NotifyRequest(
                    user_id=user_id,
                    kind="ledger_alert",
                    dedupe_key=f"payroll_transfer:{agency_id}:{month:%Y%m}:{received}:{expected}:{user_id}",
                    context={
                        "regency": regency.name,
                        "regency_code": regency.code,
                        "violations": 1,
                        "checks": f"payroll_transfers {agency.short_name or agency.name} {month:%m/%Y}",
                    },
                    data={"regency": regency.code, "agency_id": str(agency_id), "payroll_month": f"{month:%Y-%m}"},
                )
                for user_id in admins
            ]
        )
        logger.error(
            "payroll transfer mismatch agency %s %s: received %s, confirmed %s", agency_id, month, received, expected
        )
    elif not was_matched:
        logger.info("payroll transfers of agency %s %s now match", agency_id, month)
    return matched
