from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from backend.api import fields
from sponsorship.core.periods import local_today
from sponsorship.people.identifiers import age_band, age_on, mask_nik, mask_phone
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


def sees_birth_date(user, worker) -> bool:
    """Who gets a worker's birth date and sex: the worker themself and a superuser. Everyone else (sponsors,
    agency and regency admins) gets an age band: the birth date and sex are digits 7-12 of the NIK, so next to the
    village code they rebuild a masked NIK (issue 14). An admin who must see the clear NIK uses the audited data
    export (people/services/privacy.py)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_superuser or (worker.user_id is not None and worker.user_id == user.pk))


class WorkerSerializer(serializers.ModelSerializer):
    """Output: NIK (serial only) and phone are always masked here (UU PDP data minimisation); birth date and sex
    only for the worker themself and a superuser (`sees_birth_date`), an age band for everyone. Pass the request
    in the context: without it nobody sees the birth date."""

    nik = serializers.SerializerMethodField()
    phone = serializers.SerializerMethodField()
    birth_date = serializers.SerializerMethodField()
    sex = serializers.SerializerMethodField()
    age_band = serializers.SerializerMethodField()
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
            "age_band",
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

    def _sees(self, obj) -> bool:
        request = self.context.get("request")
        return sees_birth_date(getattr(request, "user", None), obj)

    @extend_schema_field(serializers.DateField(allow_null=True))
    def get_birth_date(self, obj):
        return obj.birth_date if self._sees(obj) else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_sex(self, obj):
        return obj.sex if self._sees(obj) else None

    def get_age_band(self, obj) -> str:
        return age_band(age_on(obj.birth_date, local_today())) if obj.birth_date else ""


class ConsentInputSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=["in_person", "paper", "phone", "app"])
    text_version = serializers.CharField(max_length=20)
    collected_at = fields.DateTimeField(required=False)


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
    # The worker also agrees to be reached there (collected as `consent.channel` says); needs `phone`.
    contact_channels = serializers.ListField(
        child=serializers.ChoiceField(choices=["whatsapp", "sms"]), required=False, max_length=2
    )


class WorkerUpdateSerializer(serializers.Serializer):
    full_name = serializers.CharField(max_length=150, required=False)
    phone = serializers.CharField(max_length=24, required=False, allow_blank=True)
    occupation = serializers.SlugRelatedField(slug_field="code", queryset=Occupation.objects.all(), required=False)
    village = serializers.CharField(max_length=13, required=False)
    welfare_decile = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=10)
    kpj = serializers.CharField(max_length=16, required=False, allow_blank=True)
    current_payer = serializers.ChoiceField(choices=Worker.Payer.choices, required=False)
    # The full list of channels the worker consents to (an empty list withdraws both), and how it was collected.
    contact_channels = serializers.ListField(
        child=serializers.ChoiceField(choices=["whatsapp", "sms"]), required=False, max_length=2
    )
    contact_source = serializers.ChoiceField(choices=["in_person", "paper", "phone"], required=False)


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    role = serializers.CharField(allow_null=True)
    language = serializers.CharField()
    agency_id = serializers.IntegerField(allow_null=True)
    regency_code = serializers.CharField(allow_null=True)
    sponsor_id = serializers.IntegerField(allow_null=True)
    worker_id = serializers.IntegerField(allow_null=True)
