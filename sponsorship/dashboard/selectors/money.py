"""Money figures of the dashboard, from the billing ledger (invoices, lines, coverage months).

Each figure is defined once, in words, in docs/figures.md (all integer rupiah of premiums, per coverage month M,
for the scope's ASN):
- collected: coverage months M (worker-months paid and kept);
- remitted: of those, the ones already sent to BPJS in a remittance batch;
- outstanding: lines of M on invoices still unpaid (issued);
- written off: lines of M on refunded invoices (money returned: refund, chargeback) whose worker-month is neither
  covered nor on a live invoice any more (not billed again), each worker-month once (its latest refunded line);
- expected = collected + outstanding + written off, by construction (`_expected`): a month billed again after
  a refund counts once, on its latest bill;
- on time: of the invoices that still stand (issued or paid; not void, not refunded) due in the window and
  already due or paid, the share paid by the end of the due date in the regency's zone.
"""

import datetime as dt
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Count, DateField, DateTimeField, F, Func, Max, Min, Q, Sum, Value
from django.db.models.functions import Cast, Coalesce, TruncMonth
from django.utils import timezone

from backend.formats import period_label as month_label
from sponsorship.billing.models import CoverageMonth, Invoice, InvoiceLine
from sponsorship.core.models import AuditLog
from sponsorship.core.periods import last_months, local_today, month_start
from sponsorship.people.crypto import decrypt
from sponsorship.people.identifiers import mask_phone
from sponsorship.people.models import Sponsor, Sponsorship

from .scope import AdminScope

REMIND_ACTION = "arrears.remind"


def _sponsor_ids(scope: AdminScope):
    """The scope's sponsors as a subquery: a semi-join is cheaper than joining sponsor and agency per row."""
    return scope.sponsors().order_by().values("id")


def _invoices(scope: AdminScope):
    return Invoice.objects.filter(sponsor_id__in=_sponsor_ids(scope))


def _pct(part, whole):
    return round(100.0 * part / whole, 1) if whole else None


# Per agency and month, maintained by triggers on invoices, lines and coverage months (migration 0006_perf_dash).
# The *_raw functions below compute the same figures straight from the ledger: tests compare the two, and they
# are the reference a consistency check runs against; the dashboard itself reads only the summary.
SUMMARY_TABLE = "sponsorship_dash_agency_month"


def _summary(scope: AdminScope, columns: str, where: str, params: list, group: str) -> list[tuple]:
    """Sums from the per agency-month summary for the scope's agencies (a few hundred rows at most)."""
    agencies_sql, agencies_params = scope.agencies().order_by().values("id").query.sql_with_params()
    sql = (
        f"SELECT {group}, {columns} FROM {SUMMARY_TABLE} WHERE agency_id IN ({agencies_sql}) AND {where} "  # noqa: S608 - only table names and ORM-compiled subqueries are interpolated; values are parameters
        f"GROUP BY {group}"
    )
    with connection.cursor() as cur:
        cur.execute(sql, [*agencies_params, *params])
        return cur.fetchall()


def _open_overdue(scope: AdminScope, today: dt.date):
    """Issued invoices already past their due date (read through the partial index on open invoices)."""
    return _invoices(scope).filter(status="issued", due_date__lt=today)


def money_by_month(scope: AdminScope, *, today: dt.date | None = None, months: int = 12) -> list[dict]:
    today = today or local_today()
    window = last_months(today, months)
    start, end = window[0], window[-1]
    sums = {
        month: rest
        for month, *rest in _summary(
            scope,
            "SUM(collected_idr), SUM(remitted_idr), SUM(outstanding_idr)",
            "month >= %s AND month <= %s",
            [start, end],
            "month",
        )
    }
    written_off = written_off_by_month(scope, start, end)
    on_time = _on_time_by_month(scope, start, today)
    rows = []
    for m in window:
        collected, remitted, outstanding = (int(v or 0) for v in sums.get(m, (0, 0, 0)))
        rows.append(_money_row(m, collected, remitted, outstanding, written_off.get(m, 0), on_time.get(m)))
    return rows


