"""What a worker and a sponsor see about themselves: status, what is owed, payments, receipts, statements.

Every function takes the caller's own Worker or Sponsor (resolved by the API from request.user), so a
caller can never read another person's data through these reads.
"""

import datetime as dt
import time
from dataclasses import dataclass

import psycopg
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.postgres.expressions import ArraySubquery
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, DateField, OuterRef, Subquery, Sum, Value
from django.urls import reverse

from backend.formats import period_label
from sponsorship.billing.models import CoverageMonth, Holiday, Invoice, InvoiceLine, PaymentAttempt, PremiumRate
from sponsorship.billing.selectors.billing import sponsor_credit_idr
from sponsorship.billing.selectors.coverage import status_holidays_from, worker_coverage_status
from sponsorship.billing.selectors.protection_clock import (
    active_cohort_until,
    clock_from,
    cohort_until_for,
)
from sponsorship.billing.services.rates import RateBook
from sponsorship.core.periods import local_today, month_start
from sponsorship.people.models import Cohort, CohortMember, Occupation, Profile, Sponsor, Sponsorship, Worker

JKM_FULL_AFTER_MONTHS = 3  # Permenaker 1/2025: in the first 3 months of membership only the reduced benefit
SCHOLARSHIP_AFTER_MONTHS = 36  # contributions needed for the children's scholarship (JKM)
DEFAULT_DECLARED_INCOME_IDR = 1_000_000  # the minimum bracket; the rate table's row wins when there is one


@dataclass(frozen=True)
class WorkerFacts:
    state: str
    protected_until: dt.date | None
    next_due_date: dt.date | None
    months_of_membership: int
    contributions_to_date: int  # paid months up to the current one (prepaid future months not counted)
    months_paid_total: int
    arrears_months: int
    arrears_idr: int
    sponsor_first_name: str | None
    protection_ends_on: dt.date | None  # last protected day (selectors/protection_clock.py)
    days_left: int | None
    declared_income_idr: int
    jkm_full: bool
    scholarship_eligible: bool
    months_to_scholarship: int


def declared_income(today: dt.date) -> int:
    """The declared income behind the JKK benefits (rate table), cached for an hour: it changes by regulation."""
    key = f"declared-income:{today.isoformat()}"
    value = cache.get(key)
    if value is None:
        row = (
            PremiumRate.objects.filter(valid_from__lte=today)
            .exclude(valid_to__lt=today)
            .order_by("-priority", "-valid_from")
            .first()
        )
        value = row.declared_income_idr if row else DEFAULT_DECLARED_INCOME_IDR
        cache.set(key, value, 3600)
    return value


def workers_for_status(*, today: dt.date | None = None):
    """Workers with everything the status needs in ONE query: occupation (sector), paid months (array),
    the active sponsor's first-name source when the sponsor agreed to show it (at most one active
    sponsorship per worker, by constraint), the holidays that can move a due date (a tiny uncorrelated
    subquery, evaluated once). The encrypted NIK/phone are not loaded (never shown here)."""
    today = today or local_today()
    since = status_holidays_from(today)
    qs = Worker.objects.select_related("occupation").defer("nik", "phone")
    return qs.annotate(
        status_months=ArraySubquery(CoverageMonth.objects.filter(worker_id=OuterRef("pk")).order_by().values("month")),
        status_sponsor_name=Subquery(
            Sponsorship.objects.filter(
                worker_id=OuterRef("pk"), status=Sponsorship.Status.ACTIVE, sponsor__show_name_to_workers=True
            )
            .order_by()
            .values("sponsor__full_name")[:1]
        ),
        status_holidays=ArraySubquery(Holiday.objects.filter(date__gte=since).order_by().values("date")),
        status_holidays_since=Value(since, output_field=DateField()),
        status_cohort_until=active_cohort_until(today),
    )


def _fetch_prepared(sql: str, params: list):
    """One row of `sql` as a server-side prepared statement (psycopg 3).

    Django's psycopg cursors bind parameters client-side, so PostgreSQL plans this statement on every call
    (~0.5 ms planning against ~0.1 ms executing, measured with EXPLAIN ANALYZE on the 42,000-worker bench
    database). A plain psycopg cursor with prepare=True plans it once per connection (connections persist:
    DB_CONN_MAX_AGE). Behind a transaction-pooling proxy (PgBouncer < 1.21) set STATUS_PREPARED_STATEMENTS=false.
    Logged like Django's own queries when query logging is on (DEBUG, CaptureQueriesContext)."""
    if not getattr(settings, "STATUS_PREPARED_STATEMENTS", True):
        with connection.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchone()
    connection.ensure_connection()
    started = time.monotonic()
    raw = connection.connection
    if raw.prepare_threshold is None:
        # Django opens psycopg connections with prepared statements off (prepare_threshold=None), which also
        # ignores prepare=True. Any number turns them on; Django's own ClientCursors never prepare anyway.
        raw.prepare_threshold = 1_000_000
    # Django's psycopg connections make ClientCursor (client-side binding: no prepare); ask for a plain one.
    with connection.wrap_database_errors, psycopg.Cursor(raw) as cur:
        cur.execute(sql, params, prepare=True)
        row = cur.fetchone()
    if connection.queries_logged:
        connection.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})
    return row


