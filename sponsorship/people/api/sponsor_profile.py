"""GET/PATCH /api/v1/sponsor/profile/: the signed-in ASN's own pledge and consents (the app's onboarding)."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api.errors import ApplicationError
from sponsorship.people.models import Sponsor
from sponsorship.people.services import people

from .permissions import IsSponsor
from .serializers import SponsorSerializer


class SponsorProfileOut(SponsorSerializer):
    class Meta(SponsorSerializer.Meta):
        fields = [*SponsorSerializer.Meta.fields, "show_name_to_workers"]


class SponsorProfileIn(serializers.Serializer):
    capacity = serializers.ChoiceField(choices=[(2, "2"), (3, "3")], required=False)
    contact_consent = serializers.BooleanField(required=False)
    show_name_to_workers = serializers.BooleanField(required=False)


def own_sponsor_profile(request) -> Sponsor:
    sponsor = Sponsor.objects.select_related("agency__regency", "home_village").filter(user=request.user).first()
    if sponsor is None:
        raise ApplicationError(_("This account is not an ASN sponsor account."), code="not_a_sponsor", status_code=403)
    return sponsor


class SponsorProfileView(APIView):
    permission_classes = [IsSponsor]

    @extend_schema(responses=SponsorProfileOut, summary="My sponsor profile: pledge (capacity) and consents")
    def get(self, request):
        return Response(SponsorProfileOut(own_sponsor_profile(request)).data)

    @extend_schema(
        request=SponsorProfileIn,
        responses=SponsorProfileOut,
        summary="Change my pledge (2 or 3 workers), consent to be contacted, show my first name to my workers",
    )
    def patch(self, request):
        data = SponsorProfileIn(data=request.data)
        data.is_valid(raise_exception=True)
        sponsor = people.sponsor_update(
            sponsor=own_sponsor_profile(request), actor=request.user, source="app", **data.validated_data
        )
        return Response(SponsorProfileOut(sponsor).data)
