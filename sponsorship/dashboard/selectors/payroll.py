"""Payroll deduction figures for the HR dashboard, scoped like every figure (docs/payroll.md).

- per agency: sponsors with pledges, how many pay by payroll deduction and how many through the gateway;
- per agency and payroll month: deductions expected (listed) and confirmed, missing, the bank's transfers and
  whether they match;
- lists sent to a treasurer whose confirmation has not come back;
- money deducted above the bill and owed back to the ASN (refund cases `payroll_excess` not yet paid back).
"""

import datetime as dt

from django.db.models import Count, F, Q, Sum

from sponsorship.billing.models import PayrollConsent, PayrollDeduction, PayrollList, PayrollTransfer, RefundCase
from sponsorship.core.periods import add_months, local_today, month_start
from sponsorship.people.models import Sponsorship

from .scope import AdminScope


def payroll_share(scope: AdminScope, *, today: dt.date | None = None) -> list[dict]:
    """Per agency: sponsors with an active pledge, those of them on payroll deduction this month, the rest on the
    gateway, and the same split in pledges (workers)."""
    month = month_start(today or local_today())
    on_payroll = set(
        PayrollConsent.objects.filter(
            Q(end_month__isnull=True) | Q(end_month__gt=month),
            status__in=PayrollConsent.LIVE,
            start_month__lte=month,
            sponsor__in=scope.sponsors(),
        ).values_list("sponsor_id", flat=True)
    )
    per_sponsor = (
        Sponsorship.objects.filter(status=Sponsorship.Status.ACTIVE, sponsor__in=scope.sponsors())
        .values("sponsor_id", "sponsor__agency_id", "sponsor__agency__name")
        .annotate(n=Count("id"))
    )
    out: dict[int, dict] = {}
    for r in per_sponsor:
        a = out.setdefault(
            r["sponsor__agency_id"],
            {
                "agency_id": r["sponsor__agency_id"],
                "agency": r["sponsor__agency__name"],
                "sponsors": 0,
                "sponsors_payroll": 0,
                "pledges": 0,
                "pledges_payroll": 0,
            },
        )
        payroll = r["sponsor_id"] in on_payroll
        a["sponsors"] += 1
        a["pledges"] += r["n"]
        a["sponsors_payroll"] += int(payroll)
        a["pledges_payroll"] += r["n"] if payroll else 0
    rows = sorted(out.values(), key=lambda a: a["agency"])
    for a in rows:
        a["sponsors_gateway"] = a["sponsors"] - a["sponsors_payroll"]
        a["pledges_gateway"] = a["pledges"] - a["pledges_payroll"]
        a["payroll_share_pct"] = round(100 * a["pledges_payroll"] / a["pledges"], 1) if a["pledges"] else 0.0
    return rows


