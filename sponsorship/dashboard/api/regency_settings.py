"""/api/v1/admin/regency-settings/: a regency admin reads and edits their own regency's settings (zone, payday,
targets, schedule hours) and adds the regency's own premium rate rows. Checked and audited by the services."""

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from sponsorship.billing.models import FundingSource, Sector
from sponsorship.billing.services.premium_rates import premium_rate_create
from sponsorship.dashboard.selectors import admin_scope
from sponsorship.dashboard.selectors.regency_settings import regency_settings
from sponsorship.people.api.permissions import IsRegencyAdmin
from sponsorship.regions.models import RegencyConfig
from sponsorship.regions.services import regency_holidays_set, regency_settings_save


class HolidayInput(serializers.Serializer):
    date = serializers.DateField()
    name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")


class SettingsInput(serializers.Serializer):
    """Every field optional: only what is sent changes. Ranges are checked by the service (one set of rules
    for the API, the dashboard page and the Django admin)."""

    timezone = serializers.ChoiceField(choices=RegencyConfig.Zone.choices, required=False)
    matching_radius_m = serializers.IntegerField(required=False, min_value=-1, max_value=10_000_000)
    decline_cooldown_days = serializers.IntegerField(required=False, min_value=-1, max_value=10_000_000)
    village_target = serializers.IntegerField(required=False, min_value=-1, max_value=10_000_000)
    max_new_member_age = serializers.IntegerField(required=False, min_value=-1, max_value=10_000_000)
    decile_cutoff = serializers.IntegerField(required=False, allow_null=True, min_value=-1, max_value=10_000_000)
    dtsen_round_months = serializers.IntegerField(required=False, min_value=-1, max_value=10_000_000)
    bpjs_counted_months = serializers.IntegerField(required=False, min_value=-1, max_value=10_000_000)
    salary_day = serializers.IntegerField(required=False, min_value=-1, max_value=10_000_000)
    tpp_day = serializers.IntegerField(required=False, allow_null=True, min_value=-1, max_value=10_000_000)
    thr_month = serializers.IntegerField(required=False, allow_null=True, min_value=-1, max_value=10_000_000)
    thirteenth_month = serializers.IntegerField(required=False, allow_null=True, min_value=-1, max_value=10_000_000)
    payday_reminders = serializers.BooleanField(required=False)
    payday_shift = serializers.ChoiceField(choices=RegencyConfig.PaydayShift.choices, required=False)
    holidays = HolidayInput(  # type: ignore[call-arg]  # ListSerializer takes max_length; the stubs do not know
        many=True, required=False, max_length=400, help_text="Replaces the regency's holiday calendar when sent"
    )
    billing_hour = serializers.IntegerField(required=False, min_value=-1, max_value=10_000_000)
    reminder_hour = serializers.IntegerField(required=False, min_value=-1, max_value=10_000_000)


class RateInput(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    valid_from = serializers.DateField()
    valid_to = serializers.DateField(required=False, allow_null=True)
    sector = serializers.ChoiceField(choices=Sector.choices, default=Sector.ANY)
    funding_source = serializers.ChoiceField(choices=FundingSource.choices, default=FundingSource.ANY)
    # upper bounds keep a typing slip (or a fuzzer) from reaching the integer columns' limits
    declared_income_idr = serializers.IntegerField(default=1_000_000, min_value=1, max_value=1_000_000_000)
    jkk_rate_bp = serializers.IntegerField(default=100, min_value=0, max_value=10_000)
    jkm_idr = serializers.IntegerField(default=6_800, min_value=0, max_value=10_000_000)
    jht_rate_bp = serializers.IntegerField(default=200, min_value=0, max_value=10_000)
    discount_pct = serializers.IntegerField(default=0, min_value=0, max_value=100)
    priority = serializers.IntegerField(default=0, min_value=-1_000, max_value=1_000)
    legal_basis = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")


def _scope(request):
    return admin_scope(request.user, regency_code=request.query_params.get("regency"))


def _ip(request):
    return request.META.get("REMOTE_ADDR")


class RegencySettingsView(APIView):
    """Regency admins (their regency) and superusers (?regency=code); agency admins may not change a regency."""

    permission_classes = [IsRegencyAdmin]

    @extend_schema(responses={200: dict}, summary="The regency's settings, schedule and rates")
    def get(self, request):
        return Response(regency_settings(_scope(request).regency))

    @extend_schema(request=SettingsInput, responses={200: dict}, summary="Change the regency's settings")
    def patch(self, request):
        scope = _scope(request)
        data = SettingsInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        holidays = values.pop("holidays", None)
        with transaction.atomic():
            if values or holidays is None:
                regency_settings_save(regency=scope.regency, actor=request.user, ip=_ip(request), **values)
            if holidays is not None:
                regency_holidays_set(
                    regency=scope.regency,
                    holidays=[(h["date"], h.get("name") or "") for h in holidays],
                    actor=request.user,
                    ip=_ip(request),
                )
        return Response(regency_settings(scope.regency))

    put = patch


class RegencyRatesView(APIView):
    permission_classes = [IsRegencyAdmin]

    @extend_schema(
        request=RateInput,
        responses={201: {"type": "array", "items": {"type": "object"}}},
        summary="Add a premium rate row for this regency only; answers the regency's rate rows",
    )
    def post(self, request):
        scope = _scope(request)
        data = RateInput(data=request.data)
        data.is_valid(raise_exception=True)
        premium_rate_create(actor=request.user, ip=_ip(request), regency=scope.regency, **data.validated_data)
        return Response(regency_settings(scope.regency)["rates"], status=status.HTTP_201_CREATED)
