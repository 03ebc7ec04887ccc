"""/api/v1/admin/workers/{id}/benefits/: record a JKK/JKM benefit a worker or their family received."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from sponsorship.billing.services.benefits import benefit_record
from sponsorship.people.api.permissions import IsAdmin
from sponsorship.people.models import BenefitReceived
from sponsorship.people.scoping import access_worker


class BenefitIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=BenefitReceived.Kind.choices)
    received_on = serializers.DateField()
    amount_idr = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=10_000_000_000)
    sponsor_may_be_told = serializers.BooleanField(
        help_text="The worker or the family agreed that the sponsor is told (no message without it)"
    )


class BenefitOut(serializers.ModelSerializer):
    sponsor_told = serializers.SerializerMethodField()

    class Meta:
        model = BenefitReceived
        fields = ["id", "worker", "kind", "received_on", "amount_idr", "sponsor_may_be_told", "sponsor_told"]

    def get_sponsor_told(self, row) -> bool:
        return row.sponsor_told_id is not None


class AdminWorkerBenefit(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        request=BenefitIn, responses={201: BenefitOut}, summary="Record a JKK/JKM benefit the worker's family received"
    )
    def post(self, request, pk: int):
        worker = access_worker(request.user, pk)
        data = BenefitIn(data=request.data)
        data.is_valid(raise_exception=True)
        row = benefit_record(
            actor=request.user, worker=worker, ip=request.META.get("REMOTE_ADDR"), **data.validated_data
        )
        return Response(BenefitOut(row).data, status=status.HTTP_201_CREATED)
