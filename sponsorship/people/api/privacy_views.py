"""Data-subject requests (UU PDP): a worker exports or deletes their own data; an admin does it on their behalf."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api.errors import ApplicationError
from sponsorship.people.api.permissions import IsAdmin, IsRegencyAdmin, IsWorker
from sponsorship.people.models import PersonalDataAccess, Worker
from sponsorship.people.scoping import access_worker
from sponsorship.people.services.privacy import worker_anonymise, worker_data_export

ExportOut = inline_serializer(
    "WorkerDataExport",
    {
        "generated_at": serializers.DateTimeField(),
        "worker": serializers.DictField(),
        "consents": serializers.ListField(child=serializers.DictField()),
        "sponsorships": serializers.ListField(child=serializers.DictField()),
        "coverage_months": serializers.ListField(child=serializers.DictField()),
        "notifications": serializers.ListField(child=serializers.DictField()),
        "processing_log": serializers.ListField(child=serializers.DictField()),
    },
)
ErasedOut = inline_serializer(
    "WorkerErased",
    {
        "worker_id": serializers.IntegerField(),
        "anonymized_at": serializers.DateTimeField(),
        "full_name": serializers.CharField(),
    },
)


class EraseIn(serializers.Serializer):
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    confirm = serializers.BooleanField()


def _own_worker(request) -> Worker:
    worker = Worker.objects.select_related("occupation", "village").filter(user=request.user).first()
    if worker is None:
        raise ApplicationError(_("This account is not a worker account."), code="not_a_worker", status_code=403)
    return worker


def _confirmed(request) -> dict:
    data = EraseIn(data=request.data)
    data.is_valid(raise_exception=True)
    if not data.validated_data["confirm"]:
        raise ApplicationError(
            _("Deletion must be confirmed (confirm: true)."), extra={"fields": {"confirm": ["true"]}}
        )
    return data.validated_data


def _erased(worker) -> Response:
    return Response({"worker_id": worker.pk, "anonymized_at": worker.anonymized_at, "full_name": worker.full_name})


class MyDataView(APIView):
    permission_classes = [IsWorker]

    @extend_schema(responses=ExportOut, summary="Export all my personal data (UU PDP right of access)")
    def get(self, request):
        return Response(
            worker_data_export(worker=_own_worker(request), actor=request.user, ip=request.META.get("REMOTE_ADDR"))
        )


class MyDataEraseView(APIView):
    permission_classes = [IsWorker]

    @extend_schema(
        request=EraseIn,
        responses={200: ErasedOut, 400: OpenApiResponse(description="not confirmed")},
        summary="Delete my personal data (anonymise; payment records are kept)",
    )
    def post(self, request):
        data = _confirmed(request)
        worker = worker_anonymise(
            worker=_own_worker(request),
            actor=request.user,
            reason=data["reason"] or "data subject request (self)",
            ip=request.META.get("REMOTE_ADDR"),
        )
        return _erased(worker)


class AdminWorkerDataView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "purpose",
                str,
                enum=PersonalDataAccess.Purpose.values,
                required=False,
                description="Why the clear NIK and phone are read (default data_subject_request); "
                "written to the personal-data access log",
            ),
            OpenApiParameter("note", str, required=False, description="Required with purpose=other"),
        ],
        responses=ExportOut,
        summary="Export a worker's data on their behalf (audited, and logged as a read of the clear NIK/phone)",
    )
    def get(self, request, pk: int):
        worker = access_worker(request.user, pk)
        return Response(
            worker_data_export(
                worker=worker,
                actor=request.user,
                on_behalf=True,
                ip=request.META.get("REMOTE_ADDR"),
                purpose=request.query_params.get("purpose", PersonalDataAccess.Purpose.DATA_SUBJECT_REQUEST),
                note=request.query_params.get("note", "")[:300],
            )
        )


class AdminWorkerAnonymiseView(APIView):
    """Regency admins only: the regency is the data controller; an agency admin cannot erase people."""

    permission_classes = [IsRegencyAdmin]

    @extend_schema(request=EraseIn, responses={200: ErasedOut}, summary="Anonymise a worker on their request")
    def post(self, request, pk: int):
        data = _confirmed(request)
        worker = worker_anonymise(
            worker=access_worker(request.user, pk),
            actor=request.user,
            reason=data["reason"] or "data subject request (on behalf)",
            ip=request.META.get("REMOTE_ADDR"),
        )
        return _erased(worker)
