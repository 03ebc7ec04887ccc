"""POST /api/v1/worker/auth/: worker sign-in in two steps (NIK + date of birth → code → tokens)."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from sponsorship.core.audit import audit_record
from sponsorship.people.services import worker_auth


class _LiveRateThrottle(SimpleRateThrottle):
    """Reads its rate when called, so settings overrides (tests, env) apply without a restart."""

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def __init__(self):
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)


class WorkerAuthIpThrottle(_LiveRateThrottle):
    scope = "worker_auth"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class WorkerAuthNikThrottle(_LiveRateThrottle):
    """Per NIK (its keyed hash), so one NIK cannot be probed from many addresses."""

    scope = "worker_auth_nik"

    def get_cache_key(self, request, view):
        data = request.data if hasattr(request, "data") else {}
        if not isinstance(data, dict) or "nik" not in data:  # a list body: the serializer says what is wrong
            return None
        nik_hash = worker_auth.nik_hash_for_throttle(data.get("nik"))
        if nik_hash is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": nik_hash}


class SignInInput(serializers.Serializer):
    nik = serializers.CharField(max_length=32, required=False)
    birth_date = serializers.DateField(required=False, input_formats=["%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y"])
    challenge = serializers.CharField(max_length=64, required=False)
    code = serializers.CharField(max_length=10, required=False)

    def validate(self, attrs):
        if attrs.get("challenge"):
            if not attrs.get("code"):
                raise serializers.ValidationError({"code": [_("The code is required.")]})
            return attrs
        missing = {f: [_("Required.")] for f in ("nik", "birth_date") if not attrs.get(f)}
        if missing:
            raise serializers.ValidationError(missing)
        return attrs


class CodeSentOutput(serializers.Serializer):
    status = serializers.CharField()
    challenge = serializers.CharField()
    expires_in = serializers.IntegerField()
    message = serializers.CharField()


class TokensOutput(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()
    worker_id = serializers.IntegerField()


def client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR")


class WorkerSignInView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [WorkerAuthIpThrottle, WorkerAuthNikThrottle]

    def throttled(self, request, wait):
        audit_record(
            actor=None,
            action="worker_auth.throttled",
            object_type="worker",
            ip=client_ip(request),
            extra={"wait_s": int(wait or 0)},
        )
        super().throttled(request, wait)

    @extend_schema(
        request=SignInInput,
        responses={
            202: CodeSentOutput,
            200: TokensOutput,
            400: OpenApiResponse(description="no match (same answer for unknown NIK)"),
            429: OpenApiResponse(description="throttled"),
        },
        summary="Worker sign-in: step 1 {nik, birth_date} → code sent; step 2 {challenge, code} → tokens",
    )
    def post(self, request):
        data = SignInInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        ip = client_ip(request)
        if values.get("challenge"):
            tokens = worker_auth.worker_signin_verify(challenge=values["challenge"], code=values["code"], ip=ip)
            return Response(TokensOutput(tokens).data)
        result = worker_auth.worker_signin_request(nik=values["nik"], birth_date=values["birth_date"], ip=ip)
        if result.tokens is not None:
            return Response(TokensOutput(result.tokens).data)
        return Response(
            CodeSentOutput(
                {
                    "status": "code_sent",
                    "challenge": result.challenge,
                    "expires_in": result.expires_in,
                    "message": _(
                        "If the data match, a 6-digit sign-in code has been sent by WhatsApp or SMS to the registered "
                        "phone."
                    ),
                }
            ).data,
            status=status.HTTP_202_ACCEPTED,
        )
