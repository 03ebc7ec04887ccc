"""Life events over the API (people/services/life_events.py does the work). Who may declare what:

- admins: every kind, for the workers and sponsors in their scope (404 outside it);
- a sponsor: their own retirement, move to another regency or leaving the civil service, and what happened to a
  worker they sponsor now (died, formal job, another payer, moved away);
- a worker: their own formal job, another payer or move.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from sponsorship.people.models import LifeEvent, Sponsor, Sponsorship, Worker
from sponsorship.people.scoping import access_worker, scope
from sponsorship.people.services import life_events as svc

from .permissions import IsAdmin, IsSponsor, IsWorker

K = LifeEvent.Kind


def _input(kinds):
    class LifeEventIn(serializers.Serializer):
        kind = serializers.ChoiceField(choices=[(k, K(k).label) for k in kinds])
        occurred_on = serializers.DateField(required=False, help_text="Default: today")
        evidence_note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
        other_payer = serializers.ChoiceField(
            choices=[(p, Worker.Payer(p).label) for p in svc.OTHER_PAYERS], required=False, default=""
        )
        sponsor_may_be_told = serializers.BooleanField(
            required=False, default=False, help_text="A death: the family agreed that the sponsor is told why"
        )

    LifeEventIn.__name__ = f"LifeEventIn_{len(kinds)}_{kinds[0]}"
    return LifeEventIn


AdminWorkerIn = _input(LifeEvent.WORKER_KINDS)
AdminSponsorIn = _input(LifeEvent.SPONSOR_KINDS)
SponsorOwnIn = _input(svc.SPONSOR_OWN_KINDS)
SponsorWorkerIn = _input(svc.SPONSOR_WORKER_KINDS)
WorkerOwnIn = _input(svc.WORKER_OWN_KINDS)


class FamilyNoticeOut(serializers.Serializer):
    jkm_idr = serializers.IntegerField()
    contribution_months = serializers.IntegerField()
    scholarship_eligible = serializers.BooleanField()
    documents = serializers.ListField(child=serializers.CharField())


class LifeEventOut(serializers.Serializer):
    id = serializers.IntegerField(source="event.pk")
    kind = serializers.CharField(source="event.kind")
    occurred_on = serializers.DateField(source="event.occurred_on")
    worker_id = serializers.IntegerField(source="event.worker_id", allow_null=True)
    sponsor_id = serializers.IntegerField(source="event.sponsor_id", allow_null=True)
    sponsorships_ended = serializers.SerializerMethodField()
    rematch_proposals = serializers.SerializerMethodField()
    family_notice = FamilyNoticeOut(allow_null=True, help_text="A death: what the family can claim (tell them)")

    def get_sponsorships_ended(self, result) -> int:
        return len(result.ended)

    def get_rematch_proposals(self, result) -> int:
        return len(result.rematched)


class LifeEventRow(serializers.ModelSerializer):
    kind = serializers.CharField(help_text="One of the life event kinds (see the POST endpoints)")
    other_payer = serializers.CharField(help_text="For 'another payer': self or regency_budget")

    class Meta:
        model = LifeEvent
        fields = ["id", "kind", "occurred_on", "worker", "sponsor", "other_payer", "recorded_at", "ended_sponsorships"]


def _declare(request, serializer_class, **subject):
    data = serializer_class(data=request.data)
    data.is_valid(raise_exception=True)
    result = svc.life_event_record(**data.validated_data, **subject, actor=request.user)
    return Response(LifeEventOut(result).data, status=status.HTTP_201_CREATED)


class AdminWorkerLifeEvent(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=AdminWorkerIn, responses={201: LifeEventOut}, summary="Declare a worker's life event")
    def post(self, request, pk: int):
        return _declare(request, AdminWorkerIn, worker=access_worker(request.user, pk))


class AdminSponsorLifeEvent(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=AdminSponsorIn, responses={201: LifeEventOut}, summary="Declare a sponsor's life event")
    def post(self, request, pk: int):
        sponsor = get_object_or_404(scope(Sponsor.objects.all(), request.user), pk=pk)
        return _declare(request, AdminSponsorIn, sponsor=sponsor)


class AdminLifeEventList(generics.ListAPIView):
    """The life events of the workers and sponsors in the caller's scope, newest first."""

    permission_classes = [IsAdmin]
    serializer_class = LifeEventRow

    def get_queryset(self):
        return scope(LifeEvent.objects.all(), self.request.user).order_by("-recorded_at", "-pk")


class SponsorOwnLifeEvent(APIView):
    permission_classes = [IsSponsor]

    @extend_schema(
        request=SponsorOwnIn,
        responses={201: LifeEventOut},
        summary="I retire, move to another regency or leave the civil service: my sponsorships end",
    )
    def post(self, request):
        sponsor = Sponsor.objects.filter(user=request.user).first()
        if sponsor is None:
            raise NotFound
        return _declare(request, SponsorOwnIn, sponsor=sponsor)


class SponsorWorkerLifeEvent(APIView):
    permission_classes = [IsSponsor]

    @extend_schema(
        request=SponsorWorkerIn, responses={201: LifeEventOut}, summary="Report a life event of a worker I sponsor"
    )
    def post(self, request, pk: int):
        # Only a worker this sponsor sponsors now (404 otherwise: no existence leak).
        sponsorship = Sponsorship.objects.filter(
            sponsor__user=request.user, worker_id=pk, status=Sponsorship.Status.ACTIVE
        ).first()
        if sponsorship is None:
            raise NotFound
        return _declare(request, SponsorWorkerIn, worker=sponsorship.worker)


class WorkerOwnLifeEvent(APIView):
    permission_classes = [IsWorker]

    @extend_schema(
        request=WorkerOwnIn,
        responses={201: LifeEventOut},
        summary="I got a formal job, another payer, or moved away: my sponsorship ends",
    )
    def post(self, request):
        worker = Worker.objects.filter(user=request.user).first()
        if worker is None:
            raise NotFound
        return _declare(request, WorkerOwnIn, worker=worker)