def _expected(*, collected: int, outstanding: int, written_off: int) -> int:
    """The one definition of "expected": what was asked for M and still stands, paid, owed or given up."""
    return collected + outstanding + written_off


def _money_row(m, collected, remitted, outstanding, written_off, on_time_pct) -> dict:
    return {
        "month": m.isoformat(),
        "label": month_label(m),
        "expected_idr": _expected(collected=collected, outstanding=outstanding, written_off=written_off),
        "collected_idr": collected,
        "remitted_idr": remitted,
        "outstanding_idr": outstanding,
        "written_off_idr": written_off,
        "on_time_pct": on_time_pct,
    }


# Lines of refunded invoices whose worker-month was not billed again: for each such line, no coverage row and no
# line on a live invoice for that worker-month, and no later refunded line for it (each worker-month counts once,
# on the sponsor of its latest refunded invoice). Starts from the few refunded invoices (partial index).
_WRITTEN_OFF_SQL = """
    SELECT l.month, SUM(l.amount_idr)
    FROM sponsorship_invoice i JOIN sponsorship_invoiceline l ON l.invoice_id = i.id
    WHERE i.status = 'refunded' AND i.sponsor_id IN ({sponsors}) AND l.month >= %s AND l.month <= %s
      AND NOT EXISTS (SELECT 1 FROM sponsorship_coveragemonth c WHERE c.worker_id = l.worker_id AND c.month = l.month)
      AND NOT EXISTS (SELECT 1 FROM sponsorship_invoiceline l2 JOIN sponsorship_invoice i2 ON i2.id = l2.invoice_id
                      WHERE l2.worker_id = l.worker_id AND l2.month = l.month
                        AND (i2.status IN ('issued', 'paid')
                             OR (i2.status = 'refunded' AND (i2.issued_at, i2.id) > (i.issued_at, i.id))))
    GROUP BY l.month"""


def written_off_by_month(scope: AdminScope, start: dt.date, end: dt.date) -> dict[dt.date, int]:
    """{month: rupiah written off} for the scope's ASN (the definition; there is no summary of it)."""
    sponsors_sql, sponsors_params = _sponsor_ids(scope).query.sql_with_params()
    with connection.cursor() as cur:
        cur.execute(_WRITTEN_OFF_SQL.format(sponsors=sponsors_sql), [*sponsors_params, start, end])
        return {month: int(total or 0) for month, total in cur.fetchall()}


def money_by_month_raw(scope: AdminScope, *, today: dt.date | None = None, months: int = 12) -> list[dict]:
    """The definition, straight from invoices, lines and coverage months (the reference for the summary)."""
    today = today or local_today()
    window = last_months(today, months)
    start, end = window[0], window[-1]
    lines = (
        InvoiceLine.objects.filter(
            invoice__sponsor_id__in=_sponsor_ids(scope),
            invoice__status=Invoice.Status.ISSUED,
            month__gte=start,
            month__lte=end,
        )
        .values("month")
        .annotate(outstanding=Sum("amount_idr"))
    )
    outstanding = {r["month"]: r["outstanding"] or 0 for r in lines}
    written_off = written_off_by_month(scope, start, end)
    cover = CoverageMonth.objects.filter(sponsor_id__in=_sponsor_ids(scope), month__gte=start, month__lte=end)
    collected = {}
    remitted = {}
    for month, paid, sent in (
        cover.values_list("month")
        .annotate(paid=Sum("amount_idr"), sent=Sum("amount_idr", filter=Q(remitted_at__isnull=False)))
        .values_list("month", "paid", "sent")
    ):
        collected[month], remitted[month] = paid or 0, sent or 0
    on_time = _on_time_by_month_raw(scope, start, today)
    return [
        _money_row(
            m,
            collected.get(m, 0),
            remitted.get(m, 0),
            outstanding.get(m, 0) or 0,
            written_off.get(m, 0),
            on_time.get(m),
        )
        for m in window
    ]


