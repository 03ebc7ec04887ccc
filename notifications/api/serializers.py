from rest_framework import serializers

from notifications.models import Device, Kind, Notification


class DeviceInputSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=512, trim_whitespace=True)
    kind = serializers.ChoiceField(choices=Device.PushIdKind.choices, default=Device.PushIdKind.TOKEN)
    platform = serializers.ChoiceField(choices=Device.Platform.choices, default=Device.Platform.ANDROID)
    app_version = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    language = serializers.ChoiceField(choices=[("id", "id"), ("en", "en")], default="id")


class DeviceTokenSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=512)


class DeviceOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Device
        fields = ["id", "kind", "platform", "app_version", "language", "active", "last_seen_at", "created_at"]


class NotificationOutputSerializer(serializers.ModelSerializer):
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "data", "status", "created_at", "sent_at", "read_at", "read"]

    def get_read(self, obj) -> bool:
        return obj.read_at is not None


class PreferenceSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Kind.choices)
    # A field named label: DRF's serializer metaclass takes it out of the class, the stubs see Field.label.
    label = serializers.CharField(read_only=True)  # type: ignore[assignment]
    enabled = serializers.BooleanField()
    mandatory = serializers.BooleanField(read_only=True)


class PreferencesInputSerializer(serializers.Serializer):
    preferences = PreferenceSerializer(many=True)
