"""Matching endpoints: proposals for a sponsor, nominations, regency-wide runs. Thin: services write."""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, status
from rest_framework import serializers as drf_serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api.errors import ApplicationError, ConflictError
from sponsorship.matching.models import MatchingRun, Nomination, Proposal
from sponsorship.matching.services import nominations, proposals, rematch
from sponsorship.matching.services import runs as matching_runs
from sponsorship.people.api.permissions import IsAdmin, IsRegencyAdmin, IsSponsor
from sponsorship.people.models import Role, Sponsor
from sponsorship.people.scoping import profile_of, scope

from .serializers import (
    DeclineSerializer,
    LeaveRequestSerializer,
    MatchingRunCreateSerializer,
    MatchingRunSerializer,
    NominationCreateSerializer,
    NominationSerializer,
    ProposalSerializer,
    RejectSerializer,
    SponsorLeaveSerializer,
)

NOT_A_SPONSOR = _("This account is not linked to a sponsor.")


def _sponsor_of(request) -> Sponsor:
    sponsor = Sponsor.objects.select_related("agency__regency", "home_village").filter(user=request.user).first()
    if sponsor is None:
        raise ApplicationError(NOT_A_SPONSOR, code="not_a_sponsor", status_code=403)
    return sponsor


def _language(request) -> str:
    return getattr(request, "LANGUAGE_CODE", "id") or "id"


def _proposal_payload(request, sponsor) -> list:
    items = proposals.proposals_for_sponsor(sponsor=sponsor)
    # many=True makes a ListSerializer (its .data a ReturnList); the stubs type .data as the ReturnDict of one.
    return ProposalSerializer(items, many=True, context={"language": _language(request)}).data  # type: ignore[return-value]


class ProposalList(APIView):
    permission_classes = [IsSponsor]

    @extend_schema(
        responses=inline_serializer(
            "ProposalListOut",
            {"free_capacity": drf_serializers.IntegerField(), "results": ProposalSerializer(many=True)},
        ),
        summary="Nearby workers proposed to me (up to my free capacity), best first",
    )
    def get(self, request):
        sponsor = _sponsor_of(request)
        items = _proposal_payload(request, sponsor)
        return Response({"free_capacity": sponsor.free_capacity, "results": items})


class ProposalAccept(APIView):
    permission_classes = [IsSponsor]

    @extend_schema(
        request=None,
        responses={201: dict, 409: dict},
        summary="Accept a proposal: starts the sponsorship; 409 with fresh proposals if taken",
    )
    def post(self, request, pk: int):
        proposal = get_object_or_404(scope(Proposal.objects.select_related("sponsor", "worker"), request.user), pk=pk)
        try:
            sponsorship = proposals.proposal_accept(proposal=proposal, actor=request.user)
        except ConflictError as exc:
            proposals.proposal_withdraw(proposal=proposal)
            sponsor = _sponsor_of(request)
            message = exc.message
            if exc.code == "worker_taken":
                message = _("Sorry, another sponsor has just taken this worker. Here are other proposals for you.")
            raise ConflictError(
                message, code=exc.code, extra={"proposals": _proposal_payload(request, sponsor)}
            ) from None
        return Response(
            {
                "sponsorship_id": sponsorship.pk,
                "worker_first_name": proposal.worker.first_name,
                "status": sponsorship.status,
                "free_capacity": sponsorship.sponsor.free_capacity,
            },
            status=status.HTTP_201_CREATED,
        )


class ProposalDecline(APIView):
    permission_classes = [IsSponsor]

    @extend_schema(
        request=DeclineSerializer,
        responses={200: dict},
        summary="Decline a proposal: this worker is not proposed to me again for the cooldown",
    )
    def post(self, request, pk: int):
        proposal = get_object_or_404(scope(Proposal.objects.select_related("worker"), request.user), pk=pk)
        data = DeclineSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        proposals.proposal_decline(proposal=proposal, reason=data.validated_data["reason"], actor=request.user)
        return Response({"id": proposal.pk, "status": proposal.status})