# "Paid on time" compares the payment's date in the regency's zone (RegencyConfig.timezone; WIB without a config
# row) with the due date: a payment at 00:30 WITA on the day after the due date is still the due date in Jakarta,
# and late. The summary's SQL says the same in sponsorship_dash_local_date (summary_functions.sql).
DEFAULT_ZONE = "Asia/Jakarta"
ON_TIME_ZONE = ZoneInfo(DEFAULT_ZONE)
# The invoices "on time" judges: those that still stand. Void ones were cancelled, refunded ones had their money
# returned (their months, when billed again, are judged on the new invoice).
STANDING = (Invoice.Status.ISSUED, Invoice.Status.PAID)


def _paid_day():
    zone = Coalesce(F("sponsor__agency__regency__config__timezone"), Value(DEFAULT_ZONE))
    return Cast(Func(zone, F("paid_at"), function="timezone", output_field=DateTimeField()), DateField())


def _standing_due(invoices, today):
    """Invoices that still stand and are already due (or paid): the population of the on-time rate."""
    return invoices.filter(status__in=STANDING).filter(Q(due_date__lt=today) | Q(status="paid"))


def _on_time_counts(invoices, today):
    """Invoices already due (or paid): how many, and how many paid by the end of the due date (local time)."""
    due = _standing_due(invoices, today)
    return due.annotate(paid_day=_paid_day()).aggregate(
        total=Count("id"), on_time=Count("id", filter=Q(status="paid", paid_day__lte=F("due_date")))
    )


def _on_time_counts_by(scope, start, today, key: str) -> dict:
    """{key: [invoices due, paid on time]} over invoices due from `start` that are due already or paid.
    Paid ones come from the summary (by due month and agency), the still open overdue ones live."""
    counts: dict = {}
    for k, total, ok in _summary(scope, "SUM(paid_invoices), SUM(paid_on_time)", "month >= %s", [start], key):
        counts[k] = [int(total or 0), int(ok or 0)]
    field = "m" if key == "month" else "sponsor__agency_id"
    qs = _open_overdue(scope, today).filter(due_date__gte=start)
    if key == "month":
        qs = qs.annotate(m=TruncMonth("due_date"))
    for row in qs.values(field).annotate(n=Count("id")):
        k = row[field].date() if isinstance(row[field], dt.datetime) else row[field]
        counts.setdefault(k, [0, 0])[0] += row["n"]
    return {k: v for k, v in counts.items() if v[0]}


def _on_time_by_month(scope, start, today) -> dict:
    return {m: _pct(ok, total) for m, (total, ok) in _on_time_counts_by(scope, start, today, "month").items()}


def _on_time_by_month_raw(scope, start, today) -> dict:
    rows = (
        _standing_due(_invoices(scope).filter(due_date__gte=start), today)
        .annotate(m=TruncMonth("due_date"), paid_day=_paid_day())
        .values("m")
        .annotate(total=Count("id"), ok=Count("id", filter=Q(status="paid", paid_day__lte=F("due_date"))))
    )
    out = {}
    for row in rows:
        month = row["m"].date() if isinstance(row["m"], dt.datetime) else row["m"]
        out[month] = _pct(row["ok"], row["total"])
    return out


def on_time_rate(scope: AdminScope, *, today: dt.date | None = None, months: int = 12) -> dict:
    today = today or local_today()
    start = last_months(today, months)[0]
    per = _on_time_counts_by(scope, start, today, "month").values()
    return _on_time_rate_row(start, total=sum(t for t, _ in per), on_time=sum(o for _, o in per))


