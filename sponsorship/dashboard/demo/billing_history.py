"""Synthetic billing history for demos and benchmarks: 12 months of invoices, payments and coverage.

Bulk-inserted (not through the billing services, which are one sponsor-month at a time) but shaped like
what they produce: monthly invoices per sponsor with one line per worker-month at the rate-table premium,
a settled PaymentAttempt and CoverageMonth rows for the paid ones, remittance batches for older months.
Sponsors behave like people: most pay before the 15th, some late, a few stop paying.
"""

import datetime as dt
import random
from collections import defaultdict

from django.db import transaction
from django.utils import timezone

from sponsorship.billing.models import CoverageMonth, Invoice, InvoiceLine, PaymentAttempt, RemittanceBatch
from sponsorship.billing.services.billing import due_date_for
from sponsorship.billing.services.rates import RateBook, sector_of
from sponsorship.core.periods import add_months, local_today, month_start
from sponsorship.people.models import Sponsorship

METHODS = ["bri_va", "bca_va", "bni_va", "other_qris", "gopay", "shopeepay", "echannel"]


def _sponsor_of(invoice: Invoice) -> int:
    """The demo writes sponsor invoices only (Invoice.sponsor is nullable for bridge-fund and self-pay payers)."""
    assert invoice.sponsor_id is not None
    return invoice.sponsor_id


def _aware(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """That local time, but never in the future: "paid today at 15:00" seeded at 00:10 would be a payment from
    tomorrow, listed before the one the user makes next (the demo test failed between 00:00 and 15:00 WIB)."""
    at = timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))
    return min(at, timezone.now() - dt.timedelta(minutes=1))