def worker_status_for_user(user_id: int, *, today: dt.date | None = None) -> "Worker | None":
    """The worker of `user_id` with their user (and profile) and everything workers_for_status() loads, in ONE
    hand-written statement: the ORM spent more time compiling that query than PostgreSQL running it.
    Instances are built with Model.from_db, so any field not loaded here is fetched lazily if ever read."""
    User = get_user_model()
    today = today or local_today()
    since = status_holidays_from(today)
    t = {
        m: m._meta.db_table
        for m in (Worker, User, Occupation, Profile, CoverageMonth, Sponsorship, Sponsor, Holiday, Cohort, CohortMember)
    }
    sql = f"""
        SELECT w.id, w.full_name, w.kpj, w.occupation_id, w.village_id, w.user_id,
               o.id, o.code, o.name, o.is_transport,
               u.id, u.password, u.is_active, u.is_superuser, u.is_staff, u.username,
               p.id, p.user_id, p.role, p.agency_id, p.regency_id, p.language,
               ARRAY(SELECT cm.month FROM {t[CoverageMonth]} cm WHERE cm.worker_id = w.id),
               (SELECT s.full_name FROM {t[Sponsorship]} sp JOIN {t[Sponsor]} s ON s.id = sp.sponsor_id
                 WHERE sp.worker_id = w.id AND sp.status = %s AND s.show_name_to_workers LIMIT 1),
               ARRAY(SELECT h.date FROM {t[Holiday]} h WHERE h.date >= %s),
               (SELECT max(c.funded_until) FROM {t[CohortMember]} cm JOIN {t[Cohort]} c ON c.id = cm.cohort_id
                 WHERE cm.worker_id = w.id AND c.starts_on <= %s AND c.funded_until >= %s)
        FROM {t[Worker]} w JOIN {t[User]} u ON u.id = w.user_id JOIN {t[Occupation]} o ON o.id = w.occupation_id
             LEFT JOIN {t[Profile]} p ON p.user_id = u.id
        WHERE w.user_id = %s"""  # noqa: S608 - only table names and ORM-compiled subqueries are interpolated; values are parameters
    row = _fetch_prepared(sql, [Sponsorship.Status.ACTIVE, since, today, today, user_id])
    if row is None:
        return None
    db = connection.alias

    def build(model, names, values):
        loaded = dict(zip(names, values, strict=True))  # from_db wants the values in the model's field order
        names = [f.attname for f in model._meta.concrete_fields if f.attname in loaded]
        return model.from_db(db, names, [loaded[n] for n in names])

    worker = build(Worker, ["id", "full_name", "kpj", "occupation_id", "village_id", "user_id"], row[0:6])
    worker.occupation = build(Occupation, ["id", "code", "name", "is_transport"], row[6:10])
    user = build(User, ["id", "password", "is_active", "is_superuser", "is_staff", "username"], row[10:16])
    if row[16] is not None:
        user.profile = build(Profile, ["id", "user_id", "role", "agency_id", "regency_id", "language"], row[16:22])
    else:
        user._state.fields_cache["profile"] = None  # profile_of() then answers None, like a missing profile
    worker.user = user
    worker.status_months, worker.status_sponsor_name, worker.status_holidays = row[22], row[23], row[24]
    worker.status_holidays_since = since
    worker.status_cohort_until = row[25]
    return worker


def _rate_book() -> RateBook:
    """The premium rate rows (a few), cached like declared_income: they change by regulation, not per request."""
    # Cached as plain tuples, not pickled model instances: unpickling models (app registry lookups, __init__,
    # __setstate__) cost more per status request than everything else the cache saves.
    names = [f.attname for f in PremiumRate._meta.concrete_fields]
    values = cache.get("status-rate-values")
    if values is None:
        values = [tuple(row) for row in PremiumRate.objects.values_list(*names)]
        cache.set("status-rate-values", values, 300)
    return RateBook([PremiumRate.from_db(connection.alias, names, row) for row in values])


