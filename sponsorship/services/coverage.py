"""The coverage ledger: a paid invoice turns into one CoverageMonth per worker-month, never two.

The (worker, month) unique index decides: rows are inserted with ON CONFLICT DO NOTHING and the
lines that did not get their own row are the surplus (that month was already paid by another
invoice) — the caller books it as credit or a refund case.
"""
from sponsorship.models import CoverageMonth, Invoice, InvoiceLine, PaymentAttempt


def coverage_record_invoice(*, invoice: Invoice, paid_at, attempt: PaymentAttempt | None = None) -> list[InvoiceLine]:
    """Create the coverage rows of a paid invoice; return the surplus lines (months already covered)."""
    lines = list(invoice.lines.all())
    CoverageMonth.objects.bulk_create([
        CoverageMonth(worker_id=line.worker_id, month=line.month, sponsor_id=invoice.sponsor_id, invoice=invoice,
                      line=line, attempt=attempt, jkk_idr=line.jkk_idr, jkm_idr=line.jkm_idr, jht_idr=line.jht_idr,
                      amount_idr=line.amount_idr, paid_at=paid_at)
        for line in lines], ignore_conflicts=True)
    mine = set(CoverageMonth.objects.filter(line__in=lines).values_list("line_id", flat=True))
    return [line for line in lines if line.pk not in mine]
