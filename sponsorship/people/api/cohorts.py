"""/api/v1/admin/cohorts/: budget cohorts (APBD / DBHCHT) of the regency admin's regency; import one from a CSV file."""

from django.db.models import Count
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api.errors import ApplicationError
from sponsorship.people.models import Cohort
from sponsorship.people.scoping import admin_regency_id
from sponsorship.people.services.cohorts import cohort_import
from sponsorship.regions.models import Region

from .permissions import IsRegencyAdmin


class CohortIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    funder = serializers.ChoiceField(choices=Cohort.Funder.choices)
    starts_on = serializers.DateField()
    funded_until = serializers.DateField(help_text="Last day the budget pays for; the protection clock ends here")
    file = serializers.FileField(help_text="CSV (comma or semicolon) with a column 'nik', one worker per row")
    valid_rows_only = serializers.BooleanField(required=False, default=False)
    regency = serializers.CharField(required=False, help_text="Superusers only: regency code, e.g. 35.02")


class CohortProblem(serializers.Serializer):
    row = serializers.IntegerField()
    column = serializers.CharField()
    problem = serializers.CharField()


class CohortOut(serializers.ModelSerializer):
    members = serializers.IntegerField(source="member_count", read_only=True)

    class Meta:
        model = Cohort
        fields = ["id", "name", "funder", "starts_on", "funded_until", "members", "created_at"]


class CohortImportOut(serializers.Serializer):
    cohort = CohortOut()
    rows = serializers.IntegerField()
    added = serializers.IntegerField()
    problems = CohortProblem(many=True)


def _regency_id(request, code: str | None) -> int:
    regency_id = admin_regency_id(request.user)
    if regency_id is not None:
        return regency_id
    regencies = Region.objects.filter(level=Region.Level.REGENCY)
    region = (  # a superuser names the regency; without a code, the first regency with agencies (as the dashboard)
        regencies.filter(code=code).first()
        if code
        else regencies.filter(agencies__isnull=False).distinct().order_by("code").first()
    )
    if region is None:
        raise ApplicationError(_("Name the regency (its code, e.g. 35.02)."))
    return region.pk


class CohortListCreate(APIView):
    permission_classes = [IsRegencyAdmin]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(responses=CohortOut(many=True), summary="Budget cohorts of my regency")
    def get(self, request):
        regency_id = _regency_id(request, request.query_params.get("regency"))
        rows = Cohort.objects.filter(regency_id=regency_id).annotate(member_count=Count("members"))
        return Response(CohortOut(rows, many=True).data)

    @extend_schema(
        request={"multipart/form-data": CohortIn},
        responses={201: CohortImportOut},
        summary="Import a budget cohort (APBD/DBHCHT) from a CSV of NIKs, with a row report",
    )
    def post(self, request):
        data = CohortIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        result = cohort_import(
            actor=request.user,
            regency_id=_regency_id(request, v.get("regency")),
            name=v["name"],
            funder=v["funder"],
            starts_on=v["starts_on"],
            funded_until=v["funded_until"],
            content=v["file"].read(),
            valid_rows_only=v["valid_rows_only"],
            ip=request.META.get("REMOTE_ADDR"),
        )
        assert result.cohort is not None
        result.cohort.member_count = result.added
        return Response(
            CohortImportOut(
                {"cohort": result.cohort, "rows": result.rows, "added": result.added, "problems": result.problems}
            ).data,
            status=status.HTTP_201_CREATED,
        )