def payroll_months(scope: AdminScope, *, months: int = 6, today: dt.date | None = None) -> list[dict]:
    """Per agency and payroll month (the last `months` and the next): expected vs confirmed deductions."""
    upto = add_months(month_start(today or local_today()), 1)
    since = add_months(upto, -months)
    lists = (
        PayrollList.objects.filter(agency__in=scope.agencies(), payroll_month__gte=since, payroll_month__lte=upto)
        .select_related("agency")
        .annotate(
            expected_idr=Sum("rows__amount_idr"),
            confirmed_idr=Sum("rows__deducted_idr", filter=Q(rows__status__in=PayrollDeduction.SETTLED)),
            confirmed_rows=Count("rows", filter=Q(rows__status=PayrollDeduction.Status.CONFIRMED)),
            short_rows=Count("rows", filter=Q(rows__status=PayrollDeduction.Status.SHORT)),
            missing_rows=Count("rows", filter=Q(rows__status=PayrollDeduction.Status.MISSING)),
            over_rows=Count("rows", filter=Q(rows__deducted_idr__gt=F("rows__amount_idr"))),
            excess_idr=Sum(
                F("rows__deducted_idr") - F("rows__amount_idr"), filter=Q(rows__deducted_idr__gt=F("rows__amount_idr"))
            ),
            listed_rows=Count("rows"),
        )
        .order_by("-payroll_month", "agency__name")
    )
    transfers: dict[tuple[int, dt.date], dict] = {}
    for t in PayrollTransfer.objects.filter(agency__in=scope.agencies(), payroll_month__gte=since):
        entry = transfers.setdefault((t.agency_id, t.payroll_month), {"received_idr": 0, "matched": True})
        entry["received_idr"] += t.amount_idr
        entry["matched"] = entry["matched"] and t.matched
    out = []
    for pl in lists:
        transfer = transfers.get((pl.agency_id, pl.payroll_month))
        out.append(
            {
                "list_id": pl.pk,
                "agency_id": pl.agency_id,
                "agency": pl.agency.name,
                "payroll_month": pl.payroll_month,
                "status": pl.status,
                "listed_rows": pl.listed_rows,
                "expected_idr": pl.expected_idr or 0,
                "confirmed_rows": pl.confirmed_rows,
                "short_rows": pl.short_rows,
                "missing_rows": pl.missing_rows,
                "confirmed_idr": pl.confirmed_idr or 0,
                # Deducted above the bill: in confirmed_idr (the bank transfers it) and owed back to the ASN.
                "over_rows": pl.over_rows,
                "excess_idr": pl.excess_idr or 0,
                "received_idr": transfer["received_idr"] if transfer else None,
                # The flag the dashboard shows: money from the bank differs from what the treasurer confirmed.
                "transfer_mismatch": bool(transfer and not transfer["matched"]),
            }
        )
    return out


def payroll_not_returned(scope: AdminScope, *, today: dt.date | None = None) -> list[dict]:
    """Lists sent to a treasurer for a payroll month that has begun, with no confirmation back yet."""
    month = month_start(today or local_today())
    return [
        {
            "list_id": pl.pk,
            "agency_id": pl.agency_id,
            "agency": pl.agency.name,
            "payroll_month": pl.payroll_month,
            "sent_at": pl.sent_at,
            "rows": pl.rows_count,
            "total_idr": pl.total_idr,
        }
        for pl in PayrollList.objects.filter(
            agency__in=scope.agencies(), status=PayrollList.Status.SENT, payroll_month__lte=month
        )
        .select_related("agency")
        .order_by("payroll_month", "agency__name")
    ]


def payroll_refunds_due(scope: AdminScope) -> list[dict]:
    """Money deducted above the bill, owed back to the ASN: the open `payroll_excess` refund cases (paid back by
    hand; an admin resolves the case in the refunds worklist once transferred)."""
    cases = (
        RefundCase.objects.filter(
            reason=RefundCase.Reason.PAYROLL_EXCESS,
            status__in=[RefundCase.Status.OPEN, RefundCase.Status.MANUAL_TRANSFER],
            attempt__payroll_deduction__payroll_list__agency__in=scope.agencies(),
        )
        .select_related("attempt__payroll_deduction__payroll_list__agency")
        .order_by("created_at")
    )
    out = []
    for case in cases:
        row = case.attempt.payroll_deduction
        out.append(
            {
                "refund_case_id": case.pk,
                "status": case.status,
                "agency_id": row.payroll_list.agency_id,
                "agency": row.payroll_list.agency.name,
                "payroll_month": row.payroll_month,
                "deduction_id": row.pk,
                "nip": row.nip,
                "full_name": row.full_name,
                "deducted_idr": row.deducted_idr,
                "billed_idr": row.amount_idr,
                "owed_idr": case.amount_idr - case.refunded_amount_idr,
            }
        )
    return out


def payroll_overview(scope: AdminScope, *, today: dt.date | None = None) -> dict:
    return {
        "agencies": payroll_share(scope, today=today),
        "months": payroll_months(scope, today=today),
        "not_returned": payroll_not_returned(scope, today=today),
        "refunds_due": payroll_refunds_due(scope),
    }