def generate(
    *,
    sponsorships=None,
    months: int = 12,
    today: dt.date | None = None,
    seed: int = 2026,
    batch_size: int = 5000,
    remit_older_than: int = 1,
    punctual=(),
    log=None,
) -> dict:
    """Create invoices for the last `months` months (the current one included) for active sponsorships."""
    rng = random.Random(seed)
    today = today or local_today()
    current = month_start(today)
    periods = [add_months(current, -i) for i in range(months - 1, -1, -1)]
    book = RateBook.load()
    rows = sponsorships if sponsorships is not None else Sponsorship.objects.filter(status=Sponsorship.Status.ACTIVE)
    by_sponsor: dict[int, list] = defaultdict(list)
    for sponsor_id, worker_id, started_at, transport in rows.values_list(
        "sponsor_id", "worker_id", "started_at", "worker__occupation__is_transport"
    ).iterator(chunk_size=10000):
        by_sponsor[sponsor_id].append((worker_id, timezone.localtime(started_at).date(), transport))
    behaviour: dict[int, tuple[str, dt.date | None]] = {}
    for sponsor_id in by_sponsor:
        roll = 0.0 if sponsor_id in punctual else rng.random()
        if roll < 0.72:
            behaviour[sponsor_id] = ("punctual", None)
        elif roll < 0.90:
            behaviour[sponsor_id] = ("late", None)
        else:  # stops paying 1–5 months before now
            behaviour[sponsor_id] = ("stopped", add_months(current, -rng.randint(1, 5)))
    premium_cache = {}

    def premium(month, transport):
        key = (month, transport)
        if key not in premium_cache:
            premium_cache[key] = book.premium(month, sector=sector_of(transport))
        return premium_cache[key]

    counts = {"invoices": 0, "lines": 0, "paid": 0, "coverage": 0}
    with transaction.atomic():
        for period in periods:
            due = due_date_for(period)
            issued = _aware(period - dt.timedelta(days=10), 7)
            invoices, lines_for = [], {}
            for sponsor_id, workers in by_sponsor.items():
                billable = [(w, t) for w, started, t in workers if month_start(started) <= period]
                if not billable:
                    continue
                lines = [(w, premium(period, t)) for w, t in billable]
                amount = sum(p.amount_idr for _, p in lines)
                kind, stop = behaviour[sponsor_id]
                paid_at = None
                # only "stopped" sponsors have a stop month
                if not (kind == "stopped" and stop is not None and period >= stop):
                    if kind == "punctual":
                        day = due - dt.timedelta(days=rng.randint(0, 14))
                        if sponsor_id in punctual:
                            day = min(day, today)
                    else:
                        day = due + dt.timedelta(days=rng.randint(-3, 25))
                    day = max(day, (issued + dt.timedelta(days=1)).date())
                    if day <= today:
                        paid_at = _aware(day, rng.randint(7, 21), rng.randint(0, 59))
                invoices.append(
                    Invoice(
                        sponsor_id=sponsor_id,
                        number=f"INV-{period:%Y%m}-{sponsor_id:06d}",
                        kind=Invoice.Kind.MONTHLY,
                        period=period,
                        months=1,
                        status=Invoice.Status.PAID if paid_at else Invoice.Status.ISSUED,
                        issued_at=issued,
                        due_date=due,
                        subtotal_idr=amount,
                        credit_applied_idr=0,
                        amount_idr=amount,
                        paid_at=paid_at,
                        batch=f"synthetic-{period:%Y%m}",
                    )
                )
                lines_for[sponsor_id] = lines
            Invoice.objects.bulk_create(invoices, batch_size=batch_size, ignore_conflicts=True)
            ids = dict(Invoice.objects.filter(batch=f"synthetic-{period:%Y%m}").values_list("sponsor_id", "id"))
            line_objs = []
            for inv in invoices:
                for worker_id, p in lines_for[_sponsor_of(inv)]:
                    line_objs.append(
                        InvoiceLine(
                            invoice_id=ids[_sponsor_of(inv)],
                            worker_id=worker_id,
                            month=period,
                            rate_id=p.rate_id,
                            jkk_idr=p.jkk_idr,
                            jkm_idr=p.jkm_idr,
                            jht_idr=p.jht_idr,
                            amount_idr=p.amount_idr,
                        )
                    )
            InvoiceLine.objects.bulk_create(line_objs, batch_size=batch_size, ignore_conflicts=True)
            paid = {_sponsor_of(inv): inv for inv in invoices if inv.paid_at}
            attempts = [
                PaymentAttempt(
                    invoice_id=ids[s],
                    order_id=f"SYN-{ids[s]}",
                    status=PaymentAttempt.Status.SETTLED,
                    amount_idr=inv.amount_idr,
                    payment_type=rng.choice(METHODS),
                    gateway_status="settlement",
                    paid_amount_idr=inv.amount_idr,
                    settled_at=inv.paid_at,
                )
                for s, inv in paid.items()
            ]
            PaymentAttempt.objects.bulk_create(attempts, batch_size=batch_size, ignore_conflicts=True)
            attempt_ids = dict(
                PaymentAttempt.objects.filter(invoice_id__in=[ids[s] for s in paid]).values_list("invoice_id", "id")
            )
            remit = None
            if period <= add_months(current, -remit_older_than):
                remit = RemittanceBatch.objects.create(period=period, file_name=f"remitansi-{period:%Y%m}.csv")
            cover = []
            for line in InvoiceLine.objects.filter(invoice_id__in=[ids[s] for s in paid]).only(
                "id", "invoice_id", "worker_id", "jkk_idr", "jkm_idr", "jht_idr", "amount_idr"
            ):
                inv_sponsor = line.invoice_id
                cover.append(
                    CoverageMonth(
                        worker_id=line.worker_id,
                        month=period,
                        invoice_id=inv_sponsor,
                        line_id=line.pk,
                        attempt_id=attempt_ids.get(inv_sponsor),
                        jkk_idr=line.jkk_idr,
                        jkm_idr=line.jkm_idr,
                        jht_idr=line.jht_idr,
                        amount_idr=line.amount_idr,
                        paid_at=_aware(period, 12),
                        remittance=remit,
                        remitted_at=_aware(add_months(period, 1), 9) if remit else None,
                    )
                )
            # Sponsor and real paid time per coverage row.
            sponsor_of = {ids[s]: s for s in paid}
            for row in cover:
                inv = paid[sponsor_of[row.invoice_id]]
                assert inv.paid_at is not None  # `paid` holds the invoices with a paid_at
                row.sponsor_id, row.paid_at = inv.sponsor_id, inv.paid_at
            CoverageMonth.objects.bulk_create(cover, batch_size=batch_size, ignore_conflicts=True)
            if remit:
                RemittanceBatch.objects.filter(pk=remit.pk).update(
                    rows=len(cover), total_idr=sum(c.amount_idr for c in cover)
                )
            counts["invoices"] += len(invoices)
            counts["lines"] += len(line_objs)
            counts["paid"] += len(paid)
            counts["coverage"] += len(cover)
            if log:
                log(f"  {period:%Y-%m}: {len(invoices)} invoices, {len(line_objs)} lines, {len(paid)} paid")
    return counts
