"""Bridge fund pools for regency admins: register, edit, top up, read the monthly statement (thin: rules live in
services/bridge.py)."""

import csv
import datetime as dt

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api.errors import ApplicationError
from sponsorship.billing.models import BridgePool, PoolEntry
from sponsorship.billing.services import bridge as bridge_services
from sponsorship.core.periods import local_today, month_start
from sponsorship.people.api.permissions import IsRegencyAdmin
from sponsorship.people.scoping import admin_regency_id, scope
from sponsorship.regions.models import Region


class PoolOut(serializers.ModelSerializer):
    occupations: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    areas: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = BridgePool
        fields = [
            "id",
            "kind",
            "name",
            "contact_name",
            "contact_email",
            "manager",
            "balance_idr",
            "decile_max",
            "occupations",
            "areas",
            "max_months_per_worker",
            "days_before_lapse",
            "priority",
            "active",
            "created_at",
        ]


class PoolIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=BridgePool.Kind.choices)
    name = serializers.CharField(max_length=150)
    contact_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    contact_email = serializers.EmailField(required=False, allow_blank=True)
    manager_id = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    decile_max = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=10)
    occupation_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False)
    area_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False)
    max_months_per_worker = serializers.IntegerField(required=False, min_value=1, max_value=12)
    days_before_lapse = serializers.IntegerField(required=False, min_value=0, max_value=31)
    priority = serializers.IntegerField(required=False, min_value=-100, max_value=100)
    active = serializers.BooleanField(required=False)

    def validate_manager_id(self, value):
        from django.contrib.auth import get_user_model

        if value is not None and not get_user_model().objects.filter(pk=value, is_active=True).exists():
            raise serializers.ValidationError(_("Unknown user."))
        return value


class TopUpIn(serializers.Serializer):
    amount_idr = serializers.IntegerField(min_value=1, max_value=10_000_000_000)
    reference = serializers.CharField(max_length=120, required=False, allow_blank=True)
    note = serializers.CharField(max_length=255, required=False, allow_blank=True)


class EntryOut(serializers.ModelSerializer):
    invoice_number = serializers.CharField(source="invoice.number", default="")

    class Meta:
        model = PoolEntry
        fields = ["id", "kind", "amount_idr", "invoice_number", "reference", "note", "created_at"]


def _regency(request) -> Region:
    regency_id = admin_regency_id(request.user)
    if regency_id is None:
        regency_id = request.data.get("regency_id") if hasattr(request, "data") else None
    regency = (
        Region.objects.filter(pk=regency_id, level=Region.Level.REGENCY).first() if regency_id is not None else None
    )
    if regency is None:
        raise ApplicationError(_("Choose the regency this pool belongs to."), code="invalid")
    return regency


def access_pool(user, pk) -> BridgePool:
    return get_object_or_404(scope(BridgePool.objects.all(), user), pk=pk)


def _split(data: dict) -> tuple[dict, list | None, list | None]:
    values = dict(data)
    return values, values.pop("occupation_ids", None), values.pop("area_ids", None)


class PoolList(APIView):
    permission_classes = [IsRegencyAdmin]

    @extend_schema(responses=PoolOut(many=True), summary="The regency's bridge fund pools")
    def get(self, request):
        pools = scope(BridgePool.objects.all(), request.user).prefetch_related("occupations", "areas")
        return Response(PoolOut(pools.order_by("-priority", "pk"), many=True).data)

    @extend_schema(request=PoolIn, responses={201: PoolOut}, summary="Register a bridge fund pool (audited)")
    def post(self, request):
        data = PoolIn(data=request.data)
        data.is_valid(raise_exception=True)
        values, occupations, areas = _split(data.validated_data)
        pool = bridge_services.pool_create(
            regency=_regency(request),
            actor=request.user,
            occupation_ids=occupations,
            area_ids=areas,
            ip=request.META.get("REMOTE_ADDR"),
            **values,
        )
        return Response(PoolOut(pool).data, status=status.HTTP_201_CREATED)


