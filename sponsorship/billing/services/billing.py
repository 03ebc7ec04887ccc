"""Issuing and voiding invoices.

- The monthly run is set-based (a fixed number of queries for any number of sponsors) and safe to
  run twice at once: invoices are inserted with ON CONFLICT DO NOTHING against the unique
  (sponsor, period) index, and lines are written only for the invoices this run actually inserted
  (tagged with its batch id).
- Prepay (1–12 months) and arrears (≤3 months) invoices are per sponsor, under the sponsor's row lock.
- A month already covered, or already on a live (issued or paid) invoice, is never billed again.
- Sponsor credit (from a double payment) is applied to the next invoice, under the sponsor's row lock.
Locks are taken in the one order `billing/locks.py` states (billing advisory lock → sponsor → invoice → payment).
The run takes the billing advisory lock exclusively, per-sponsor invoices share it, so they never both bill a
worker-month.
"""

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, OuterRef, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy

from backend.api.errors import ApplicationError, ConflictError
from backend.celery import delay_or
from backend.formats import period_label
from backend.observability.metrics import BILLING_RUN_DURATION, timed_call
from notifications import services as notifications
from sponsorship.billing import locks
from sponsorship.billing.models import CoverageMonth, CreditEntry, Holiday, Invoice, InvoiceLine, PaymentAttempt, Sector
from sponsorship.billing.services.rates import Premium, RateBook, RateMissing, sector_of
from sponsorship.billing.services.settlement import invoice_settle_by_credit
from sponsorship.core.audit import AuditAction, audit_record
from sponsorship.core.models import AuditLog
from sponsorship.core.periods import add_months, local_today, month_end, month_start, next_working_day
from sponsorship.people.models import Agency, Occupation, Sponsor, Sponsorship, Worker

LIVE_INVOICE = (Invoice.Status.ISSUED, Invoice.Status.PAID)


# ---- calendar -----------------------------------------------------------------------------------------
def _holidays_from(day: dt.date) -> set[dt.date]:
    """The holidays that can move a working day searched from `day` (a month is far more than enough)."""
    return set(
        Holiday.objects.filter(date__gte=day, date__lte=day + dt.timedelta(days=31)).values_list("date", flat=True)
    )


def due_date_for(period: dt.date, holidays: set[dt.date] | None = None) -> dt.date:
    """The 15th of the month being paid for, or the next working day (`holidays`: those from that day on, when
    the caller already loaded them)."""
    day = period.replace(day=settings.BILLING_DUE_DAY)
    return next_working_day(day, _holidays_from(day) if holidays is None else holidays)


def period_to_bill(today: dt.date | None = None) -> dt.date | None:
    """The month a run today should bill: next month once we are BILLING_ISSUE_DAYS_BEFORE days from it."""
    today = today or local_today()
    upcoming = add_months(month_start(today), 1)
    if (upcoming - today).days <= settings.BILLING_ISSUE_DAYS_BEFORE:
        return upcoming
    return None


def periods_to_bill(today: dt.date | None = None) -> list[dt.date]:
    """What the daily run bills: this month (late additions started by its due date) and, once within the
    issue window, next month."""
    today = today or local_today()
    upcoming = period_to_bill(today)
    return [month_start(today)] + ([upcoming] if upcoming else [])


def _number(period: dt.date, sponsor_id: int, suffix: str = "") -> str:
    return f"INV-{period:%Y%m}-{sponsor_id:06d}{suffix}"


# ---- monthly run --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BillingRunResult:
    period: dt.date
    batch: str
    invoices: int
    lines: int
    amount_idr: int


def _credit_balances(sponsor_ids=None) -> dict[int, int]:
    qs = CreditEntry.objects.all()
    if sponsor_ids is not None:
        qs = qs.filter(sponsor_id__in=sponsor_ids)
    return {
        row["sponsor_id"]: row["balance"]
        for row in qs.values("sponsor_id").annotate(balance=Sum("amount_idr")).filter(balance__gt=0)
    }


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