class SponsorNominations(APIView):
    permission_classes = [IsSponsor]

    @extend_schema(responses=NominationSerializer(many=True), summary="My nominations")
    def get(self, request):
        qs = scope(Nomination.objects.select_related("sponsor__agency", "occupation", "village"), request.user)
        return Response(NominationSerializer(qs[:100], many=True, context={"request": request}).data)

    @extend_schema(
        request=NominationCreateSerializer,
        responses={201: NominationSerializer},
        summary="Nominate a worker I know, with how their consent was obtained",
    )
    def post(self, request):
        sponsor = _sponsor_of(request)
        data = NominationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        nomination = nominations.nomination_submit(sponsor=sponsor, actor=request.user, **data.validated_data)
        return Response(
            NominationSerializer(nomination, context={"request": request}).data, status=status.HTTP_201_CREATED
        )


class AdminNominationList(generics.ListAPIView):
    permission_classes = [IsAdmin]
    serializer_class = NominationSerializer

    def get_queryset(self):
        qs = scope(Nomination.objects.select_related("sponsor__agency", "occupation", "village"), self.request.user)
        wanted = self.request.query_params.get("status")
        if wanted in Nomination.Status.values:
            qs = qs.filter(status=wanted)
        if self.request.query_params.get("conflict_of_interest") in ("1", "true"):
            qs = qs.filter(conflict_of_interest=True)
        return qs.order_by("-created_at", "-id")


def _nomination(request, pk) -> Nomination:
    return get_object_or_404(
        scope(Nomination.objects.select_related("sponsor__agency__regency", "occupation", "village"), request.user),
        pk=pk,
    )


class AdminNominationVerify(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        request=None,
        responses={200: NominationSerializer, 409: dict},
        summary="Verify: checks, then worker + sponsorship (409 with reasons when blocked)",
    )
    def post(self, request, pk: int):
        nomination = nominations.nomination_verify(nomination=_nomination(request, pk), actor=request.user)
        return Response(NominationSerializer(nomination, context={"request": request}).data)


class AdminNominationReject(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=RejectSerializer, responses=NominationSerializer, summary="Reject with a reason")
    def post(self, request, pk: int):
        data = RejectSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        nomination = nominations.nomination_reject(
            nomination=_nomination(request, pk), reason=data.validated_data["reason"], actor=request.user
        )
        return Response(NominationSerializer(nomination, context={"request": request}).data)


RUN_PREVIEW_DESCRIPTION = """Solves on the regency's current state: the maximum covered priority weight, then the least
total distance. `distance` chooses how hard the distance is minimised: `exact` (default, setting
`MATCHING_RUN_DISTANCE`) over every pair within the radius, proven by the solver's certificate to within
`MATCHING_DISTANCE_GAP_TOLERANCE` (0.5%) of the optimum; `fast` only the restricted polish (~10% above the optimum
at regency size). The same input with another mode is a new run.

`preview.distance`: `{"mode", "total_distance_m", "certified_optimal", "distance_gap_bound_m", "proof",
"gap_tolerance"?, "restricted_distance_m"?, "cpu_s"?}`. `proof` is `full_flow` (small instances: one min-cost flow
over every pair, optimal in either mode; gap 0), `certificate` (exact mode on a large instance: the gap is a proven
bound in metres, 0 = optimal) or null (fast mode on a large instance: `distance_gap_bound_m` null).

Off the request path (docs/long-work.md): a regency with more eligible workers than `MATCHING_SYNC_MAX_WORKERS`
(default 2,000) answers 202 with a run in status `queued`; a task solves it (`solving`, then `preview`), with
`progress` {done, total, stage}. Poll `GET /admin/matching-runs/{id}/`. Asking again meanwhile answers the same run
(200). Smaller regencies answer 201 with the preview at once, as before."""


