"""Foundation endpoints: who am I, reference data, agencies, sponsors, workers. Thin: services write."""

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from sponsorship.people.models import Agency, Occupation, Sponsor, Worker
from sponsorship.people.scoping import access_worker, profile_of, role_of, scope
from sponsorship.people.services import people
from sponsorship.regions.models import Region

from .permissions import IsAdmin
from .serializers import (
    AgencySerializer,
    MeSerializer,
    OccupationSerializer,
    RegionSerializer,
    SponsorSerializer,
    WorkerCreateSerializer,
    WorkerSerializer,
    WorkerUpdateSerializer,
)


class MeView(APIView):
    @extend_schema(responses=MeSerializer, summary="The signed-in user and their role")
    def get(self, request):
        profile = profile_of(request.user)
        data = {
            "username": request.user.get_username(),
            "role": role_of(request.user),
            "language": profile.language if profile else "id",
            "agency_id": profile.agency_id if profile else None,
            "regency_code": profile.regency.code if profile and profile.regency_id else None,
            "sponsor_id": getattr(getattr(request.user, "sponsor", None), "pk", None),
            "worker_id": getattr(getattr(request.user, "worker", None), "pk", None),
        }
        return Response(MeSerializer(data).data)


class RegionFilter(filters.FilterSet):
    parent = filters.CharFilter(field_name="parent__code")
    level = filters.NumberFilter()
    q = filters.CharFilter(field_name="name", lookup_expr="icontains")

    class Meta:
        model = Region
        fields = ["parent", "level", "q"]


class RegionList(generics.ListAPIView):
    """Public reference data (Kemendagri codes), readable by any signed-in user."""

    queryset = Region.objects.select_related("parent")
    serializer_class = RegionSerializer
    filterset_class = RegionFilter


class OccupationList(generics.ListAPIView):
    queryset = Occupation.objects.all()
    serializer_class = OccupationSerializer
    pagination_class = None


class AgencyList(generics.ListAPIView):
    serializer_class = AgencySerializer

    def get_queryset(self):
        return scope(Agency.objects.select_related("regency"), self.request.user)


class SponsorFilter(filters.FilterSet):
    agency = filters.NumberFilter(field_name="agency_id")
    village = filters.CharFilter(field_name="home_village__code")
    status = filters.CharFilter()
    nip = filters.CharFilter()
    q = filters.CharFilter(field_name="full_name", lookup_expr="icontains")

    class Meta:
        model = Sponsor
        fields = ["agency", "village", "status", "nip", "q"]


class SponsorList(generics.ListAPIView):
    serializer_class = SponsorSerializer
    filterset_class = SponsorFilter

    def get_queryset(self):
        return scope(Sponsor.objects.select_related("agency__regency", "home_village"), self.request.user)


class SponsorDetail(generics.RetrieveAPIView):
    serializer_class = SponsorSerializer

    def get_queryset(self):
        return scope(Sponsor.objects.select_related("agency__regency", "home_village"), self.request.user)


class WorkerFilter(filters.FilterSet):
    village = filters.CharFilter(field_name="village__code")
    district = filters.CharFilter(field_name="village__parent__code")
    occupation = filters.CharFilter(field_name="occupation__code")
    payer = filters.CharFilter(field_name="current_payer")
    decile = filters.NumberFilter(field_name="welfare_decile")
    q = filters.CharFilter(field_name="full_name", lookup_expr="icontains")

    class Meta:
        model = Worker
        fields = ["village", "district", "occupation", "payer", "decile", "q"]


class WorkerListCreate(generics.ListAPIView):
    serializer_class = WorkerSerializer
    filterset_class = WorkerFilter

    def get_queryset(self):
        return scope(Worker.objects.select_related("occupation", "village"), self.request.user).order_by(
            "full_name", "id"
        )

    def get_permissions(self):
        if self.request.method == "POST":
            return [IsAdmin()]
        return super().get_permissions()

    @extend_schema(
        request=WorkerCreateSerializer,
        responses={201: WorkerSerializer},
        summary="Register a worker (admin), with the worker's consent record",
    )
    def post(self, request):
        data = WorkerCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        worker = people.worker_create(actor=request.user, **values)
        return Response(WorkerSerializer(worker, context={"request": request}).data, status=status.HTTP_201_CREATED)


class WorkerDetail(APIView):
    def get_permissions(self):
        if self.request.method == "PATCH":
            return [IsAdmin()]
        return super().get_permissions()

    @extend_schema(responses=WorkerSerializer)
    def get(self, request, pk: int):
        return Response(WorkerSerializer(access_worker(request.user, pk), context={"request": request}).data)

    @extend_schema(request=WorkerUpdateSerializer, responses=WorkerSerializer)
    def patch(self, request, pk: int):
        worker = access_worker(request.user, pk)
        data = WorkerUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        worker = people.worker_update(worker=worker, actor=request.user, **data.validated_data)
        return Response(WorkerSerializer(worker, context={"request": request}).data)