# One statement does the whole run in the database: candidates (active sponsorships of active sponsors whose
# worker-month is neither covered nor on a live invoice — also when the sponsor already has the period's
# invoice: a worker accepted after it was issued gets a supplementary invoice, sequence 2, 3, …), one invoice
# per sponsor inserted in sponsor order with ON CONFLICT DO NOTHING against the unique (sponsor, period,
# sequence) index, then lines and applied credit only for the invoices this statement inserted.
# No row travels to Python and back; only the two premiums (transport / other) come from the rate table.
_RUN_SQL = """
WITH cand AS MATERIALIZED (
    SELECT s.sponsor_id, s.worker_id, COALESCE(o.is_transport, false) AS transport, ag.regency_id
    FROM {sponsorship} s
    JOIN {sponsor} sp ON sp.id = s.sponsor_id
    JOIN {agency} ag ON ag.id = sp.agency_id
    JOIN {worker} w ON w.id = s.worker_id
    LEFT JOIN {occupation} o ON o.id = w.occupation_id
    WHERE s.status = %(active)s AND sp.status = %(sponsor_active)s
      -- a per-regency run (regions/scheduling.py) bills only its regency's sponsors
      AND (%(regency)s::bigint IS NULL OR ag.regency_id = %(regency)s::bigint)
      -- started in the period's month after its due date: first billed the month after (docs/money.md)
      AND NOT (s.started_at >= %(start_cutoff)s AND s.started_at < %(next_period_start)s)
      AND NOT EXISTS (SELECT 1 FROM {coverage} c WHERE c.worker_id = s.worker_id AND c.month = %(period)s)
      AND NOT EXISTS (SELECT 1 FROM {line} l JOIN {invoice} li ON li.id = l.invoice_id
                      WHERE l.worker_id = s.worker_id AND l.month = %(period)s AND li.status = ANY(%(live)s))
),
-- the premiums: (regency, transport) rows for the regencies with their own rate rows, (NULL, transport) for the
-- national rates every other regency pays
price AS (
    SELECT * FROM unnest(%(p_regency)s::bigint[], %(p_transport)s::boolean[], %(p_rate)s::bigint[],
                         %(p_jkk)s::integer[], %(p_jkm)s::integer[], %(p_jht)s::integer[], %(p_amount)s::integer[])
        AS p(regency_id, transport, rate_id, jkk_idr, jkm_idr, jht_idr, amount_idr)
),
priced AS (
    SELECT c.sponsor_id, c.worker_id, COALESCE(r.rate_id, d.rate_id) AS rate_id,
           COALESCE(r.jkk_idr, d.jkk_idr) AS jkk_idr, COALESCE(r.jkm_idr, d.jkm_idr) AS jkm_idr,
           COALESCE(r.jht_idr, d.jht_idr) AS jht_idr, COALESCE(r.amount_idr, d.amount_idr) AS amount_idr
    FROM cand c
    LEFT JOIN price r ON r.regency_id = c.regency_id AND r.transport = c.transport
    LEFT JOIN price d ON d.regency_id IS NULL AND d.transport = c.transport
),
sums AS (
    SELECT p.sponsor_id, SUM(p.amount_idr)::integer AS subtotal,
           COALESCE((SELECT MAX(i.sequence) FROM {invoice} i WHERE i.sponsor_id = p.sponsor_id
                     AND i.period = %(period)s AND i.kind = %(monthly)s), 0) + 1 AS seq
    FROM priced p GROUP BY p.sponsor_id
),
credit AS (
    SELECT sponsor_id, SUM(amount_idr)::integer AS balance FROM {credit}
    WHERE sponsor_id IN (SELECT sponsor_id FROM sums) GROUP BY sponsor_id HAVING SUM(amount_idr) > 0
),
new AS (
    INSERT INTO {invoice} (sponsor_id, number, kind, period, months, sequence, status, issued_at, due_date,
                           subtotal_idr, credit_applied_idr, amount_idr, void_reason, batch)
    SELECT s.sponsor_id,
           %(prefix)s || lpad(s.sponsor_id::text, greatest(6, length(s.sponsor_id::text)), '0')
               || CASE WHEN s.seq > 1 THEN '-S' || s.seq ELSE '' END,
           %(monthly)s, %(period)s, 1, s.seq, %(issued)s, %(now)s,
           CASE WHEN s.seq > 1 THEN %(late_due)s ELSE %(due)s END, s.subtotal,
           LEAST(COALESCE(c.balance, 0), s.subtotal), s.subtotal - LEAST(COALESCE(c.balance, 0), s.subtotal),
           '', %(batch)s
    FROM sums s LEFT JOIN credit c ON c.sponsor_id = s.sponsor_id
    ORDER BY s.sponsor_id  -- one fixed order: two parallel runs wait on each other, never deadlock
    -- against (sponsor, period, sequence): a parallel run that computed the same sequence from the same rows
    -- waits for this insert and then skips it
    ON CONFLICT DO NOTHING
    RETURNING id, sponsor_id, number, amount_idr, credit_applied_idr
),
lines AS (
    INSERT INTO {line} (invoice_id, worker_id, month, rate_id, jkk_idr, jkm_idr, jht_idr, amount_idr)
    SELECT n.id, p.worker_id, %(period)s, p.rate_id, p.jkk_idr, p.jkm_idr, p.jht_idr, p.amount_idr
    FROM priced p JOIN new n ON n.sponsor_id = p.sponsor_id
    RETURNING 1
),
applied AS (
    INSERT INTO {credit} (sponsor_id, kind, amount_idr, invoice_id, note, created_at)
    SELECT sponsor_id, %(applied)s, -credit_applied_idr, id, 'Dipakai pada ' || number, %(now)s
    FROM new WHERE credit_applied_idr > 0
    RETURNING 1
)
SELECT (SELECT COUNT(*) FROM new), (SELECT COUNT(*) FROM lines), (SELECT COALESCE(SUM(amount_idr), 0) FROM new),
       (SELECT COALESCE(array_agg(id ORDER BY id), '{{}}') FROM new WHERE amount_idr = 0),
       (SELECT COUNT(*) FROM applied)
"""

