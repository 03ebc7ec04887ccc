"""Hand-over: what ending a sponsorship does to money (the rule in docs/money-rules.md, "Hand-over").

A sponsorship that ends on day E keeps the months whose premium was already due before E (due date < E); every
later month on one of its sponsor's *unpaid* invoices is released: the invoice is voided (audited, credit it
used restored) and, when other lines remain, reissued with them (same kind and due date, `replaces` points
back). Released months are on no live invoice any more, so the billing run, prepay and arrears bill them to
whoever sponsors the worker next, once. Paid lines are never touched: coverage already bought stays.

A late payment of the voided invoice (a VA already shown at the bank) pays its live reissue; the rest is surplus,
booked as credit or a refund case like any other surplus (settlement.py).

Runs inside `people.services.sponsorships.sponsorship_end`'s transaction (registered in BillingConfig.ready):
`handover_lock` first (billing lock shared → sponsor), then `handover_release` after the state moved.
"""

import datetime as dt
import uuid
from collections import defaultdict

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from sponsorship.billing import locks
from sponsorship.billing.models import Invoice, InvoiceLine
from sponsorship.billing.services.billing import (
    _credit_balances,
    _holidays_from,
    _void_locked,
    _write_invoice,
    due_date_for,
    invoices_notify_issued,
)
from sponsorship.billing.services.settlement import invoice_settle_by_credit
from sponsorship.core.audit import audit_record
from sponsorship.people.models import Sponsorship

RELEASE_REASON = "Pengampuan berakhir: bulan setelahnya pindah ke pengampu berikutnya"


def handover_lock(sponsor_id: int) -> None:
    """2 (shared) → 3: the same locks as a per-sponsor invoice, before any row is written."""
    locks.lock_sponsor_for_invoicing(sponsor_id)


def month_released(month: dt.date, *, end_day: dt.date) -> bool:
    """A month leaves the ending sponsor when its premium was not yet due before the end (due date ≥ end day)."""
    return due_date_for(month, _holidays_from(month.replace(day=1))) >= end_day


def handover_release(*, sponsorship: Sponsorship, actor=None) -> list[Invoice]:
    """Release the ended sponsorship's unpaid lines for later months; answer the reissued invoices."""
    assert sponsorship.ended_at is not None
    end_day = timezone.localtime(sponsorship.ended_at).date()
    lines = list(
        InvoiceLine.objects.filter(
            invoice__sponsor_id=sponsorship.sponsor_id,
            invoice__status=Invoice.Status.ISSUED,
            worker_id=sponsorship.worker_id,
        ).order_by("invoice_id", "month")
    )
    released: dict[int, list[InvoiceLine]] = defaultdict(list)
    for line in lines:
        if month_released(line.month, end_day=end_day):
            released[line.invoice_id].append(line)
    if not released:
        return []
    reissued = []
    for invoice in locks.lock_invoices(Invoice.objects.filter(pk__in=released, status=Invoice.Status.ISSUED)):
        replacement = release_lines(
            invoice=invoice,
            lines=released[invoice.pk],
            reason=RELEASE_REASON,
            detail={"sponsorship": sponsorship.pk},
            actor=actor,
        )
        if replacement is not None:
            reissued.append(replacement)
    return reissued


def release_lines(*, invoice: Invoice, lines: list[InvoiceLine], reason: str, detail: dict, actor) -> Invoice | None:
    """Take `lines` off an unpaid sponsor invoice (locked by the caller): void it, reissue the rest. Also used by
    the bridge fund when a pool pays a month the sponsor was billed for and did not pay (services/bridge.py)."""
    assert invoice.sponsor_id is not None, "only a sponsor's invoice is released"
    sponsor_id: int = invoice.sponsor_id
    gone = {line.pk for line in lines}
    remaining = [line for line in invoice.lines.order_by("month", "worker_id") if line.pk not in gone]
    _void_locked(invoice=invoice, reason=reason, actor=actor)
    replacement = None
    if remaining:
        sequence = 1
        if invoice.kind == Invoice.Kind.MONTHLY:
            top = Invoice.objects.filter(
                sponsor_id=sponsor_id, kind=Invoice.Kind.MONTHLY, period=invoice.period
            ).aggregate(top=Max("sequence"))["top"]
            sequence = (top or 0) + 1
        replacement = _write_invoice(
            sponsor_id=sponsor_id,
            kind=invoice.kind,
            lines=[(line.worker_id, line.month, line) for line in remaining],  # the issued snapshot amounts
            credit_available=_credit_balances([sponsor_id]).get(sponsor_id, 0),
            issued_at=timezone.now(),
            due_date=invoice.due_date,  # the same debt: reissuing does not give more time
            suffix=f"-R{uuid.uuid4().hex[:6].upper()}",
            sequence=sequence,
            batch=invoice.batch,
        )
        Invoice.objects.filter(pk=replacement.pk).update(replaces=invoice)
        replacement.replaces = invoice
    audit_record(
        actor=actor,
        action="invoice.handover_release",
        obj=invoice,
        before={"number": invoice.number, "amount_idr": invoice.amount_idr},
        after={
            **detail,
            "released": [
                {"worker_id": line.worker_id, "month": line.month.isoformat(), "amount_idr": line.amount_idr}
                for line in lines
            ],
            "reissued_as": replacement.number if replacement else None,
            "reissued_amount_idr": replacement.amount_idr if replacement else None,
        },
    )
    if replacement is not None:
        if replacement.amount_idr == 0:
            invoice_settle_by_credit(invoice=replacement)
        else:
            replacement_id = replacement.pk
            transaction.on_commit(lambda: invoices_notify_issued(invoice_ids=[replacement_id]))
    return replacement
