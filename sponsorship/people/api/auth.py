"""JWT sign-in for the mobile app: throttled per IP, locked per username+IP after repeated failures, audited."""

import hashlib
import logging

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from backend.api.errors import error_body

logger = logging.getLogger(__name__)


class LoginThrottle(ScopedRateThrottle):
    scope_attr = "throttle_scope"


def _lockout_key(request) -> str:
    username = str(request.data.get("username", "") if hasattr(request.data, "get") else "").strip().lower()
    ip = request.META.get("REMOTE_ADDR", "")
    return "login-fail:" + hashlib.sha256(f"{username}|{ip}".encode()).hexdigest()


def _failures(key) -> int:
    try:
        return int(cache.get(key) or 0)
    except (TypeError, ValueError):
        return 0


def _locked_response(request):
    minutes = max(settings.LOGIN_LOCKOUT_SECONDS // 60, 1)
    message = _(
        "Too many failed sign-in attempts. This account is locked for now; try again in %(minutes)s "
        "minutes or contact your agency admin."
    ) % {"minutes": minutes}
    response = Response(error_body(message, code="login_locked"), status=status.HTTP_429_TOO_MANY_REQUESTS)
    response["Retry-After"] = str(settings.LOGIN_LOCKOUT_SECONDS)
    return response


@extend_schema(summary="Sign in with username and password: access and refresh tokens")
class TokenObtainView(TokenObtainPairView):
    throttle_classes = [LoginThrottle]
    throttle_scope = "login"

    def post(self, request, *args, **kwargs):
        key = _lockout_key(request)
        if _failures(key) >= settings.LOGIN_LOCKOUT_ATTEMPTS:
            return _locked_response(request)
        try:
            response = super().post(request, *args, **kwargs)
        except exceptions.AuthenticationFailed:  # simplejwt raises on a wrong password
            self._count_failure(request, key)
            raise
        if response.status_code == status.HTTP_200_OK:
            cache.delete(key)
        return response

    @staticmethod
    def _count_failure(request, key):
        count = _failures(key) + 1
        cache.set(key, count, settings.LOGIN_LOCKOUT_SECONDS)
        if count == settings.LOGIN_LOCKOUT_ATTEMPTS:
            from sponsorship.core.audit import audit_record

            audit_record(
                actor=None,
                action="auth.login_locked",
                object_type="user",
                object_id=str(request.data.get("username", ""))[:40],
                ip=request.META.get("REMOTE_ADDR"),
            )
            logger.warning("login locked after %s failures from %s", count, request.META.get("REMOTE_ADDR"))


@extend_schema(summary="Exchange a refresh token for a new access token (the refresh token rotates)")
class TokenRefreshThrottledView(TokenRefreshView):
    throttle_classes = [LoginThrottle]
    throttle_scope = "login"