# Sponsors holding credit are locked (fixed order) before their balance is read, so a prepay or arrears
# invoice written at the same moment cannot spend the same credit.
_LOCK_CREDIT_HOLDERS_SQL = """
SELECT sp.id FROM {sponsor} sp
WHERE sp.id IN (SELECT sponsor_id FROM {credit} GROUP BY sponsor_id HAVING SUM(amount_idr) > 0)
  AND EXISTS (SELECT 1 FROM {sponsorship} s WHERE s.sponsor_id = sp.id AND s.status = %(active)s)
ORDER BY sp.id FOR UPDATE OF sp
"""


def _premium_or_none(book: RateBook, period: dt.date, sector: str):
    try:
        return book.premium(period, sector=sector)
    except RateMissing:
        return None


def _premium_or_none_for(book: RateBook, period: dt.date, sector: str, regency_id: int):
    try:
        return book.premium(period, sector=sector, regency_id=regency_id)
    except RateMissing:
        return None


@timed_call(BILLING_RUN_DURATION)
def billing_run(
    *, period: dt.date, actor=None, notify: bool = True, now=None, regency_id: int | None = None
) -> BillingRunResult:
    """Bill every active worker-month of `period` that is neither covered nor on a live invoice.

    One invoice per sponsor per run: the first is the month's invoice (sequence 1), a later run that finds
    worker-months added since (a worker accepted after the invoice was issued) issues a supplementary one
    (sequence 2, 3, …). A sponsorship that started in `period` after its due date is first billed the month
    after. A fixed number of queries whatever the number of sponsors (rates, holidays, lock, the run, audit).
    `regency_id` limits the run to one regency's sponsors (the per-regency schedule); each regency's worker-months
    are priced with its own rate rows where it has them, else the national ones.
    """
    period = month_start(period)
    now = now or timezone.now()
    batch = uuid.uuid4().hex
    book = RateBook.load()
    today = timezone.localtime(now).date()
    holidays = set(
        Holiday.objects.filter(
            date__gte=min(period, today), date__lte=max(month_end(period), today) + dt.timedelta(days=14)
        ).values_list("date", flat=True)
    )
    due = due_date_for(period, holidays)
    # A supplementary invoice (late addition) gets at least 3 days, like prepay/arrears invoices.
    late_due = max(due, next_working_day(today + dt.timedelta(days=3), holidays))
    start_cutoff = timezone.make_aware(dt.datetime.combine(due + dt.timedelta(days=1), dt.time.min))
    next_period_start = timezone.make_aware(dt.datetime.combine(add_months(period, 1), dt.time.min))
    prices = {
        "t": _premium_or_none(book, period, Sector.TRANSPORT),
        "o": _premium_or_none(book, period, Sector.NON_TRANSPORT),
    }
    own = book.regencies_with_own_rates()
    if regency_id is not None:
        own &= {regency_id}
    price_rows: list[tuple[int | None, bool, Premium | None]] = [(None, True, prices["t"]), (None, False, prices["o"])]
    for rid in sorted(own):
        for transport, sector in ((True, Sector.TRANSPORT), (False, Sector.NON_TRANSPORT)):
            price_rows.append((rid, transport, _premium_or_none_for(book, period, sector, rid)))
    priced = [(rid, transport, p) for rid, transport, p in price_rows if p is not None]
    params = {
        "active": Sponsorship.Status.ACTIVE,
        "sponsor_active": Sponsor.Status.ACTIVE,
        "period": period,
        "monthly": Invoice.Kind.MONTHLY,
        "issued": Invoice.Status.ISSUED,
        "live": [str(s) for s in LIVE_INVOICE],
        "now": now,
        "due": due,
        "late_due": late_due,
        "start_cutoff": start_cutoff,
        "next_period_start": next_period_start,
        "batch": batch,
        "prefix": _number(period, 0)[:-6],
        "applied": CreditEntry.Kind.APPLIED,
    }
    params.update(
        {
            "regency": regency_id,
            "p_regency": [rid for rid, _, _ in priced],
            "p_transport": [transport for _, transport, _ in priced],
            "p_rate": [p.rate_id for _, _, p in priced],
            "p_jkk": [p.jkk_idr for _, _, p in priced],
            "p_jkm": [p.jkm_idr for _, _, p in priced],
            "p_jht": [p.jht_idr for _, _, p in priced],
            "p_amount": [p.amount_idr for _, _, p in priced],
        }
    )
    tables = {
        "sponsorship": _table(Sponsorship),
        "sponsor": _table(Sponsor),
        "agency": _table(Agency),
        "worker": _table(Worker),
        "occupation": _table(Occupation),
        "invoice": _table(Invoice),
        "coverage": _table(CoverageMonth),
        "line": _table(InvoiceLine),
        "credit": _table(CreditEntry),
    }
    try:
        return _billing_run_in_db(params=params, tables=tables, actor=actor, notify=notify)
    except IntegrityError as exc:
        # A sector without a rate row leaves NULL premiums, refused by the NOT NULL columns (rolled back).
        missing = [name for name, p in (("transport", prices["t"]), ("non-transport", prices["o"])) if p is None]
        if missing:
            raise RateMissing(f"no premium rate for {period:%Y-%m} ({', '.join(missing)})") from exc
        raise