class PoolDetail(APIView):
    permission_classes = [IsRegencyAdmin]

    @extend_schema(responses=PoolOut, summary="One bridge fund pool")
    def get(self, request, pk):
        return Response(PoolOut(access_pool(request.user, pk)).data)

    @extend_schema(request=PoolIn(partial=True), responses=PoolOut, summary="Change a pool's rules or contact")
    def patch(self, request, pk):
        pool = access_pool(request.user, pk)
        data = PoolIn(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values, occupations, areas = _split(data.validated_data)
        pool = bridge_services.pool_update(
            pool=pool,
            actor=request.user,
            occupation_ids=occupations,
            area_ids=areas,
            ip=request.META.get("REMOTE_ADDR"),
            **values,
        )
        return Response(PoolOut(pool).data)


class PoolTopUp(APIView):
    permission_classes = [IsRegencyAdmin]

    @extend_schema(request=TopUpIn, responses={201: EntryOut}, summary="Record money received into a pool")
    def post(self, request, pk):
        pool = access_pool(request.user, pk)
        data = TopUpIn(data=request.data)
        data.is_valid(raise_exception=True)
        entry = bridge_services.pool_top_up(
            pool=pool, actor=request.user, ip=request.META.get("REMOTE_ADDR"), **data.validated_data
        )
        return Response(EntryOut(entry).data, status=status.HTTP_201_CREATED)


def parse_month(value: str | None) -> dt.date:
    if not value:
        return month_start(local_today())
    try:
        year, month = value.split("-")
        return dt.date(int(year), int(month), 1)
    except ValueError:
        raise ApplicationError(_("Month must look like 2026-07."), code="invalid") from None


def statement_csv(statement: dict) -> HttpResponse:
    pool, month = statement["pool"], statement["month"]
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="talangan-{pool.pk}-{month:%Y-%m}.csv"'
    writer = csv.writer(response)
    writer.writerow(["Dana", pool.name, "Bulan", f"{month:%Y-%m}"])
    writer.writerow(["Saldo awal", statement["opening_idr"]])
    writer.writerow(["Tanggal", "Jenis", "Jumlah (Rp)", "Referensi", "Pekerja #", "Nama depan", "Bulan premi"])
    for r in statement["rows"]:
        writer.writerow(
            [
                r["date"].isoformat(),
                r["kind"],
                r["amount_idr"],
                r["reference"],
                r["worker_id"] or "",
                r["worker_first_name"],
                f"{r['month']:%Y-%m}" if r["month"] else "",
            ]
        )
    writer.writerow(["Saldo akhir", statement["closing_idr"]])
    return response


class StatementRowOut(serializers.Serializer):
    date = serializers.DateField()
    kind = serializers.CharField()
    amount_idr = serializers.IntegerField()
    reference = serializers.CharField()
    worker_id = serializers.IntegerField(allow_null=True)
    worker_first_name = serializers.CharField()
    month = serializers.CharField(allow_null=True)


class StatementOut(serializers.Serializer):
    pool = serializers.IntegerField()
    month = serializers.CharField()
    opening_idr = serializers.IntegerField()
    closing_idr = serializers.IntegerField()
    paid_idr = serializers.IntegerField()
    worker_months = serializers.IntegerField()
    rows = StatementRowOut(many=True)


class PoolStatement(APIView):
    permission_classes = [IsRegencyAdmin]

    @extend_schema(
        responses=StatementOut,
        parameters=[
            OpenApiParameter("month", str, description="YYYY-MM (default: this month)"),
            OpenApiParameter("download", str, description="csv: the statement file"),
        ],
        summary="A pool's monthly statement: opening and closing balance, top-ups, months paid",
    )
    def get(self, request, pk):
        pool = access_pool(request.user, pk)
        statement = bridge_services.pool_statement(pool=pool, month=parse_month(request.query_params.get("month")))
        if request.query_params.get("download") == "csv":
            return statement_csv(statement)
        return Response(
            {
                "pool": pool.pk,
                "month": f"{statement['month']:%Y-%m}",
                "opening_idr": statement["opening_idr"],
                "closing_idr": statement["closing_idr"],
                "paid_idr": statement["paid_idr"],
                "worker_months": statement["worker_months"],
                "rows": [
                    {
                        **r,
                        "date": r["date"].isoformat(),
                        "month": f"{r['month']:%Y-%m}" if r["month"] else None,
                    }
                    for r in statement["rows"]
                ],
            }
        )