def on_time_rate_raw(scope: AdminScope, *, today: dt.date | None = None, months: int = 12) -> dict:
    """on_time_rate straight from the invoices (the reference for the summary)."""
    today = today or local_today()
    start = last_months(today, months)[0]
    counts = _on_time_counts(_invoices(scope).filter(due_date__gte=start), today)
    return _on_time_rate_row(start, total=counts["total"], on_time=counts["on_time"])


def _on_time_rate_row(start: dt.date, *, total: int, on_time: int) -> dict:
    return {"invoices_due": total, "paid_on_time": on_time, "pct": _pct(on_time, total), "since": start.isoformat()}


def agency_money(scope: AdminScope, *, today: dt.date | None = None, months: int = 12) -> dict[int, dict]:
    """Per agency: on-time payment rate over `months`, arrears (overdue unpaid invoices) in rupiah and ASN."""
    today = today or local_today()
    start = last_months(today, months)[0]
    out: dict[int, dict] = {}
    for agency_id, (total, ok) in _on_time_counts_by(scope, start, today, "agency_id").items():
        out.setdefault(agency_id, {})["on_time_pct"] = _pct(ok, total)
    _add_arrears_by_agency(scope, today, out)
    return out


def _add_arrears_by_agency(scope, today, out) -> None:
    overdue = (
        _open_overdue(scope, today)
        .values("sponsor__agency_id")
        .annotate(s=Sum("amount_idr"), n=Count("sponsor_id", distinct=True))
    )
    for row in overdue:
        entry = out.setdefault(row["sponsor__agency_id"], {})
        entry["arrears_idr"], entry["arrears_sponsors"] = row["s"] or 0, row["n"]


def arrears_totals(scope: AdminScope, *, today: dt.date | None = None) -> dict:
    """The scope's arrears as two numbers (rupiah overdue, ASN owing): what the per-agency figures add up to."""
    today = today or local_today()
    row = _open_overdue(scope, today).aggregate(s=Sum("amount_idr"), n=Count("sponsor_id", distinct=True))
    return {"arrears_idr": int(row["s"] or 0), "arrears_sponsors": row["n"]}


def agency_money_raw(scope: AdminScope, *, today: dt.date | None = None, months: int = 12) -> dict[int, dict]:
    """agency_money straight from the invoices (the reference for the summary)."""
    today = today or local_today()
    start = last_months(today, months)[0]
    out: dict[int, dict] = {}
    due = (
        _standing_due(_invoices(scope).filter(due_date__gte=start), today)
        .annotate(paid_day=_paid_day())
        .values("sponsor__agency_id")
        .annotate(total=Count("id"), ok=Count("id", filter=Q(status="paid", paid_day__lte=F("due_date"))))
    )
    for row in due:
        out.setdefault(row["sponsor__agency_id"], {})["on_time_pct"] = _pct(row["ok"], row["total"])
    _add_arrears_by_agency(scope, today, out)
    return out


def protected_this_month(scope: AdminScope, *, today: dt.date | None = None, by: str = "village__parent_id") -> dict:
    """Workers with a paid coverage month for the current month, grouped by village or district."""
    today = today or local_today()
    # One row per (worker, month) by constraint, so a plain count is a count of workers.
    qs = CoverageMonth.objects.filter(month=month_start(today), sponsor_id__in=_sponsor_ids(scope))
    key = f"worker__{by}"
    return dict(qs.values_list(key).annotate(n=Count("id")).values_list(key, "n"))