class MatchingRunListCreate(APIView):
    permission_classes = [IsRegencyAdmin]

    def _regency(self, request):
        profile = profile_of(request.user)
        if profile is None or profile.role != Role.REGENCY_ADMIN:
            raise ApplicationError(
                _("Only a regency admin can run matching."), code="permission_denied", status_code=403
            )
        return profile.regency

    @extend_schema(responses=MatchingRunSerializer(many=True), summary="Recent matching runs of my regency")
    def get(self, request):
        qs = scope(MatchingRun.objects.select_related("regency"), request.user).defer("pairs")[:50]
        return Response(MatchingRunSerializer(qs, many=True).data)

    @extend_schema(
        request=MatchingRunCreateSerializer,
        responses={201: MatchingRunSerializer, 200: MatchingRunSerializer, 202: MatchingRunSerializer},
        summary="Preview an optimal regency-wide matching (same input and mode → the same run, 200; large → 202)",
        description=RUN_PREVIEW_DESCRIPTION,
    )
    def post(self, request):
        regency = self._regency(request)
        data = MatchingRunCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run, outcome = matching_runs.matching_run_request(regency=regency, actor=request.user, **data.validated_data)
        if outcome == "queued":
            run.refresh_from_db()  # without a broker the task has already run
            queued = run.status in (MatchingRun.Status.QUEUED, MatchingRun.Status.SOLVING)
            code = status.HTTP_202_ACCEPTED if queued else status.HTTP_201_CREATED
        else:
            code = status.HTTP_201_CREATED if outcome == "created" else status.HTTP_200_OK
        return Response(MatchingRunSerializer(run).data, status=code)


class MatchingRunDetail(APIView):
    permission_classes = [IsRegencyAdmin]

    @extend_schema(responses=MatchingRunSerializer)
    def get(self, request, pk: int):
        run = get_object_or_404(
            scope(MatchingRun.objects.select_related("regency").defer("pairs"), request.user), pk=pk
        )
        return Response(MatchingRunSerializer(run).data)


class MatchingRunApply(APIView):
    permission_classes = [IsRegencyAdmin]

    @extend_schema(
        request=None,
        responses={200: MatchingRunSerializer, 202: MatchingRunSerializer, 409: dict},
        summary="Apply a previewed run: proposals for sponsors, notified (idempotent; large runs → 202, a task)",
        description=(
            "A run with more pairs than MATCHING_SYNC_MAX_PAIRS (default 2,000) is applied by a background task: "
            "202 with status `applying` (poll the run). 409 `not_ready` while the run is still queued or solving."
        ),
    )
    def post(self, request, pk: int):
        run = get_object_or_404(scope(MatchingRun.objects.select_related("regency"), request.user), pk=pk)
        run = matching_runs.matching_run_apply_request(run=run, actor=request.user)
        run.refresh_from_db()
        code = status.HTTP_202_ACCEPTED if run.status == MatchingRun.Status.APPLYING else status.HTTP_200_OK
        return Response(MatchingRunSerializer(run).data, status=code)


class AdminSponsorLeave(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        request=SponsorLeaveSerializer,
        responses=dict,
        summary="A sponsor leaves or retires: end their sponsorships and re-match the workers",
    )
    def post(self, request, pk: int):
        sponsor = get_object_or_404(scope(Sponsor.objects.all(), request.user), pk=pk)
        data = SponsorLeaveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        made = rematch.sponsor_leave(sponsor=sponsor, status=data.validated_data["status"], actor=request.user)
        return Response({"sponsor_id": sponsor.pk, "status": sponsor.status, "rematch_proposals": len(made)})


class SponsorLeaveRequest(APIView):
    """The sponsor asks to leave; the agency admin ends the sponsorships with the hand-over (admin leave)."""

    permission_classes = [IsSponsor]

    @extend_schema(
        request=LeaveRequestSerializer,
        responses={202: inline_serializer("LeaveRequested", {"status": drf_serializers.CharField()})},
        summary="Ask to leave the scheme: recorded for the agency admin, who arranges the hand-over",
    )
    def post(self, request):
        data = LeaveRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if not data.validated_data["confirm"]:
            raise ApplicationError(_("Please confirm that you want to leave the scheme."), code="not_confirmed")
        new = rematch.sponsor_leave_request(
            sponsor=_sponsor_of(request), reason=data.validated_data["reason"], actor=request.user
        )
        return Response({"status": "requested" if new else "already_requested"}, status=status.HTTP_202_ACCEPTED)
