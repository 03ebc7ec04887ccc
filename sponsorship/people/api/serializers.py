from rest_framework import serializers

from sponsorship.people.identifiers import mask_nik, mask_phone
from sponsorship.people.models import Agency, Occupation, Sponsor, Worker
from sponsorship.regions.models import Region


class RegionSerializer(serializers.ModelSerializer):
    parent_code = serializers.CharField(source="parent.code", default=None, read_only=True, allow_null=True)

    class Meta:
        model = Region
        fields = ["code", "name", "level", "village_kind", "parent_code", "lat", "lon"]


class OccupationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Occupation
        fields = ["code", "name", "name_en", "is_transport"]


class AgencySerializer(serializers.ModelSerializer):
    regency_code = serializers.CharField(source="regency.code", read_only=True)

    class Meta:
        model = Agency
        fields = ["id", "code", "name", "short_name", "regency_code"]


class SponsorSerializer(serializers.ModelSerializer):
    agency = AgencySerializer(read_only=True)
    home_village_code = serializers.CharField(source="home_village.code", read_only=True)
    home_village_name = serializers.CharField(source="home_village.name", read_only=True)
    free_capacity = serializers.IntegerField(read_only=True)
    phone = serializers.SerializerMethodField()

    class Meta:
        model = Sponsor
        fields = [
            "id",
            "nip",
            "asn_type",
            "full_name",
            "sex",
            "agency",
            "home_village_code",
            "home_village_name",
            "capacity",
            "active_sponsorships",
            "free_capacity",
            "contact_consent",
            "status",
            "phone",
        ]

    def get_phone(self, obj) -> str:
        return mask_phone(obj.phone)


class WorkerSerializer(serializers.ModelSerializer):
    """Output: NIK and phone are always masked here (UU PDP data minimisation)."""

    nik = serializers.SerializerMethodField()
    phone = serializers.SerializerMethodField()
    occupation = serializers.CharField(source="occupation.code", read_only=True)
    village_code = serializers.CharField(source="village.code", read_only=True)
    village_name = serializers.CharField(source="village.name", read_only=True)

    class Meta:
        model = Worker
        fields = [
            "id",
            "nik",
            "full_name",
            "birth_date",
            "sex",
            "phone",
            "occupation",
            "village_code",
            "village_name",
            "welfare_decile",
            "kpj",
            "current_payer",
            "status",
            "created_at",
        ]

    def get_nik(self, obj) -> str:
        return mask_nik(obj.nik)

    def get_phone(self, obj) -> str:
        return mask_phone(obj.phone)


class ConsentInputSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=["in_person", "paper", "phone", "app"])
    text_version = serializers.CharField(max_length=20)
    collected_at = serializers.DateTimeField(required=False)


class WorkerCreateSerializer(serializers.Serializer):
    nik = serializers.CharField(max_length=32)
    full_name = serializers.CharField(max_length=150)
    phone = serializers.CharField(max_length=24, required=False, allow_blank=True)
    occupation = serializers.SlugRelatedField(slug_field="code", queryset=Occupation.objects.all())
    village = serializers.CharField(max_length=13)
    lat = serializers.FloatField(required=False, allow_null=True, min_value=-11.5, max_value=6.5)
    lon = serializers.FloatField(required=False, allow_null=True, min_value=94.0, max_value=141.5)
    welfare_decile = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=10)
    kpj = serializers.CharField(max_length=16, required=False, allow_blank=True)
    current_payer = serializers.ChoiceField(choices=Worker.Payer.choices, required=False, default=Worker.Payer.NONE)
    consent = ConsentInputSerializer()


class WorkerUpdateSerializer(serializers.Serializer):
    full_name = serializers.CharField(max_length=150, required=False)
    phone = serializers.CharField(max_length=24, required=False, allow_blank=True)
    occupation = serializers.SlugRelatedField(slug_field="code", queryset=Occupation.objects.all(), required=False)
    village = serializers.CharField(max_length=13, required=False)
    welfare_decile = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=10)
    kpj = serializers.CharField(max_length=16, required=False, allow_blank=True)
    current_payer = serializers.ChoiceField(choices=Worker.Payer.choices, required=False)


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    role = serializers.CharField(allow_null=True)
    language = serializers.CharField()
    agency_id = serializers.IntegerField(allow_null=True)
    regency_code = serializers.CharField(allow_null=True)
    sponsor_id = serializers.IntegerField(allow_null=True)
    worker_id = serializers.IntegerField(allow_null=True)
