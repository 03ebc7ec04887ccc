"""/api/v1/admin/imports/...: roster imports (upload → report → confirm) and their templates."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api.errors import ApplicationError
from sponsorship.dashboard.models import ImportBatch
from sponsorship.dashboard.selectors import admin_scope
from sponsorship.dashboard.services import imports
from sponsorship.people.api.permissions import IsAdmin


class UploadInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ImportBatch.Kind.choices)
    file = serializers.FileField()


class ConfirmInput(serializers.Serializer):
    mode = serializers.ChoiceField(choices=ImportBatch.Mode.choices, default=ImportBatch.Mode.ALL)


class ProblemOutput(serializers.Serializer):
    row = serializers.IntegerField()
    column = serializers.CharField(allow_blank=True)
    problem = serializers.CharField()


class ProgressOutput(serializers.Serializer):
    done = serializers.IntegerField(help_text="Rows written so far")
    total = serializers.IntegerField(help_text="Rows to write")


class BatchOutput(serializers.ModelSerializer):
    problems = ProblemOutput(many=True)
    error_rows = serializers.IntegerField()
    progress = serializers.SerializerMethodField()

    @extend_schema_field(ProgressOutput)
    def get_progress(self, obj) -> dict:
        return imports.import_progress(obj)

    class Meta:
        model = ImportBatch
        fields = [
            "id",
            "kind",
            "status",
            "mode",
            "file_name",
            "total_rows",
            "valid_rows",
            "error_rows",
            "problems",
            "result",
            "report",
            "progress",
            "created_at",
            "applied_at",
        ]


def batches_for(user):
    """Admins see the batches of their own scope (a regency admin: the regency's; an agency admin: their agency's)."""
    scope = admin_scope(user)
    qs = ImportBatch.objects.filter(regency=scope.regency)
    return qs.filter(agency=scope.agency) if scope.agency else qs


class ImportListCreate(APIView):
    permission_classes = [IsAdmin]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(responses=BatchOutput(many=True), summary="Recent imports in my scope")
    def get(self, request):
        return Response(BatchOutput(batches_for(request.user)[:50], many=True).data)

    @extend_schema(
        request={"multipart/form-data": UploadInput},
        responses={201: BatchOutput},
        summary="Upload a roster (XLSX/CSV): validates every row, stores a batch, writes nothing else",
    )
    def post(self, request):
        data = UploadInput(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        batch = imports.import_preview(
            actor=request.user,
            scope=admin_scope(request.user),
            kind=data.validated_data["kind"],
            file_name=upload.name,
            content=imports.upload_content(upload),
            ip=request.META.get("REMOTE_ADDR"),
        )
        return Response(BatchOutput(batch).data, status=status.HTTP_201_CREATED)


class ImportDetail(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=BatchOutput, summary="An import's report (row, column, problem)")
    def get(self, request, pk: int):
        return Response(BatchOutput(get_object_or_404(batches_for(request.user), pk=pk)).data)

    @extend_schema(request=None, responses=BatchOutput, summary="Discard a previewed import")
    def delete(self, request, pk: int):
        batch = get_object_or_404(batches_for(request.user), pk=pk)
        imports.import_discard(batch=batch, actor=request.user, ip=request.META.get("REMOTE_ADDR"))
        return Response(BatchOutput(batch).data)


class ImportConfirm(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        request=ConfirmInput,
        responses={200: BatchOutput, 202: BatchOutput},
        summary="Apply a previewed import: mode all (all-or-nothing, default) or valid_only",
        description=(
            "The rows are written by a background task: 202 with status `applying` and `progress` while it runs "
            "(poll the import), 200 when it has finished. Confirming again while it runs answers the same batch."
        ),
    )
    def post(self, request, pk: int):
        batch = get_object_or_404(batches_for(request.user), pk=pk)
        data = ConfirmInput(data=request.data)
        data.is_valid(raise_exception=True)
        imports.import_confirm_request(
            batch=batch, actor=request.user, mode=data.validated_data["mode"], ip=request.META.get("REMOTE_ADDR")
        )
        batch.refresh_from_db()
        if batch.status == ImportBatch.Status.PREVIEWED and batch.result.get("rolled_back"):
            # eager run (no broker): the all-or-nothing apply already failed and was rolled back
            raise ApplicationError(
                _("The import was rolled back: a row failed while saving. See the report."),
                code="rolled_back",
                status_code=409,
                extra={"problems": batch.result.get("late_problems", [])},
            )
        code = status.HTTP_202_ACCEPTED if batch.status == ImportBatch.Status.APPLYING else status.HTTP_200_OK
        return Response(BatchOutput(batch).data, status=code)


@extend_schema(
    parameters=[OpenApiParameter("download", str, enum=["xlsx", "csv"], required=False)],
    responses={
        (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): OpenApiTypes.BINARY,
        (200, "text/csv"): OpenApiTypes.BINARY,
    },
    summary="Download an empty import template (Indonesian headers, instructions sheet)",
)
class ImportTemplate(APIView):
    permission_classes = [IsAdmin]

    def get(self, request, kind: str):
        if kind not in ImportBatch.Kind.values:
            raise ApplicationError(_("Unknown template kind."), status_code=404, code="not_found")
        return template_response(kind, request.query_params.get("download", "xlsx"))


def template_response(kind: str, fmt: str) -> HttpResponse:
    if fmt == "csv":
        response = HttpResponse(imports.template_csv(kind), content_type="text/csv; charset=utf-8")
    else:
        fmt = "xlsx"
        response = HttpResponse(
            imports.template_xlsx(kind),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response["Content-Disposition"] = f'attachment; filename="templat-impor-{kind}.{fmt}"'
    return response