def _billing_run_in_db(*, params: dict, tables: dict, actor, notify: bool) -> BillingRunResult:
    period, batch = params["period"], params["batch"]
    with transaction.atomic():
        locks.billing_lock(exclusive=True)
        with connection.cursor() as cursor:
            cursor.execute(_LOCK_CREDIT_HOLDERS_SQL.format(**tables), params)
            cursor.execute(_RUN_SQL.format(**tables), params)
            invoices, lines, total, fully_credited, _ = cursor.fetchone()
        if not invoices:
            return BillingRunResult(period, batch, 0, 0, 0)
        AuditLog.objects.create(
            actor=actor if getattr(actor, "is_authenticated", False) else None,
            action="billing.run",
            object_type="billing.invoice",
            object_id=batch,
            after={
                "period": period.isoformat(),
                "invoices": invoices,
                "lines": lines,
                "amount_idr": total,
                **({"regency_id": params["regency"]} if params["regency"] is not None else {}),
            },
        )
        if fully_credited:
            for invoice_id in fully_credited:
                invoice_settle_by_credit(invoice=Invoice.objects.get(pk=invoice_id))
        if notify:
            transaction.on_commit(lambda: _enqueue_issued_notifications(batch))
    return BillingRunResult(period, batch, invoices, lines, int(total))


def _enqueue_issued_notifications(batch: str) -> None:
    from sponsorship.billing import tasks  # tasks imports this module

    # broker down: the invoices are committed; write their outbox rows here (the outbox sweep sends them)
    delay_or(
        tasks.notify_invoices_issued,
        batch,
        what=f"the issue notifications of batch {batch}; writing them now",
        fallback=lambda: invoices_notify_issued(batch=batch),
    )


