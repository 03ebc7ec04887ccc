"""Input and output shapes for the matching API. Proposals show only what a sponsor needs to decide."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from backend.api import fields
from sponsorship.matching.models import MatchingRun, Nomination, Proposal
from sponsorship.matching.services.nominations import nomination_checks_seen_by, nomination_reject_reason_seen_by
from sponsorship.people.identifiers import age_band, age_on, mask_nik, mask_phone
from sponsorship.people.models import Occupation, WorkerConsent


class ProposalSerializer(serializers.Serializer):
    """Never the NIK, phone, full name or exact location (UU PDP data minimisation)."""

    id = serializers.IntegerField()
    first_name = serializers.SerializerMethodField()
    occupation = serializers.SerializerMethodField()
    village = serializers.CharField(source="worker.village.name")
    distance_m = serializers.SerializerMethodField()
    age_band = serializers.SerializerMethodField()
    why = serializers.SerializerMethodField(help_text="Why this worker is a priority, in plain words")

    def get_first_name(self, obj) -> str:
        return obj.worker.first_name

    def get_occupation(self, obj) -> str:
        language = self.context.get("language") or "id"
        occupation = obj.worker.occupation
        return occupation.name_en if language.startswith("en") and occupation.name_en else occupation.name

    def get_distance_m(self, obj) -> int:
        return int(round(obj.distance_m / 100.0)) * 100

    def get_age_band(self, obj) -> str:
        from django.utils import timezone

        return age_band(age_on(obj.worker.birth_date, timezone.localdate()))

    def get_why(self, obj) -> str:
        """The reasons behind the ranking (matching/selectors.py: same village, lowest deciles, re-matching),
        never the decile's source record itself."""
        reasons: list[str] = []
        if obj.source == Proposal.Source.REMATCH:
            reasons.append(str(_("their previous sponsor stopped: their protection must not lapse")))
        decile = obj.worker.welfare_decile
        if decile is not None and decile <= 4:
            reasons.append(
                str(_("among the poorest households (welfare decile %(decile)s of 10)") % {"decile": decile})
            )
        if obj.same_village:
            reasons.append(str(_("lives in your village")))
        return "; ".join(reasons)


class DeclineSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class NominationCreateSerializer(serializers.Serializer):
    nik = serializers.CharField(max_length=32)
    full_name = serializers.CharField(max_length=150)
    phone = serializers.CharField(max_length=24, required=False, allow_blank=True, default="")
    occupation = serializers.SlugRelatedField(slug_field="code", queryset=Occupation.objects.all())
    village = serializers.CharField(max_length=13)
    relationship = serializers.ChoiceField(choices=Nomination.Relationship.choices)
    consent_channel = serializers.ChoiceField(choices=WorkerConsent.Channel.choices)
    consent_text_version = serializers.CharField(max_length=20)
    consent_collected_at = fields.DateTimeField(required=False)


class NominationSerializer(serializers.ModelSerializer):
    nik = serializers.SerializerMethodField()
    phone = serializers.SerializerMethodField()
    occupation = serializers.CharField(source="occupation.code")
    village_code = serializers.CharField(source="village.code")
    village_name = serializers.CharField(source="village.name")
    sponsor = serializers.SerializerMethodField()
    checks = serializers.SerializerMethodField()
    flags = serializers.SerializerMethodField()
    conflict_of_interest = serializers.SerializerMethodField()
    reject_reason = serializers.SerializerMethodField()

    class Meta:
        model = Nomination
        fields = [
            "id",
            "status",
            "nik",
            "full_name",
            "phone",
            "occupation",
            "village_code",
            "village_name",
            "relationship",
            "consent_channel",
            "consent_text_version",
            "consent_collected_at",
            "sponsor",
            "conflict_of_interest",
            "flags",
            "checks",
            "reject_reason",
            "reviewed_at",
            "worker",
            "sponsorship",
            "created_at",
        ]

    def get_nik(self, obj) -> str:
        return mask_nik(obj.nik)

    def get_phone(self, obj) -> str:
        return mask_phone(obj.phone)

    def get_sponsor(self, obj) -> dict:
        s = obj.sponsor
        return {"id": s.pk, "full_name": s.full_name, "agency": s.agency.short_name or s.agency.name}

    # Checks, flags and an automatic rejection's reason as the caller may see them (nominations.SELF_CODES): a
    # sponsor's answer says nothing about whether the NIK belongs to a worker or who pays. Pass the request in the
    # context; without it only the sponsor's view is given.
    def _user(self):
        return getattr(self.context.get("request"), "user", None)

    def _seen(self, obj) -> dict:
        cache: dict[int, dict] = self.__dict__.setdefault("_checks_seen", {})  # per answer (the list shares it)
        if obj.pk not in cache:
            cache[obj.pk] = nomination_checks_seen_by(obj, self._user())
        return cache[obj.pk]

    def get_checks(self, obj) -> dict:
        return self._seen(obj)

    def get_flags(self, obj) -> list[str]:
        return [f["code"] for f in self._seen(obj).get("flags", [])]

    def get_conflict_of_interest(self, obj) -> bool:
        return bool(self._seen(obj).get("conflict_of_interest"))

    def get_reject_reason(self, obj) -> str:
        return nomination_reject_reason_seen_by(obj, self._user())


class RejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class MatchingRunCreateSerializer(serializers.Serializer):
    radius_m = serializers.IntegerField(min_value=500, max_value=50_000, required=False)
    policy = serializers.ChoiceField(choices=["lowest_decile_first", "uniform"], default="lowest_decile_first")
    # No default here: the service falls back to settings.MATCHING_RUN_DISTANCE.
    distance = serializers.ChoiceField(
        choices=MatchingRun.Distance.values,
        required=False,
        help_text='"exact": total distance minimised over every pair within the radius, proven to within '
        'MATCHING_DISTANCE_GAP_TOLERANCE (default 0.5%) of the optimum; "fast": the restricted polish '
        'only. Default: the MATCHING_RUN_DISTANCE setting ("exact").',
        error_messages={
            "invalid_choice": _('Unknown distance mode "{input}". Choose "exact" (optimal distance, proven) or "fast".')
        },
    )


class MatchingRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    regency_code = serializers.CharField(source="regency.code")
    radius_m = serializers.IntegerField()
    policy = serializers.CharField()
    distance = serializers.ChoiceField(choices=MatchingRun.Distance.values)
    status = serializers.CharField()
    fingerprint = serializers.CharField()
    preview = serializers.JSONField()
    proposals_created = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    applied_at = serializers.DateTimeField(allow_null=True)
    progress = serializers.JSONField(help_text="{done, total, stage} of the solve or apply task")
    error = serializers.CharField(help_text="Why a failed run failed")


class SponsorLeaveSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["left", "retired"])


class LeaveRequestSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    confirm = serializers.BooleanField()
