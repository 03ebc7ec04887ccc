"""The coverage ledger: a paid invoice turns into one CoverageMonth per worker-month, never two.

The (worker, month) unique index decides: rows are inserted with ON CONFLICT DO NOTHING and the
lines that did not get their own row are the surplus (that month was already paid by another
invoice) — the caller books it as credit or a refund case.
"""

import logging

from sponsorship.billing.models import CoverageMonth, Invoice, InvoiceLine, PaymentAttempt, RemittanceClawback

logger = logging.getLogger(__name__)


def coverage_record_invoice(*, invoice: Invoice, paid_at, attempt: PaymentAttempt | None = None) -> list[InvoiceLine]:
    """Create the coverage rows of a paid invoice; return the surplus lines (months already covered)."""
    lines = list(invoice.lines.all())
    CoverageMonth.objects.bulk_create(
        [
            CoverageMonth(
                worker_id=line.worker_id,
                month=line.month,
                sponsor_id=invoice.sponsor_id,
                invoice=invoice,
                line=line,
                attempt=attempt,
                jkk_idr=line.jkk_idr,
                jkm_idr=line.jkm_idr,
                jht_idr=line.jht_idr,
                amount_idr=line.amount_idr,
                paid_at=paid_at,
            )
            for line in lines
        ],
        ignore_conflicts=True,
    )
    mine = set(CoverageMonth.objects.filter(line__in=lines).values_list("line_id", flat=True))
    return [line for line in lines if line.pk not in mine]


def coverage_remove_invoice(*, invoice: Invoice, reason: str = "", attempt: PaymentAttempt | None = None) -> list[dict]:
    """Delete the coverage rows a payment of this invoice bought (the payment was reversed/refunded).

    Returns what was removed (for the audit row). Rows already remitted to BPJS are removed too (the worker is
    not protected by money we no longer hold), and each becomes a RemittanceClawback: the next remittance file
    reclaims it from BPJS as a negative line with `reason`. The worker's status is derived from these rows, so
    it changes with them.
    """
    rows = list(
        CoverageMonth.objects.select_for_update()
        .filter(invoice=invoice)
        .order_by("worker_id", "month")
        .values(
            "id",
            "worker_id",
            "month",
            "sponsor_id",
            "amount_idr",
            "jkk_idr",
            "jkm_idr",
            "jht_idr",
            "attempt_id",
            "remitted_at",
            "remittance_id",
        )
    )
    if not rows:
        return []
    CoverageMonth.objects.filter(pk__in=[r["id"] for r in rows]).delete()
    remitted = [r for r in rows if r["remitted_at"] is not None]
    if remitted:
        RemittanceClawback.objects.bulk_create(
            [
                RemittanceClawback(
                    worker_id=r["worker_id"],
                    month=r["month"],
                    sponsor_id=r["sponsor_id"],
                    invoice=invoice,
                    attempt_id=r["attempt_id"] or (attempt.pk if attempt else None),
                    jkk_idr=r["jkk_idr"],
                    jkm_idr=r["jkm_idr"],
                    jht_idr=r["jht_idr"],
                    amount_idr=r["amount_idr"],
                    reason=(reason or f"{invoice.number}: pembayaran dibatalkan")[:200],
                    remitted_in_id=r["remittance_id"],
                )
                for r in remitted
            ]
        )
        logger.error(
            "invoice %s: %d removed coverage months were already remitted to BPJS (batches %s); "
            "the next remittance file reclaims them",
            invoice.number,
            len(remitted),
            sorted({r["remittance_id"] for r in remitted}),
        )
    return [
        {
            "worker_id": r["worker_id"],
            "month": r["month"].isoformat(),
            "amount_idr": r["amount_idr"],
            "attempt_id": r["attempt_id"],
            "remitted": r["remitted_at"] is not None,
        }
        for r in rows
    ]
