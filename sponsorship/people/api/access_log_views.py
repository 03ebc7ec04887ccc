"""GET /api/v1/admin/personal-data-access/: the regency's personal-data access log, for its data-protection officer.

The data-protection officer is a regency admin holding the permission `people.view_personaldataaccess`
(given in the Django admin); a superuser sees every regency. Rows are the reads of clear NIK/phone of people
of the officer's regency.
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.permissions import BasePermission

from sponsorship.people.models import PersonalDataAccess
from sponsorship.people.selectors import accesses_for, is_data_protection_officer


class IsDataProtectionOfficer(BasePermission):
    def has_permission(self, request, view):
        return is_data_protection_officer(request.user)


class AccessOutput(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", default="", allow_null=True)

    class Meta:
        model = PersonalDataAccess
        fields = [
            "id",
            "at",
            "actor",
            "actor_role",
            "subject_type",
            "subject_id",
            "fields",
            "purpose",
            "note",
            "channel",
            "ip",
        ]


@extend_schema(
    parameters=[
        OpenApiParameter("subject_type", str, required=False, description="e.g. people.worker"),
        OpenApiParameter("subject_id", str, required=False),
        OpenApiParameter("purpose", str, enum=PersonalDataAccess.Purpose.values, required=False),
    ],
    summary="Who read a clear NIK or phone, when and why (the regency's data-protection officer)",
)
class PersonalDataAccessList(ListAPIView):
    permission_classes = [IsDataProtectionOfficer]
    serializer_class = AccessOutput
    filter_backends: list = []

    def get_queryset(self):
        qs = accesses_for(self.request.user)
        params = self.request.query_params
        for key in ("subject_type", "subject_id", "purpose"):
            if params.get(key):
                qs = qs.filter(**{key: params[key][:40]})
        return qs