def invoices_notify_issued(*, batch: str = "", invoice_ids=None) -> int:
    """Tell each sponsor their invoice is out: one outbox row each, deduped by invoice, a handful of queries."""
    qs = Invoice.objects.filter(status=Invoice.Status.ISSUED, sponsor__user__isnull=False).select_related("sponsor")
    qs = qs.filter(batch=batch) if batch else qs.filter(pk__in=invoice_ids or [])
    qs = qs.annotate(workers=Count("lines__worker", distinct=True))
    requests = []
    for invoice in qs:
        sponsor = invoice.sponsor
        assert sponsor is not None  # filtered on sponsor__user__isnull=False
        user_id = sponsor.user_id
        assert user_id is not None  # filtered on sponsor__user__isnull=False
        requests.append(
            notifications.NotifyRequest(
                user_id=user_id,
                kind="invoice_issued",
                dedupe_key=f"invoice_issued:{invoice.pk}",
                context={
                    "sponsor_name": sponsor.full_name,
                    "amount_idr": invoice.amount_idr,
                    "due_date": invoice.due_date,
                    "invoice_id": invoice.pk,
                    "invoice_number": invoice.number,
                    "period_label": period_label(invoice.period),
                    "workers": invoice.workers,
                },
                data={"invoice_id": str(invoice.pk)},
            )
        )
    with transaction.atomic():
        return len(notifications.notify_bulk(requests)) if requests else 0


def _notify(**kwargs):
    return notifications.notify(**kwargs)


# ---- per-sponsor invoices -----------------------------------------------------------------------------
def _active_workers(sponsor: Sponsor):
    return list(
        Sponsorship.objects.filter(sponsor=sponsor, status=Sponsorship.Status.ACTIVE)
        .select_related("worker__occupation")
        .order_by("worker_id")
    )


def _taken_months(worker_ids) -> dict[int, set]:
    """Months already covered or on a live invoice, per worker."""
    taken: dict[int, set] = defaultdict(set)
    for worker_id, month in CoverageMonth.objects.filter(worker_id__in=worker_ids).values_list("worker_id", "month"):
        taken[worker_id].add(month)
    for worker_id, month in InvoiceLine.objects.filter(
        worker_id__in=worker_ids, invoice__status__in=LIVE_INVOICE
    ).values_list("worker_id", "month"):
        taken[worker_id].add(month)
    return taken


def _write_invoice(
    *,
    sponsor_id: int,
    kind: str,
    lines: list,
    credit_available: int,
    issued_at,
    due_date: dt.date,
    suffix: str = "",
    sequence: int = 1,
    batch: str = "",
) -> Invoice:
    """One invoice with its lines (worker_id, month, premium) and the credit it uses, as issued."""
    months = sorted({m for _, m, _ in lines})
    subtotal = sum(p.amount_idr for _, _, p in lines)
    credit = min(credit_available, subtotal)
    invoice = Invoice.objects.create(
        sponsor_id=sponsor_id,
        number=_number(months[0], sponsor_id, suffix),
        kind=kind,
        period=months[0],
        months=len(months),
        sequence=sequence,
        status=Invoice.Status.ISSUED,
        issued_at=issued_at,
        due_date=due_date,
        subtotal_idr=subtotal,
        credit_applied_idr=credit,
        amount_idr=subtotal - credit,
        batch=batch,
    )
    InvoiceLine.objects.bulk_create(
        [
            InvoiceLine(
                invoice=invoice,
                worker_id=worker_id,
                month=month,
                rate_id=p.rate_id,
                jkk_idr=p.jkk_idr,
                jkm_idr=p.jkm_idr,
                jht_idr=p.jht_idr,
                amount_idr=p.amount_idr,
            )
            for worker_id, month, p in lines
        ]
    )
    if credit:
        CreditEntry.objects.create(
            sponsor_id=sponsor_id,
            kind=CreditEntry.Kind.APPLIED,
            amount_idr=-credit,
            invoice=invoice,
            note=f"Dipakai pada {invoice.number}",
        )
    return invoice


def _in_three_working_days(today: dt.date) -> dt.date:
    """The earliest due date of an invoice issued today: people get at least 3 days to pay."""
    day = today + dt.timedelta(days=3)
    return next_working_day(day, _holidays_from(day))