def worker_status_facts(worker, *, today: dt.date | None = None) -> WorkerFacts:
    """`worker` may come from workers_for_status() (no further query) or be any Worker (queried here)."""
    today = today or local_today()
    if hasattr(worker, "status_months"):
        months = list(worker.status_months or [])
        name = worker.status_sponsor_name
        status = worker_coverage_status(
            worker,
            today=today,
            months=months,
            sponsor_first_name=name.split(" ")[0] if name is not None else None,
            holidays=set(worker.status_holidays or [])
            if worker.status_holidays_since <= status_holidays_from(today)
            else None,
            rates=_rate_book(),
        )
    else:
        months = list(CoverageMonth.objects.filter(worker=worker).values_list("month", flat=True))
        status = worker_coverage_status(worker, today=today, months=months)
    cohort_until = (
        worker.status_cohort_until
        if hasattr(worker, "status_cohort_until")
        else cohort_until_for([worker.pk], today).get(worker.pk)
    )
    clock = clock_from(months, cohort_until, today)
    state, protected_until = status.state, status.protected_until
    if clock.by_cohort:  # the regency budget pays BPJS directly: protected, whatever the ledger says
        state, protected_until = "protected", clock.ends_on
    to_date = sum(1 for m in months if m <= month_start(today))
    enrolled = state in ("protected", "grace")
    return WorkerFacts(
        state=state,
        protected_until=protected_until,
        next_due_date=status.next_due_date,
        months_of_membership=status.months_of_membership,
        contributions_to_date=to_date,
        months_paid_total=status.months_paid,
        arrears_months=status.arrears_months,
        arrears_idr=status.arrears_idr,
        sponsor_first_name=status.sponsor_first_name,
        protection_ends_on=clock.ends_on,
        days_left=clock.days_left,
        declared_income_idr=declared_income(today),
        jkm_full=enrolled and status.months_of_membership > JKM_FULL_AFTER_MONTHS,
        scholarship_eligible=enrolled and to_date >= SCHOLARSHIP_AFTER_MONTHS,
        months_to_scholarship=max(SCHOLARSHIP_AFTER_MONTHS - to_date, 0),
    )


# -- sponsor ---------------------------------------------------------------------------------------------------
def _receipt_url(invoice_id: int) -> str:
    return reverse("sponsor-receipt", kwargs={"pk": invoice_id})


def _payment_method(invoice_ids) -> dict[int, str]:
    rows = (
        PaymentAttempt.objects.filter(invoice_id__in=invoice_ids, settled_at__isnull=False)
        .order_by("invoice_id", "-settled_at")
        .values_list("invoice_id", "payment_type")
    )
    out: dict[int, str] = {}
    for invoice_id, kind in rows:
        out.setdefault(invoice_id, kind or "")
    return out


def sponsor_overview(sponsor: Sponsor, *, today: dt.date | None = None, payments_limit: int = 24) -> dict:
    today = today or local_today()
    # Everything the statuses need comes with the sponsorships in ONE query (each worker's paid months and cohort
    # end, the holidays that can move a due date) plus the cached rate rows, not two to four queries per worker:
    # this was the heaviest read of the payday mix. The encrypted NIK/phone are not loaded (never shown here).
    since = status_holidays_from(today)
    sponsorships = list(
        Sponsorship.objects.filter(sponsor=sponsor, status=Sponsorship.Status.ACTIVE)
        .select_related("worker__occupation", "worker__village")
        .defer("worker__nik", "worker__phone")
        .annotate(
            status_months=ArraySubquery(
                CoverageMonth.objects.filter(worker_id=OuterRef("worker_id")).order_by().values("month")
            ),
            status_cohort_until=active_cohort_until(today, outer="worker_id"),
            status_holidays=ArraySubquery(Holiday.objects.filter(date__gte=since).order_by().values("date")),
        )
        .order_by("started_at")
    )
    workers = []
    rates = _rate_book() if sponsorships else None
    for s in sponsorships:
        w = s.worker
        months = list(s.status_months or [])
        # The sponsor's own name is not part of this answer: sponsor_first_name=None spares its query.
        st = worker_coverage_status(
            w, today=today, months=months, sponsor_first_name=None, holidays=set(s.status_holidays or []), rates=rates
        )
        clock = clock_from(months, s.status_cohort_until, today)
        workers.append(
            {
                "worker_id": w.pk,
                "name": w.full_name,
                "occupation": w.occupation.name,
                "village": w.village.name,
                "since": s.started_at.date(),
                "state": st.state,
                "protected_until": st.protected_until,
                "next_due_date": st.next_due_date,
                "arrears_months": st.arrears_months,
                "protection_ends_on": clock.ends_on,
                "days_left": clock.days_left,
            }
        )
    open_invoices = list(Invoice.objects.filter(sponsor=sponsor, status=Invoice.Status.ISSUED).order_by("due_date"))
    owed = [
        {
            "invoice_id": i.pk,
            "number": i.number,
            "kind": i.kind,
            "period": i.period,
            "period_label": period_label(i.period),
            "months": i.months,
            "amount_idr": i.amount_idr,
            "due_date": i.due_date,
            "overdue": i.due_date < today,
        }
        for i in open_invoices
    ]
    paid = list(
        Invoice.objects.filter(sponsor=sponsor, status=Invoice.Status.PAID).order_by("-paid_at")[:payments_limit]
    )
    methods = _payment_method([i.pk for i in paid])
    payments = [
        {
            "invoice_id": i.pk,
            "number": i.number,
            "period_label": period_label(i.period),
            "months": i.months,
            "amount_idr": i.amount_idr,
            "paid_at": i.paid_at,
            "method": methods.get(i.pk, ""),
            "receipt_url": _receipt_url(i.pk),
        }
        for i in paid
    ]
    years = sorted(
        {d.year for d in Invoice.objects.filter(sponsor=sponsor, status=Invoice.Status.PAID).dates("paid_at", "year")},
        reverse=True,
    )
    return {
        "sponsor": {
            "id": sponsor.pk,
            "name": sponsor.full_name,
            "agency": sponsor.agency.name,
            "capacity": sponsor.capacity,
            "active_sponsorships": sponsor.active_sponsorships,
            "show_name_to_workers": sponsor.show_name_to_workers,
        },
        "workers": workers,
        "owed": {
            "total_idr": sum(o["amount_idr"] for o in owed),
            "overdue_idr": sum(o["amount_idr"] for o in owed if o["overdue"]),
            "next_due_date": min((i.due_date for i in open_invoices), default=None),
            "credit_idr": sponsor_credit_idr(sponsor.pk),
            "invoices": owed,
        },
        "payments": payments,
        "statements": [{"year": y, "url": reverse("sponsor-statement", kwargs={"year": y})} for y in years],
    }


