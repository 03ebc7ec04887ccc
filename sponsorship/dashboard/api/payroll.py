"""/api/v1/admin/payroll/...: payroll deduction for HR admins (docs/payroll.md), scoped like the dashboard:
an agency admin sees and acts on their own agency only, a regency admin on the regency's agencies.

consents (paper forms with their scan), the monthly lists (produce, download for the treasurer, mark sent),
the treasurer's confirmation (upload → report → confirm), the bank's transfers, and the overview figures.
"""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api.errors import ApplicationError
from sponsorship.billing.api.payroll import ConsentOut
from sponsorship.billing.models import (
    PayrollConfirmation,
    PayrollConsent,
    PayrollDeduction,
    PayrollList,
    PayrollTransfer,
)
from sponsorship.billing.selectors import payroll as payroll_reads
from sponsorship.billing.services import payroll as payroll_services
from sponsorship.billing.services import payroll_settle
from sponsorship.dashboard.models import ImportBatch
from sponsorship.dashboard.selectors import admin_scope
from sponsorship.dashboard.selectors.payroll import payroll_overview
from sponsorship.dashboard.services import payroll_import
from sponsorship.dashboard.services.imports import upload_content
from sponsorship.people.api.permissions import IsAdmin, IsRegencyAdmin
from sponsorship.people.models import Agency, Sponsor
from sponsorship.people.scoping import scope as scoped


# ---- serializers ----------------------------------------------------------------------------------------------
class AdminConsentOut(ConsentOut):
    sponsor_id = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    sponsor_name = serializers.CharField(source="sponsor.full_name")
    has_scan = serializers.SerializerMethodField()

    def get_has_scan(self, obj) -> bool:
        return bool(obj.scan_sha256)

    class Meta(ConsentOut.Meta):
        fields = [*ConsentOut.Meta.fields, "sponsor_id", "sponsor_name", "has_scan", "scan_sha256"]


class PaperConsentIn(serializers.Serializer):
    sponsor_id = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    kind = serializers.ChoiceField(choices=PayrollConsent.Kind.choices)
    start_month = serializers.DateField(required=False)
    golongan = serializers.CharField(max_length=10, required=False, allow_blank=True, default="")
    account_number = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")
    scan = serializers.FileField(help_text="Scan of the signed form: PDF, JPEG or PNG, at most 2 MB")


class ListOut(serializers.ModelSerializer):
    agency_name = serializers.CharField(source="agency.name")

    class Meta:
        model = PayrollList
        fields = [
            "id",
            "agency_id",
            "agency_name",
            "payroll_month",
            "status",
            "rows_count",
            "total_idr",
            "produced_at",
            "sent_at",
            "returned_at",
        ]


class RowOut(serializers.ModelSerializer):
    excess_idr = serializers.SerializerMethodField(help_text="Deducted above the bill: owed back to the ASN")

    def get_excess_idr(self, obj) -> int:
        return max((obj.deducted_idr or 0) - obj.amount_idr, 0)

    class Meta:
        model = PayrollDeduction
        fields = [
            "id",
            "sponsor_id",
            "nip",
            "full_name",
            "golongan",
            "account_number",
            "kind",
            "amount_idr",
            "status",
            "deducted_idr",
            "excess_idr",
            "transfer_reference",
            "transfer_date",
            "invoice_id",
            "fallback_sent_at",
        ]


class ListDetailOut(ListOut):
    rows = RowOut(many=True)

    class Meta(ListOut.Meta):
        fields = [*ListOut.Meta.fields, "rows"]


class ProduceIn(serializers.Serializer):
    agency_id = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    payroll_month = serializers.CharField(help_text="YYYY-MM")


class ProblemOut(serializers.Serializer):
    row = serializers.IntegerField()
    column = serializers.CharField(allow_blank=True)
    problem = serializers.CharField()


class ProgressOut(serializers.Serializer):
    done = serializers.IntegerField()
    total = serializers.IntegerField()


