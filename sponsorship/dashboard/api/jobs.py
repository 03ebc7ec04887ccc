"""/api/v1/admin/jobs/...: long work as background jobs (exports, the remittance file), their progress and file.

A job and its file are the requester's only: another admin, even of the same regency, gets a 404.
"""

from django.http import FileResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api.errors import ApplicationError
from sponsorship.dashboard.models import Job
from sponsorship.dashboard.selectors import admin_scope
from sponsorship.dashboard.services import jobs
from sponsorship.people.api.permissions import IsAdmin


class JobInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Job.Kind.choices)
    table = serializers.CharField(required=False, help_text="export: a dashboard table, e.g. agencies, arrears")
    format = serializers.ChoiceField(choices=["xlsx", "csv"], default="xlsx", help_text="export: the file format")
    sep = serializers.ChoiceField(choices=["comma", "semicolon"], default="comma", help_text="export, csv only")
    filters = serializers.DictField(child=serializers.CharField(), required=False, default=dict)
    period = serializers.CharField(required=False, help_text="remittance: the coverage month, YYYY-MM")
    regency = serializers.CharField(required=False, help_text="Superusers only: regency code, e.g. 35.02")


class JobProgress(serializers.Serializer):
    done = serializers.IntegerField()
    total = serializers.IntegerField()
    stage = serializers.CharField()


class JobOutput(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    @extend_schema_field(JobProgress)
    def get_progress(self, obj) -> dict:
        return jobs.job_progress(obj)

    def get_download_url(self, obj) -> str | None:
        return f"/api/v1/admin/jobs/{obj.pk}/download/" if obj.status == Job.Status.DONE and obj.file else None

    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "status",
            "params",
            "progress",
            "error",
            "result",
            "file_name",
            "download_url",
            "attempts",
            "created_at",
            "finished_at",
        ]


def jobs_of(user):
    return Job.objects.filter(requested_by=user)


class JobListCreate(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=JobOutput(many=True), summary="My recent background jobs")
    def get(self, request):
        return Response(JobOutput(jobs_of(request.user)[:50], many=True).data)

    @extend_schema(
        request=JobInput,
        responses={202: JobOutput, 200: JobOutput},
        summary="Ask for an export or the remittance file; a task prepares it (poll the job, then download)",
        description=(
            "202 with status `queued` or `running` and `progress` {done, total, stage}; asking again for the same "
            "thing while it runs answers the same job. 200 when it has already finished (no broker: it ran "
            "in-process). The remittance file is for superusers only."
        ),
    )
    def post(self, request):
        data = JobInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        kind = values.pop("kind")
        scope = admin_scope(request.user, regency_code=values.pop("regency", None))
        params = (
            {k: values.get(k) for k in ("table", "format", "sep", "filters")}
            if kind == Job.Kind.EXPORT
            else {"period": values.get("period")}
        )
        job, _created = jobs.job_request(actor=request.user, scope=scope, kind=kind, params=params)
        job.refresh_from_db()
        code = status.HTTP_202_ACCEPTED if job.status in Job.ACTIVE else status.HTTP_200_OK
        return Response(JobOutput(job).data, status=code)


class JobDetail(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=JobOutput, summary="A background job: status, progress, result")
    def get(self, request, pk: int):
        return Response(JobOutput(get_object_or_404(jobs_of(request.user), pk=pk)).data)


class JobDownload(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY}, summary="A job's file")
    def get(self, request, pk: int):
        job = get_object_or_404(jobs_of(request.user), pk=pk)
        if job.status != Job.Status.DONE or not job.file:
            raise ApplicationError(_("The file is not ready yet."), code="not_ready", status_code=409)
        return FileResponse(
            job.file.open("rb"), as_attachment=True, filename=job.file_name, content_type=job.content_type
        )