ISSUE_ACTION: dict[str, AuditAction] = {
    Invoice.Kind.MONTHLY: AuditAction.INVOICE_ISSUE_MONTHLY,
    Invoice.Kind.PREPAY: AuditAction.INVOICE_ISSUE_PREPAY,
    Invoice.Kind.ARREARS: AuditAction.INVOICE_ISSUE_ARREARS,
}


def _issue(*, sponsor: Sponsor, kind: str, lines: list, actor, today: dt.date, suffix: str) -> Invoice:
    """Write one invoice with its lines (caller holds the sponsor lock)."""
    months = sorted({m for _, m, _ in lines})
    invoice = _write_invoice(
        sponsor_id=sponsor.pk,
        kind=kind,
        lines=lines,
        credit_available=_credit_balances([sponsor.pk]).get(sponsor.pk, 0),
        issued_at=timezone.now(),
        due_date=max(due_date_for(months[0]), _in_three_working_days(today)),
        suffix=suffix,
    )
    credit = invoice.credit_applied_idr
    audit_record(
        actor=actor,
        action=ISSUE_ACTION[kind],
        obj=invoice,
        after={
            "number": invoice.number,
            "months": [m.isoformat() for m in months],
            "lines": len(lines),
            "amount_idr": invoice.amount_idr,
            "credit_idr": credit,
        },
    )
    if invoice.amount_idr == 0:
        invoice_settle_by_credit(invoice=invoice)
        invoice.refresh_from_db()
    else:
        transaction.on_commit(lambda: invoices_notify_issued(invoice_ids=[invoice.pk]))
    return invoice


def _regency_of(sponsor: Sponsor) -> int | None:
    """The regency whose rate rows price this sponsor's invoices (their agency's)."""
    return Agency.objects.filter(pk=sponsor.agency_id).values_list("regency_id", flat=True).first()


NOTHING_TO_BILL = gettext_lazy("There is no month to bill for your workers.")


def invoice_create_prepay(*, sponsor: Sponsor, months: int, actor=None, today: dt.date | None = None) -> Invoice:
    """One invoice paying `months` (1–12) ahead for every active worker, after what is already paid or billed."""
    if not 1 <= int(months) <= settings.BILLING_MAX_PREPAY_MONTHS:
        raise ApplicationError(gettext_lazy("Prepayment is 1 to 12 months."), code="invalid_months")
    today = today or local_today()
    book = RateBook.load()
    with transaction.atomic():
        sponsor = locks.lock_sponsor_for_invoicing(sponsor.pk)
        regency_id = _regency_of(sponsor)
        sponsorships = _active_workers(sponsor)
        taken = _taken_months([s.worker_id for s in sponsorships])
        lines = []
        for s in sponsorships:
            month = month_start(today)
            if taken[s.worker_id]:
                month = max(month, add_months(max(taken[s.worker_id]), 1))
            for i in range(int(months)):
                m = add_months(month, i)
                lines.append(
                    (
                        s.worker_id,
                        m,
                        book.premium(m, sector=sector_of(s.worker.occupation.is_transport), regency_id=regency_id),
                    )
                )
        if not lines:
            raise ApplicationError(NOTHING_TO_BILL, code="nothing_to_bill")
        return _issue(
            sponsor=sponsor,
            kind=Invoice.Kind.PREPAY,
            lines=lines,
            actor=actor,
            today=today,
            suffix=f"-P{uuid.uuid4().hex[:6].upper()}",
        )


