"""/api/v1/sponsor/payroll/...: an ASN chooses payroll deduction (potong gaji / potong TPP) or stops it."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api.errors import ApplicationError
from sponsorship.billing.models import PayrollConsent, PayrollDeduction
from sponsorship.billing.selectors.payroll import deductions_of_sponsor, live_consent, payroll_settings_for
from sponsorship.billing.services import payroll as payroll_services
from sponsorship.people.api.permissions import IsSponsor
from sponsorship.people.models import Sponsor
from sponsorship.people.scoping import scope


def consent_text(version: str) -> str:
    return _(
        "I agree that the treasurer of my agency deducts my monthly Pengampu bill (the BPJS Ketenagakerjaan premium "
        "of the workers I sponsor) from my salary or allowance and that the regional bank transfers it to the "
        "collector. I may stop it at any time; the stop takes effect from the next payroll month. (Version "
        "%(version)s)"
    ) % {"version": version}


class ConsentOut(serializers.ModelSerializer):
    class Meta:
        model = PayrollConsent
        fields = [
            "id",
            "kind",
            "channel",
            "status",
            "start_month",
            "end_month",
            "monthly_amount_idr",
            "golongan",
            "account_number",
            "consent_text_version",
            "confirmed_in_app_at",
            "created_at",
            "stop_requested_at",
        ]


class DeductionOut(serializers.ModelSerializer):
    class Meta:
        model = PayrollDeduction
        fields = ["id", "payroll_month", "kind", "amount_idr", "status", "deducted_idr", "transfer_date", "invoice_id"]


class ConsentStateOut(serializers.Serializer):
    consent = ConsentOut(allow_null=True)
    consent_text = serializers.CharField()
    consent_text_version = serializers.CharField()
    earliest_start_month = serializers.DateField()
    monthly_amount_estimate_idr = serializers.IntegerField()
    deductions = DeductionOut(many=True)


class ConsentIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=PayrollConsent.Kind.choices)
    start_month = serializers.DateField(required=False, help_text="First payroll month (any day of it)")
    golongan = serializers.CharField(max_length=10, required=False, allow_blank=True, default="")
    account_number = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")
    consent_text_version = serializers.CharField(max_length=20)
    confirm = serializers.BooleanField(help_text="I have read the consent text and agree")


def _my_sponsor(user) -> Sponsor:
    sponsor = scope(Sponsor.objects.select_related("agency"), user).filter(user=user).first()
    if sponsor is None:
        raise ApplicationError(
            _("Only an ASN sponsor can choose payroll deduction."), code="forbidden", status_code=403
        )
    return sponsor


def _state(sponsor: Sponsor) -> dict:
    settings = payroll_settings_for(sponsor.agency.regency_id)
    earliest = payroll_services.first_open_payroll_month(agency_id=sponsor.agency_id)
    return {
        "consent": live_consent(sponsor.pk),
        "consent_text": consent_text(settings.consent_text_version),
        "consent_text_version": settings.consent_text_version,
        "earliest_start_month": earliest,
        "monthly_amount_estimate_idr": payroll_services.monthly_amount_estimate(sponsor=sponsor, month=earliest),
        "deductions": deductions_of_sponsor(sponsor.pk)[:24],
    }


class SponsorPayrollConsent(APIView):
    permission_classes = [IsSponsor]

    @extend_schema(responses=ConsentStateOut, summary="My payroll deduction: consent, the text to confirm, history")
    def get(self, request):
        return Response(ConsentStateOut(_state(_my_sponsor(request.user))).data)

    @extend_schema(
        request=ConsentIn,
        responses={201: ConsentStateOut},
        summary="Choose payroll deduction (salary or TPP), confirming the consent text in the app",
    )
    def post(self, request):
        data = ConsentIn(data=request.data)
        data.is_valid(raise_exception=True)
        sponsor = _my_sponsor(request.user)
        payroll_services.consent_create(
            sponsor=sponsor,
            kind=data.validated_data["kind"],
            actor=request.user,
            start_month=data.validated_data.get("start_month"),
            golongan=data.validated_data["golongan"],
            account_number=data.validated_data["account_number"],
            consent_text_version=data.validated_data["consent_text_version"],
            confirmed=data.validated_data["confirm"],
        )
        return Response(ConsentStateOut(_state(sponsor)).data, status=status.HTTP_201_CREATED)


class SponsorPayrollStop(APIView):
    permission_classes = [IsSponsor]

    @extend_schema(
        request=None, responses=ConsentStateOut, summary="Stop payroll deduction from the next payroll month"
    )
    def post(self, request):
        sponsor = _my_sponsor(request.user)
        consent = live_consent(sponsor.pk)
        if consent is None:
            raise ApplicationError(_("You have no payroll deduction to stop."), code="no_consent", status_code=404)
        payroll_services.consent_stop(consent=consent, actor=request.user)
        return Response(ConsentStateOut(_state(sponsor)).data)