def sponsor_receipt(sponsor: Sponsor, invoice_id: int) -> dict | None:
    invoice = Invoice.objects.filter(sponsor=sponsor, pk=invoice_id, status=Invoice.Status.PAID).first()
    if invoice is None:
        return None
    lines = InvoiceLine.objects.filter(invoice=invoice).select_related("worker").order_by("month", "worker__full_name")
    attempt = PaymentAttempt.objects.filter(invoice=invoice, settled_at__isnull=False).order_by("-settled_at").first()
    return {
        "invoice": invoice,
        "period_label": period_label(invoice.period),
        "sponsor": sponsor,
        "lines": [
            {
                "worker": ln.worker.full_name,
                "month_label": period_label(ln.month),
                "jkk_idr": ln.jkk_idr,
                "jkm_idr": ln.jkm_idr,
                "jht_idr": ln.jht_idr,
                "amount_idr": ln.amount_idr,
            }
            for ln in lines
        ],
        "method": attempt.payment_type if attempt else "",
        "order_id": attempt.order_id if attempt else "",
        "transaction_id": attempt.transaction_id if attempt else "",
    }


def sponsor_statement(sponsor: Sponsor, year: int) -> dict:
    """Annual statement: what was paid in `year` (by payment date), per month and per worker.

    Every amount is the full premium of what was paid for: `total_idr` = the sum of the per-worker amounts = the
    invoices' subtotals; of it, `cash_idr` came through the gateway and `credit_idr` from the sponsor's credit
    (an earlier overpayment), shown apart so the total never contradicts its lines (issue 13, defect 5)."""
    invoices = Invoice.objects.filter(sponsor=sponsor, status=Invoice.Status.PAID, paid_at__year=year)
    lines = InvoiceLine.objects.filter(invoice__in=invoices)
    per_worker = list(
        lines.values("worker_id", "worker__full_name")
        .annotate(months=Count("id"), amount_idr=Sum("amount_idr"))
        .order_by("worker__full_name")
    )
    per_invoice = [
        {
            "number": i.number,
            "period_label": period_label(i.period),
            "months": i.months,
            "paid_at": i.paid_at,
            "total_idr": i.subtotal_idr,
            "credit_idr": i.credit_applied_idr,
            "cash_idr": i.amount_idr,
            "amount_idr": i.amount_idr,
            "receipt_url": _receipt_url(i.pk),
        }
        for i in invoices.order_by("paid_at")
    ]
    return {
        "year": year,
        "sponsor": {"name": sponsor.full_name, "nip": sponsor.nip, "agency": sponsor.agency.name},
        "total_idr": sum(i["total_idr"] for i in per_invoice),
        "cash_idr": sum(i["cash_idr"] for i in per_invoice),
        "credit_idr": sum(i["credit_idr"] for i in per_invoice),
        "worker_months": sum(w["months"] for w in per_worker),
        "workers": [
            {"name": w["worker__full_name"], "months": w["months"], "amount_idr": w["amount_idr"]} for w in per_worker
        ],
        "payments": per_invoice,
    }
