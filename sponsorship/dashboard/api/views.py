"""/api/v1/admin/dashboard/...: the dashboard's figures as JSON (scoped); each table also as ?download=xlsx|csv."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from sponsorship.dashboard import selectors as dashboard
from sponsorship.dashboard.api import serializers as out
from sponsorship.dashboard.selectors.areas import area_figures, area_scope
from sponsorship.dashboard.services.actions import arrears_remind
from sponsorship.dashboard.services.exports import table_export
from sponsorship.people.api.permissions import IsAdmin, IsAreaAdmin

DOWNLOAD = OpenApiParameter(
    "download",
    str,
    enum=["xlsx", "csv"],
    required=False,
    description="Download the table as a spreadsheet instead of JSON (written to the audit log)",
)
SEP = OpenApiParameter(
    "sep",
    str,
    enum=["comma", "semicolon"],
    required=False,
    description="With download=csv: the column separator; semicolon for Excel in an Indonesian locale",
)
REGENCY = OpenApiParameter("regency", str, required=False, description="Superusers only: regency code, e.g. 35.02")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def table_responses(serializer) -> dict:
    """JSON by default; the same table as a file with ?download=xlsx|csv."""
    return {
        (200, "application/json"): serializer,
        (200, XLSX): OpenApiTypes.BINARY,
        (200, "text/csv"): OpenApiTypes.BINARY,
    }


def export_response(export) -> HttpResponse:
    response = HttpResponse(export.content, content_type=export.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.file_name}"'
    return response


def scope_of(request):
    return dashboard.admin_scope(request.user, regency_code=request.query_params.get("regency"))


class TableView(APIView):
    """Serves one named dashboard table as JSON, or as a file with ?download=xlsx|csv."""

    permission_classes = [IsAdmin]
    table: str = ""

    def table_name(self, request) -> str:
        return self.table

    def get(self, request):
        scope = scope_of(request)
        name = self.table_name(request)
        params = {k: v for k, v in request.query_params.items() if k not in ("download", "regency", "sep")}
        table = dashboard.build_table(name, scope, params)
        fmt = request.query_params.get("download")
        if fmt:
            return export_response(
                table_export(
                    actor=request.user,
                    table=table,
                    fmt=fmt,
                    filters=params,
                    ip=request.META.get("REMOTE_ADDR"),
                    sep=request.query_params.get("sep", "comma"),
                )
            )
        return Response(
            {
                "scope": scope.label,
                "table": table.name,
                "title": table.title,
                "columns": [{"key": k, "label": h} for k, h in table.columns],
                "rows": table.rows,
                **dashboard.table_extra(name, scope, params),
            }
        )


@extend_schema(
    parameters=[REGENCY], responses=out.Summary, summary="Headline figures for the admin's regency or agency"
)
class SummaryView(APIView):
    permission_classes = [IsAdmin]

    def get(self, request):
        scope = scope_of(request)
        data = dashboard.cached(scope, "headline", {}, lambda: dashboard.headline(scope))
        data["on_time"] = dashboard.table_extra("money", scope).get("on_time")
        return Response(data)


@extend_schema(
    parameters=[REGENCY, DOWNLOAD, SEP],
    responses=table_responses(out.AgencyTable),
    summary="Agencies (OPD) league table",
)
class AgencyLeagueView(TableView):
    table = "agencies"


@extend_schema(
    parameters=[
        REGENCY,
        DOWNLOAD,
        SEP,
        OpenApiParameter("district", str, required=False, description="Kecamatan code: its villages instead"),
    ],
    responses=table_responses(out.CoverageTable),
    summary="Coverage per kecamatan (or per village of ?district=) against the village targets",
)
class CoverageView(TableView):
    def table_name(self, request):
        return "coverage_villages" if request.query_params.get("district") else "coverage_districts"


@extend_schema(
    parameters=[REGENCY, DOWNLOAD, SEP],
    responses=table_responses(out.MoneyTable),
    summary="Money per month over 12 months (expected, collected, remitted, outstanding), on-time rate",
)
class MoneyView(TableView):
    table = "money"


@extend_schema(
    parameters=[REGENCY, DOWNLOAD, SEP],
    responses=table_responses(out.ArrearsTable),
    summary="Arrears worklist: who, how much, since when, last reminder",
)
class ArrearsView(TableView):
    table = "arrears"


@extend_schema(
    parameters=[
        REGENCY,
        DOWNLOAD,
        SEP,
        OpenApiParameter("days", int, required=False, description="Horizon in days (default 30, at most 90)"),
    ],
    responses=table_responses(out.AtRiskTable),
    summary="Workers at risk of losing protection: days left, why, what has been done",
)
class AtRiskView(TableView):
    table = "at_risk"


@extend_schema(
    parameters=[REGENCY, DOWNLOAD, SEP],
    responses=table_responses(out.BenefitsTable),
    summary="JKK/JKM benefits received per kecamatan, with the regency total",
)
class BenefitsView(TableView):
    table = "benefits"


@extend_schema(
    request=None,
    parameters=[REGENCY],
    responses=out.RemindResult,
    summary="Send an overdue reminder to one ASN of the worklist",
)
class ArrearsRemindView(APIView):
    permission_classes = [IsAdmin]

    def post(self, request, sponsor_id: int):
        result = arrears_remind(
            scope=scope_of(request), sponsor_id=sponsor_id, actor=request.user, ip=request.META.get("REMOTE_ADDR")
        )
        return Response(result)


@extend_schema(
    parameters=[
        OpenApiParameter(
            "province", str, required=False, description="National admins: one province's regencies, e.g. 35"
        )
    ],
    responses=out.AreaSummary,
    summary="Province or national figures: per regency (or province) rows and their totals, aggregates only",
)
class AreaSummaryView(APIView):
    permission_classes = [IsAreaAdmin]

    def get(self, request):
        area = area_scope(request.user, province_code=request.query_params.get("province"))
        return Response(area_figures(area))