class ConfirmationOut(serializers.ModelSerializer):
    problems = ProblemOut(many=True)
    valid_rows = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()
    status_url = serializers.SerializerMethodField()

    def get_valid_rows(self, obj) -> int:
        return len(obj.rows)

    @extend_schema_field(ProgressOut)
    def get_progress(self, obj) -> dict:
        return payroll_settle.payroll_confirmation_progress(obj)

    def get_status_url(self, obj) -> str:
        return reverse("admin-payroll-confirmation", kwargs={"pk": obj.pk})

    class Meta:
        model = PayrollConfirmation
        fields = [
            "id",
            "payroll_list_id",
            "status",
            "file_name",
            "total_rows",
            "valid_rows",
            "problems",
            "result",
            "progress",
            "status_url",
            "created_at",
            "confirmed_at",
            "applied_at",
        ]


class UploadIn(serializers.Serializer):
    file = serializers.FileField(help_text="XLSX or CSV with NIP, Jumlah, Referensi, Tanggal")


class ConfirmIn(serializers.Serializer):
    # The roster import's modes: all or nothing, or the valid rows only.
    mode = serializers.ChoiceField(choices=ImportBatch.Mode.choices, default=ImportBatch.Mode.ALL)


class TransferIn(serializers.Serializer):
    agency_id = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    payroll_month = serializers.CharField(help_text="YYYY-MM")
    amount_idr = serializers.IntegerField(min_value=1, max_value=10**12)
    reference = serializers.CharField(max_length=64)
    transfer_date = serializers.DateField()


class TransferOut(serializers.ModelSerializer):
    class Meta:
        model = PayrollTransfer
        fields = [
            "id",
            "agency_id",
            "payroll_month",
            "amount_idr",
            "reference",
            "transfer_date",
            "expected_idr",
            "matched",
            "recorded_at",
        ]


class SettingsIO(serializers.Serializer):
    list_day = serializers.IntegerField(min_value=1, max_value=28, required=False)
    cutoff_day = serializers.IntegerField(min_value=1, max_value=28, required=False)
    consent_text_version = serializers.CharField(max_length=20, required=False)


# ---- helpers --------------------------------------------------------------------------------------------------
def _agency(request, agency_id: int) -> Agency:
    """An agency in the caller's scope (404 otherwise: no existence leak)."""
    return get_object_or_404(admin_scope(request.user).agencies(), pk=agency_id)


def _ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR")


# ---- consents -------------------------------------------------------------------------------------------------
class AdminConsents(APIView):
    permission_classes = [IsAdmin]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(responses=AdminConsentOut(many=True), summary="Payroll deduction consents in my scope")
    def get(self, request):
        qs = payroll_reads.consents_for(request.user)
        if request.query_params.get("status"):
            qs = qs.filter(status=request.query_params["status"])
        return Response(AdminConsentOut(qs[:500], many=True).data)

    @extend_schema(
        request={"multipart/form-data": PaperConsentIn},
        responses={201: AdminConsentOut},
        summary="Record a paper consent form (with the scan of the signed form)",
    )
    def post(self, request):
        data = PaperConsentIn(data=request.data)
        data.is_valid(raise_exception=True)
        sponsor = get_object_or_404(
            scoped(Sponsor.objects.select_related("agency"), request.user), pk=data.validated_data["sponsor_id"]
        )
        upload = data.validated_data["scan"]
        if upload.size is None or upload.size > payroll_services.MAX_SCAN_BYTES:
            raise ApplicationError(_("The scan is too large (at most 2 MB)."), code="scan_too_large", status_code=413)
        consent = payroll_services.consent_create(
            sponsor=sponsor,
            kind=data.validated_data["kind"],
            actor=request.user,
            start_month=data.validated_data.get("start_month"),
            golongan=data.validated_data["golongan"],
            account_number=data.validated_data["account_number"],
            scan=upload.read(payroll_services.MAX_SCAN_BYTES + 1),
            scan_file_name=upload.name or "",
        )
        return Response(AdminConsentOut(consent).data, status=status.HTTP_201_CREATED)