def arrears_worklist(scope: AdminScope, *, today: dt.date | None = None, limit: int | None = None) -> list[dict]:
    """ASN with overdue unpaid invoices: who, how much, since when, how many workers, last reminder.

    One statement: the overdue open invoices (partial index) grouped per ASN, joined to the ASN and agency,
    with the active workers and the last reminder as per-row index lookups. Oldest first, then largest."""
    today = today or local_today()
    sponsors_sql, sponsors_params = _sponsor_ids(scope).query.sql_with_params()
    sql = f"""
        SELECT s.id, s.full_name, s.nip, a.short_name, a.name, s.phone, s.user_id IS NOT NULL,
               (SELECT COUNT(*) FROM sponsorship_sponsorship sp WHERE sp.sponsor_id = s.id AND sp.status = %s),
               inv.invoices, inv.amount, inv.since,
               (SELECT MAX(al.at) FROM sponsorship_auditlog al WHERE al.action = %s
                  AND al.object_type = 'people.sponsor' AND al.object_id = s.id::text)
        FROM (SELECT sponsor_id, SUM(amount_idr) AS amount, COUNT(*) AS invoices, MIN(due_date) AS since
              FROM sponsorship_invoice
              WHERE status = 'issued' AND due_date < %s AND sponsor_id IN ({sponsors_sql})
              GROUP BY sponsor_id) inv
        JOIN sponsorship_sponsor s ON s.id = inv.sponsor_id
        JOIN sponsorship_agency a ON a.id = s.agency_id
        ORDER BY inv.since, inv.amount DESC, s.id
        {"LIMIT %s" if limit else ""}"""  # noqa: S608 - only table names and ORM-compiled subqueries are interpolated; values are parameters
    params = [Sponsorship.Status.ACTIVE, REMIND_ACTION, today, *sponsors_params, *([limit] if limit else [])]
    with connection.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    out = []
    for sid, name, nip, short, agency, phone, has_app, workers, invoices, amount, since, last in rows:
        out.append(
            {
                "sponsor_id": sid,
                "sponsor_name": name,
                "nip": nip,
                "agency": short or agency,
                "phone": mask_phone(decrypt(phone) if phone else phone),
                "has_app": has_app,
                "workers": workers,
                "invoices": invoices,
                "amount_idr": int(amount or 0),
                "since": since.isoformat(),
                "days": (today - since).days,
                "last_reminder": timezone.localtime(last).strftime("%Y-%m-%d %H:%M") if last else "",
            }
        )
    return out


def arrears_worklist_raw(scope: AdminScope, *, today: dt.date | None = None, limit: int | None = None) -> list[dict]:
    """The previous ORM version (four queries), kept as the reference the tests compare with."""
    today = today or local_today()
    qs = (
        _invoices(scope)
        .filter(status="issued", due_date__lt=today)
        .values("sponsor_id")
        .annotate(amount=Sum("amount_idr"), invoices=Count("id"), since=Min("due_date"))
        .order_by("since", "-amount", "sponsor_id")
    )
    rows = list(qs[:limit] if limit else qs)
    ids = [r["sponsor_id"] for r in rows]
    sponsors = {s.pk: s for s in Sponsor.objects.filter(pk__in=ids).select_related("agency")}
    workers = dict(
        Sponsorship.objects.filter(sponsor_id__in=ids, status=Sponsorship.Status.ACTIVE)
        .values_list("sponsor_id")
        .annotate(n=Count("id"))
        .values_list("sponsor_id", "n")
    )
    reminders = dict(
        AuditLog.objects.filter(action=REMIND_ACTION, object_type="people.sponsor", object_id__in=[str(i) for i in ids])
        .values_list("object_id")
        .annotate(last=Max("at"))
        .values_list("object_id", "last")
    )
    out = []
    for r in rows:
        s = sponsors[r["sponsor_id"]]
        last = reminders.get(str(s.pk))
        out.append(
            {
                "sponsor_id": s.pk,
                "sponsor_name": s.full_name,
                "nip": s.nip,
                "agency": s.agency.short_name or s.agency.name,
                "phone": mask_phone(s.phone),
                "has_app": bool(s.user_id),
                "workers": workers.get(s.pk, 0),
                "invoices": r["invoices"],
                "amount_idr": r["amount"] or 0,
                "since": r["since"].isoformat(),
                "days": (today - r["since"]).days,
                "last_reminder": timezone.localtime(last).strftime("%Y-%m-%d %H:%M") if last else "",
            }
        )
    return out