def invoice_create_arrears(*, sponsor: Sponsor, actor=None, today: dt.date | None = None) -> Invoice:
    """One invoice for the unpaid months of the last 3 (and this month once past its due date).

    Unpaid monthly invoices for those months are voided in favour of it (unless a customer is already
    paying one at the bank: those months stay on their own invoice).
    """
    today = today or local_today()
    book = RateBook.load()
    current = month_start(today)
    window = [add_months(current, -i) for i in range(settings.BILLING_MAX_ARREARS_MONTHS, 0, -1)]
    if today > due_date_for(current):
        window.append(current)
    window = window[-settings.BILLING_MAX_ARREARS_MONTHS :]
    with transaction.atomic():
        sponsor = locks.lock_sponsor_for_invoicing(sponsor.pk)
        regency_id = _regency_of(sponsor)
        sponsorships = _active_workers(sponsor)
        worker_ids = [s.worker_id for s in sponsorships]
        superseded = locks.lock_invoices(
            Invoice.objects.filter(
                sponsor=sponsor, kind=Invoice.Kind.MONTHLY, status=Invoice.Status.ISSUED, period__in=window
            ).exclude(
                Exists(PaymentAttempt.objects.filter(invoice=OuterRef("pk"), status=PaymentAttempt.Status.PENDING))
            )
        )
        covered = defaultdict(set)
        for worker_id, month in CoverageMonth.objects.filter(worker_id__in=worker_ids, month__in=window).values_list(
            "worker_id", "month"
        ):
            covered[worker_id].add(month)
        elsewhere = defaultdict(set)  # on another live invoice that is not being superseded
        for worker_id, month in (
            InvoiceLine.objects.filter(worker_id__in=worker_ids, month__in=window, invoice__status__in=LIVE_INVOICE)
            .exclude(invoice__in=superseded)
            .values_list("worker_id", "month")
        ):
            elsewhere[worker_id].add(month)
        lines = []
        for s in sponsorships:
            start = month_start(timezone.localtime(s.started_at).date())
            for m in window:
                if m >= start and m not in covered[s.worker_id] and m not in elsewhere[s.worker_id]:
                    lines.append(
                        (
                            s.worker_id,
                            m,
                            book.premium(m, sector=sector_of(s.worker.occupation.is_transport), regency_id=regency_id),
                        )
                    )
        if not lines:
            raise ApplicationError(gettext_lazy("There are no arrears to pay."), code="nothing_to_bill")
        for old in superseded:
            _void_locked(invoice=old, reason="Digabung ke tagihan tunggakan", actor=actor)
        return _issue(
            sponsor=sponsor,
            kind=Invoice.Kind.ARREARS,
            lines=lines,
            actor=actor,
            today=today,
            suffix=f"-A{uuid.uuid4().hex[:6].upper()}",
        )


# ---- void ---------------------------------------------------------------------------------------------
def _void_locked(*, invoice: Invoice, reason: str, actor) -> bool:
    changed = Invoice.objects.filter(pk=invoice.pk, status=Invoice.Status.ISSUED).update(
        status=Invoice.Status.VOID,
        void_reason=reason[:255],
        voided_at=timezone.now(),
        voided_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    if not changed:
        return False
    # Open checkout pages are retired; a VA already shown (pending) would have blocked the void.
    PaymentAttempt.objects.filter(
        invoice=invoice, status__in=[PaymentAttempt.Status.OPEN, PaymentAttempt.Status.CREATING]
    ).update(status=PaymentAttempt.Status.SUPERSEDED)
    if invoice.credit_applied_idr and invoice.sponsor_id is not None:  # only sponsor invoices apply credit
        CreditEntry.objects.create(
            sponsor_id=invoice.sponsor_id,
            kind=CreditEntry.Kind.RESTORED,
            amount_idr=invoice.credit_applied_idr,
            invoice=invoice,
            note=f"Tagihan {invoice.number} dibatalkan",
        )
    audit_record(
        actor=actor,
        action="invoice.void",
        obj=invoice,
        before={"status": "issued"},
        after={"status": "void", "reason": reason},
    )
    return True


def invoice_void(*, invoice: Invoice, reason: str, actor=None) -> Invoice:
    """Void an unpaid invoice with a reason (audited). Refused while the sponsor is paying it."""
    if not (reason or "").strip():
        raise ApplicationError(gettext_lazy("A reason is required."), code="reason_required")
    with transaction.atomic():
        invoice = locks.lock_invoice(invoice)
        if invoice.status != Invoice.Status.ISSUED:
            raise ConflictError(gettext_lazy("Only an unpaid invoice can be voided."), code="not_voidable")
        if PaymentAttempt.objects.filter(invoice=invoice, status=PaymentAttempt.Status.PENDING).exists():
            raise ConflictError(
                gettext_lazy("This invoice is being paid; wait for the payment result."), code="payment_pending"
            )
        _void_locked(invoice=invoice, reason=reason.strip(), actor=actor)
    invoice.refresh_from_db()
    return invoice