class AdminConsentStop(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=None, responses=AdminConsentOut, summary="Stop a consent from the next payroll month")
    def post(self, request, pk: int):
        consent = payroll_reads.access_consent(request.user, pk)
        consent = payroll_services.consent_stop(consent=consent, actor=request.user)
        return Response(AdminConsentOut(consent).data)


class AdminConsentScan(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY}, summary="The signed form's scan")
    def get(self, request, pk: int):
        consent = payroll_reads.access_consent(request.user, pk)
        scan = type(consent).objects.filter(pk=consent.pk).values_list("scan", flat=True).first()
        if not scan:
            raise ApplicationError(_("This consent has no scan."), code="no_scan", status_code=404)
        response = HttpResponse(bytes(scan), content_type=consent.scan_content_type)
        response["Content-Disposition"] = f'attachment; filename="consent-{consent.pk}"'
        return response


# ---- lists ------------------------------------------------------------------------------------------------------
class AdminLists(APIView):
    permission_classes = [IsAdmin]
    # The project's defaults: JSON bounded in size and depth (a 100,000-deep body is a 400, not a RecursionError).

    @extend_schema(responses=ListOut(many=True), summary="Deduction lists in my scope")
    def get(self, request):
        qs = payroll_reads.lists_for(request.user)
        if request.query_params.get("payroll_month"):
            qs = qs.filter(payroll_month=payroll_import.parse_month(request.query_params["payroll_month"]))
        return Response(ListOut(qs[:200], many=True).data)

    @extend_schema(request=ProduceIn, responses={201: ListDetailOut}, summary="Produce (or re-produce) a draft list")
    def post(self, request):
        data = ProduceIn(data=request.data)
        data.is_valid(raise_exception=True)
        agency = _agency(request, data.validated_data["agency_id"])
        month = payroll_import.parse_month(data.validated_data["payroll_month"])
        payroll_list = payroll_services.payroll_list_produce(agency=agency, month=month, actor=request.user)
        return Response(ListDetailOut(payroll_list).data, status=status.HTTP_201_CREATED)


class AdminListDetail(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=ListDetailOut, summary="A deduction list with its rows")
    def get(self, request, pk: int):
        return Response(ListDetailOut(payroll_reads.access_list(request.user, pk)).data)


