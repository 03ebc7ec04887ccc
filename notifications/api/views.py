"""Devices, the inbox and preferences. Thin: services write, selectors read."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api.pagination import StandardPagination
from notifications import selectors, services
from notifications.models import Notification

from .serializers import (
    DeviceInputSerializer,
    DeviceOutputSerializer,
    DeviceTokenSerializer,
    NotificationOutputSerializer,
    PreferenceSerializer,
    PreferencesInputSerializer,
)


class DeviceRegister(APIView):
    @extend_schema(
        request=DeviceInputSerializer,
        responses={200: DeviceOutputSerializer},
        summary="Register or refresh this phone's push token (call on every app start)",
    )
    def post(self, request):
        data = DeviceInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        device = services.device_register(user=request.user, **data.validated_data)
        return Response(DeviceOutputSerializer(device).data, status=status.HTTP_200_OK)

    @extend_schema(
        request=DeviceTokenSerializer,
        responses={204: None},
        operation_id="devices_unregister",
        summary="Unregister a token (body)",
    )
    def delete(self, request):
        data = DeviceTokenSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.device_unregister(user=request.user, token=data.validated_data["token"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeviceDetail(APIView):
    @extend_schema(
        responses={204: None},
        operation_id="devices_unregister_by_token",
        summary="Unregister a token (sign-out); idempotent",
    )
    def delete(self, request, token):
        services.device_unregister(user=request.user, token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InboxPagination(StandardPagination):
    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        response.data["unread_count"] = selectors.unread_count(self.request.user)
        return response

    def get_paginated_response_schema(self, schema):
        schema = super().get_paginated_response_schema(schema)
        schema["properties"]["unread_count"] = {"type": "integer"}
        return schema


class InboxList(generics.ListAPIView):
    """What was sent to me, newest first, with `unread_count` (the app shows it even when a push was lost)."""

    serializer_class = NotificationOutputSerializer
    pagination_class = InboxPagination
    filterset_fields = ["kind"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Notification.objects.none()
        return selectors.inbox_for(self.request.user)


class InboxMarkRead(APIView):
    @extend_schema(request=None, responses=NotificationOutputSerializer, summary="Mark one notification read")
    def post(self, request, pk):
        row = services.notification_mark_read(user=request.user, pk=pk)
        return Response(NotificationOutputSerializer(row).data)


class InboxMarkAllRead(APIView):
    @extend_schema(
        request=None,
        responses=inline_serializer(
            "MarkAllRead", {"marked": serializers.IntegerField(), "unread_count": serializers.IntegerField()}
        ),
        summary="Mark all my notifications read",
    )
    def post(self, request):
        marked = services.notifications_mark_all_read(user=request.user)
        return Response({"marked": marked, "unread_count": selectors.unread_count(request.user)})


class Preferences(APIView):
    @extend_schema(responses=PreferenceSerializer(many=True), summary="My notification preferences per kind")
    def get(self, request):
        return Response(PreferenceSerializer(selectors.preferences_for(request.user), many=True).data)

    @extend_schema(
        request=PreferencesInputSerializer,
        responses=PreferenceSerializer(many=True),
        summary="Switch kinds on or off (payment receipts cannot be switched off)",
    )
    def put(self, request):
        data = PreferencesInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.preferences_set(
            user=request.user, changes={p["kind"]: p["enabled"] for p in data.validated_data["preferences"]}
        )
        return Response(PreferenceSerializer(selectors.preferences_for(request.user), many=True).data)
