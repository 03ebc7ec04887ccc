"""Dashboard pages of issue 19: the coverage map, the monthly printable report, and the DTSEN decile decisions.

Each page works within the admin's scope (a regency admin the regency, an agency admin their agency) and reads
through sponsorship.dashboard.selectors; writes go through the people services.
"""

import datetime as dt

from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from backend.api.errors import ApplicationError
from backend.formats import period_label
from sponsorship.core.audit import audit_record
from sponsorship.core.periods import add_months, local_today, month_end, month_start
from sponsorship.dashboard import selectors as dashboard
from sponsorship.dashboard.selectors.bpjs import counted_by_bpjs
from sponsorship.dashboard.selectors.deciles import decile_rounds, decile_worklist, flagged_workers
from sponsorship.dashboard.selectors.map import coverage_map, map_filters, scope_for_agency, village_detail
from sponsorship.dashboard.selectors.money import arrears_worklist, money_by_month
from sponsorship.people.services.deciles import decile_cutoff, decile_review_decide

from .maps import svg_layout
from .views import admin_page


def _map_context(scope, district: str, *, width: int = 640, max_height: int = 640) -> dict:
    data = coverage_map(scope, district_code=district)
    return {"map": svg_layout(data["points"], width=width, max_height=max_height), "unplaced": data["unplaced"]}


@admin_page
def map_page(request, scope):
    narrowed = scope_for_agency(scope, request.GET.get("agency", ""))
    district = request.GET.get("district", "")
    return render(
        request,
        "dashboard/map.html",
        {
            "scope": scope,
            "nav": "map",
            "filters": map_filters(scope),
            "agency_id": narrowed.agency.pk if narrowed.agency and scope.agency is None else None,
            "district": district,
            **_map_context(narrowed, district),
        },
    )


@admin_page
def map_village(request, scope, code):
    narrowed = scope_for_agency(scope, request.GET.get("agency", ""))
    return JsonResponse(village_detail(narrowed, request.user, code))


def _report_month(text: str) -> dt.date:
    """?month=YYYY-MM; by default the last complete month (a monthly report is made after the month ends)."""
    if not text:
        return add_months(month_start(local_today()), -1)
    try:
        return dt.datetime.strptime(text, "%Y-%m").date()  # noqa: DTZ007 - a calendar month
    except ValueError:
        raise Http404 from None


@admin_page
def monthly_report(request, scope):
    """One A4 page for the regent's office or the BPJS branch: the regency, or one agency (?agency=id)."""
    narrowed = scope_for_agency(scope, request.GET.get("agency", ""))
    month = _report_month(request.GET.get("month", ""))
    money = money_by_month(narrowed, today=min(month_end(month), local_today()), months=1)[-1]
    arrears = arrears_worklist(narrowed)
    regency_scope = dashboard.AdminScope(regency=scope.regency, agency=None, user=scope.user)
    league = dashboard.agency_league(regency_scope if narrowed.agency else narrowed)
    own_rank = next((r["rank"] for r in league if narrowed.agency and r["agency_id"] == narrowed.agency.pk), None)
    audit_record(
        actor=request.user,
        action="export.report",
        object_type="dashboard.monthly_report",
        object_id=narrowed.agency.pk if narrowed.agency else scope.regency.code,
        extra={"month": month.isoformat(), "agency": narrowed.agency.pk if narrowed.agency else None},
        ip=request.META.get("REMOTE_ADDR"),
    )
    return render(
        request,
        "dashboard/report_monthly.html",
        {
            "scope": narrowed,
            "month": month,
            "month_label": period_label(month),
            "generated": local_today(),
            "headline": dashboard.headline(narrowed),
            "counted": counted_by_bpjs(narrowed),
            "money": money,
            "arrears_total": sum(r["amount_idr"] for r in arrears),
            "arrears_sponsors": len(arrears),
            "arrears_top": arrears[:5],
            "league": [] if narrowed.agency else league[:10],
            "league_size": len(league),
            "own_rank": own_rank,
            "agencies": [] if scope.agency else map_filters(scope)["agencies"],
            "month_value": f"{month:%Y-%m}",
            **_map_context(narrowed, "", width=330, max_height=300),
        },
    )


@admin_page
def deciles(request, scope):
    return render(
        request,
        "dashboard/deciles.html",
        {
            "scope": scope,
            "nav": "deciles",
            "workers": decile_worklist(scope),
            "rounds": decile_rounds(scope),
            "cutoff": decile_cutoff(scope.regency),
        },
    )


@require_POST
@admin_page
def decile_decide(request, scope, worker_id):
    worker = get_object_or_404(flagged_workers(scope), pk=worker_id)
    try:
        decile_review_decide(
            worker=worker,
            decision=request.POST.get("decision", ""),
            actor=request.user,
            ip=request.META.get("REMOTE_ADDR"),
        )
        messages.success(request, _("Decision saved."))
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    return redirect("dashboard:deciles")
