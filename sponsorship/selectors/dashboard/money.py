"""Money figures of the dashboard, from the billing ledger (invoices, lines, coverage months).

Definitions (all integer rupiah, per coverage month M, for the scope's ASN):
- expected: premiums billed for M (invoice lines of M on invoices that are not void);
- collected: premiums paid for M (coverage months M, i.e. lines whose invoice is paid);
- remitted: of those, the ones already sent to BPJS in a remittance batch;
- outstanding: premiums for M on invoices still unpaid (issued);
- on time: of the invoices due in M (and already due), the share paid by the end of their due date.
"""
import datetime as dt

from django.db.models import Count, DateField, F, Max, Min, Q, Sum
from django.db.models.functions import Cast, TruncMonth
from django.utils import timezone

from sponsorship.identifiers import mask_phone
from sponsorship.models import AuditLog, Sponsor, Sponsorship

from .scope import AdminScope

MONTHS_ID = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
             "November", "Desember"]
REMIND_ACTION = "arrears.remind"


def month_label(month: dt.date) -> str:
    return f"{MONTHS_ID[month.month - 1]} {month.year}"


def last_months(today: dt.date, n: int = 12) -> list[dt.date]:
    first = today.replace(day=1)
    out = []
    for _ in range(n):
        out.append(first)
        first = (first - dt.timedelta(days=1)).replace(day=1)
    return list(reversed(out))


def _invoices(scope: AdminScope):
    from sponsorship.models.billing import Invoice

    qs = Invoice.objects.filter(sponsor__agency__regency=scope.regency)
    return qs.filter(sponsor__agency=scope.agency) if scope.agency else qs


def _sponsor_filter(scope: AdminScope, prefix: str) -> Q:
    q = Q(**{f"{prefix}agency__regency": scope.regency})
    return q & Q(**{f"{prefix}agency": scope.agency}) if scope.agency else q


def _pct(part, whole):
    return round(100.0 * part / whole, 1) if whole else None


def money_by_month(scope: AdminScope, *, today: dt.date | None = None, months: int = 12) -> list[dict]:
    from sponsorship.models.billing import Invoice, InvoiceLine
    from sponsorship.models.coverage import CoverageMonth

    today = today or timezone.localdate()
    window = last_months(today, months)
    start, end = window[0], window[-1]
    lines = InvoiceLine.objects.filter(_sponsor_filter(scope, "invoice__sponsor__"), month__gte=start, month__lte=end)
    expected = dict(lines.exclude(invoice__status=Invoice.Status.VOID).values_list("month")
                    .annotate(s=Sum("amount_idr")).values_list("month", "s"))
    outstanding = dict(lines.filter(invoice__status=Invoice.Status.ISSUED).values_list("month")
                       .annotate(s=Sum("amount_idr")).values_list("month", "s"))
    cover = CoverageMonth.objects.filter(_sponsor_filter(scope, "invoice__sponsor__"), month__gte=start,
                                         month__lte=end)
    collected = {}
    remitted = {}
    for month, paid, sent in cover.values_list("month").annotate(
            paid=Sum("amount_idr"), sent=Sum("amount_idr", filter=Q(remitted_at__isnull=False))).values_list(
            "month", "paid", "sent"):
        collected[month], remitted[month] = paid or 0, sent or 0
    on_time = _on_time_by_month(scope, start, today)
    return [{
        "month": m.isoformat(), "label": month_label(m), "expected_idr": expected.get(m, 0) or 0,
        "collected_idr": collected.get(m, 0), "remitted_idr": remitted.get(m, 0),
        "outstanding_idr": outstanding.get(m, 0) or 0, "on_time_pct": on_time.get(m),
    } for m in window]


def _on_time_counts(invoices, today):
    """Invoices already due (or paid): how many, and how many paid by the end of the due date (local time)."""
    due = invoices.exclude(status="void").filter(Q(due_date__lt=today) | Q(status="paid"))
    return due.annotate(paid_day=Cast("paid_at", DateField())).aggregate(
        total=Count("id"), on_time=Count("id", filter=Q(status="paid", paid_day__lte=F("due_date"))))


def _on_time_by_month(scope, start, today) -> dict:
    rows = (_invoices(scope).exclude(status="void").filter(due_date__gte=start)
            .filter(Q(due_date__lt=today) | Q(status="paid"))
            .annotate(m=TruncMonth("due_date"), paid_day=Cast("paid_at", DateField()))
            .values("m").annotate(total=Count("id"), ok=Count("id", filter=Q(status="paid",
                                                                              paid_day__lte=F("due_date")))))
    out = {}
    for row in rows:
        month = row["m"].date() if isinstance(row["m"], dt.datetime) else row["m"]
        out[month] = _pct(row["ok"], row["total"])
    return out