class AdminListFile(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        parameters=[OpenApiParameter("download", str, enum=["xlsx", "csv"], required=False)],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
        summary="The treasurer's file (NIP, Nama, Golongan, Jumlah, Rekening); the download is audited",
    )
    def get(self, request, pk: int):
        payroll_list = payroll_reads.access_list(request.user, pk)
        fmt = request.query_params.get("download", "xlsx")
        if fmt not in ("xlsx", "csv"):
            raise ApplicationError(_("Choose the format xlsx or csv."), code="invalid_format")
        content, content_type, name = payroll_services.payroll_list_file(
            payroll_list=payroll_list, fmt=fmt, actor=request.user
        )
        response = HttpResponse(content, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


class AdminListSend(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=None, responses=ListOut, summary="Mark the list sent to the treasurer (locks it)")
    def post(self, request, pk: int):
        payroll_list = payroll_reads.access_list(request.user, pk)
        return Response(ListOut(payroll_services.payroll_list_send(payroll_list=payroll_list, actor=request.user)).data)


# ---- the treasurer's confirmation -----------------------------------------------------------------------------
class AdminConfirmationUpload(APIView):
    permission_classes = [IsAdmin]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": UploadIn},
        responses={201: ConfirmationOut},
        summary="Upload the confirmation file: a row-level report, nothing settled until confirmed",
    )
    def post(self, request, pk: int):
        payroll_list = payroll_reads.access_list(request.user, pk)
        data = UploadIn(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        confirmation = payroll_import.confirmation_preview(
            payroll_list=payroll_list, file_name=upload.name, content=upload_content(upload), actor=request.user
        )
        return Response(ConfirmationOut(confirmation).data, status=status.HTTP_201_CREATED)


class AdminConfirmationDetail(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=ConfirmationOut, summary="A confirmation file's report (row, column, problem)")
    def get(self, request, pk: int):
        return Response(ConfirmationOut(get_object_or_404(payroll_reads.confirmations_for(request.user), pk=pk)).data)

    @extend_schema(request=None, responses=ConfirmationOut, summary="Discard a checked confirmation file")
    def delete(self, request, pk: int):
        confirmation = get_object_or_404(payroll_reads.confirmations_for(request.user), pk=pk)
        return Response(
            ConfirmationOut(payroll_import.confirmation_discard(confirmation=confirmation, actor=request.user)).data
        )


class AdminConfirmationConfirm(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        request=ConfirmIn,
        responses={200: ConfirmationOut, 202: ConfirmationOut},
        summary="Apply it: confirmed rows settle their invoices, the rest get a payment link",
        description=(
            "The rows are settled by a background task: 202 with status `applying`, `progress` and `status_url` "
            "(poll it) while it runs, 200 when it has finished. Confirming again while it runs answers the same file."
        ),
    )
    def post(self, request, pk: int):
        confirmation = get_object_or_404(payroll_reads.confirmations_for(request.user), pk=pk)
        data = ConfirmIn(data=request.data)
        data.is_valid(raise_exception=True)
        payroll_import.confirmation_confirm(
            confirmation=confirmation,
            actor=request.user,
            valid_only=data.validated_data["mode"] == ImportBatch.Mode.VALID_ONLY,
        )
        confirmation.refresh_from_db()
        applying = confirmation.status == PayrollConfirmation.Status.APPLYING
        body = ConfirmationOut(confirmation).data
        response = Response(body, status=status.HTTP_202_ACCEPTED if applying else status.HTTP_200_OK)
        if applying:
            response["Location"] = body["status_url"]
        return response


# ---- the bank's transfers -------------------------------------------------------------------------------------
class AdminTransfers(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=TransferOut(many=True), summary="Transfers from the regional bank in my scope")
    def get(self, request):
        return Response(TransferOut(payroll_reads.transfers_for(request.user)[:200], many=True).data)

    @extend_schema(
        request=TransferIn,
        responses={201: TransferOut},
        summary="Record money received from the regional bank; a mismatch with the confirmed rows is an alert",
    )
    def post(self, request):
        data = TransferIn(data=request.data)
        data.is_valid(raise_exception=True)
        transfer = payroll_settle.payroll_transfer_record(
            agency=_agency(request, data.validated_data["agency_id"]),
            month=payroll_import.parse_month(data.validated_data["payroll_month"]),
            amount_idr=data.validated_data["amount_idr"],
            reference=data.validated_data["reference"],
            transfer_date=data.validated_data["transfer_date"],
            actor=request.user,
        )
        return Response(TransferOut(transfer).data, status=status.HTTP_201_CREATED)


# ---- settings and overview --------------------------------------------------------------------------------------
class AdminPayrollSettings(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=SettingsIO, summary="The regency's payroll settings (list day, cut-off)")
    def get(self, request):
        return Response(SettingsIO(payroll_reads.payroll_settings_for(admin_scope(request.user).regency)).data)

    @extend_schema(request=SettingsIO, responses=SettingsIO, summary="Change them (regency admins)")
    def put(self, request):
        if not IsRegencyAdmin().has_permission(request, self):
            raise ApplicationError(
                _("Only a regency admin can change these settings."), code="forbidden", status_code=403
            )
        data = SettingsIO(data=request.data)
        data.is_valid(raise_exception=True)
        current = payroll_services.payroll_settings_update(
            regency=admin_scope(request.user).regency, actor=request.user, **data.validated_data
        )
        return Response(SettingsIO(current).data)


class AdminPayrollOverview(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        responses=OpenApiTypes.OBJECT,
        summary="Per agency: payroll vs gateway pledges, deductions expected vs confirmed, files not returned",
    )
    def get(self, request):
        return Response(payroll_overview(admin_scope(request.user)))