def on_time_rate(scope: AdminScope, *, today: dt.date | None = None, months: int = 12) -> dict:
    today = today or timezone.localdate()
    start = last_months(today, months)[0]
    counts = _on_time_counts(_invoices(scope).filter(due_date__gte=start), today)
    return {"invoices_due": counts["total"], "paid_on_time": counts["on_time"],
            "pct": _pct(counts["on_time"], counts["total"]), "since": start.isoformat()}


def agency_money(scope: AdminScope, *, today: dt.date | None = None, months: int = 12) -> dict[int, dict]:
    """Per agency: on-time payment rate over `months`, arrears (overdue unpaid invoices) in rupiah and ASN."""
    today = today or timezone.localdate()
    start = last_months(today, months)[0]
    out: dict[int, dict] = {}
    due = (_invoices(scope).exclude(status="void").filter(due_date__gte=start)
           .filter(Q(due_date__lt=today) | Q(status="paid"))
           .annotate(paid_day=Cast("paid_at", DateField()))
           .values("sponsor__agency_id").annotate(
               total=Count("id"), ok=Count("id", filter=Q(status="paid", paid_day__lte=F("due_date")))))
    for row in due:
        out.setdefault(row["sponsor__agency_id"], {})["on_time_pct"] = _pct(row["ok"], row["total"])
    overdue = (_invoices(scope).filter(status="issued", due_date__lt=today).values("sponsor__agency_id")
               .annotate(s=Sum("amount_idr"), n=Count("sponsor_id", distinct=True)))
    for row in overdue:
        entry = out.setdefault(row["sponsor__agency_id"], {})
        entry["arrears_idr"], entry["arrears_sponsors"] = row["s"] or 0, row["n"]
    return out


def protected_this_month(scope: AdminScope, *, today: dt.date | None = None, by: str = "village__parent_id") -> dict:
    """Workers with a paid coverage month for the current month, grouped by village or district."""
    from sponsorship.models.coverage import CoverageMonth

    today = today or timezone.localdate()
    qs = CoverageMonth.objects.filter(month=today.replace(day=1), worker__village__parent__parent=scope.regency)
    if scope.agency:
        qs = qs.filter(invoice__sponsor__agency=scope.agency)
    key = f"worker__{by}"
    return dict(qs.values_list(key).annotate(n=Count("worker_id", distinct=True)).values_list(key, "n"))


def arrears_worklist(scope: AdminScope, *, today: dt.date | None = None, limit: int | None = None) -> list[dict]:
    """ASN with overdue unpaid invoices: who, how much, since when, how many workers, last reminder."""
    today = today or timezone.localdate()
    qs = (_invoices(scope).filter(status="issued", due_date__lt=today).values("sponsor_id")
          .annotate(amount=Sum("amount_idr"), invoices=Count("id"), since=Min("due_date")).order_by("since", "-amount"))
    rows = list(qs[:limit] if limit else qs)
    ids = [r["sponsor_id"] for r in rows]
    sponsors = {s.pk: s for s in Sponsor.objects.filter(pk__in=ids).select_related("agency")}
    workers = dict(Sponsorship.objects.filter(sponsor_id__in=ids, status=Sponsorship.Status.ACTIVE)
                   .values_list("sponsor_id").annotate(n=Count("id")).values_list("sponsor_id", "n"))
    reminders = dict(AuditLog.objects.filter(action=REMIND_ACTION, object_type="sponsorship.sponsor",
                                             object_id__in=[str(i) for i in ids])
                     .values_list("object_id").annotate(last=Max("at")).values_list("object_id", "last"))
    out = []
    for r in rows:
        s = sponsors[r["sponsor_id"]]
        last = reminders.get(str(s.pk))
        out.append({
            "sponsor_id": s.pk, "sponsor_name": s.full_name, "nip": s.nip, "agency": s.agency.short_name or s.agency.name,
            "phone": mask_phone(s.phone), "has_app": bool(s.user_id), "workers": workers.get(s.pk, 0),
            "invoices": r["invoices"], "amount_idr": r["amount"] or 0, "since": r["since"].isoformat(),
            "days": (today - r["since"]).days,
            "last_reminder": timezone.localtime(last).strftime("%Y-%m-%d %H:%M") if last else "",
        })
    return out
