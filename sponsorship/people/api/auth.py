"""JWT sign-in for the mobile app: throttled per IP, locked per username+IP after repeated failures (the lockout
shared with the dashboard and admin logins, people/auth/lockout.py), audited."""

import logging

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from backend.api.errors import error_body
from sponsorship.people.auth import lockout

logger = logging.getLogger(__name__)


class LoginThrottle(ScopedRateThrottle):
    scope_attr = "throttle_scope"


def _username(request) -> str:
    return str(request.data.get("username", "") if hasattr(request.data, "get") else "")


def _locked_response(request):
    response = Response(
        error_body(lockout.locked_message(), code="login_locked"), status=status.HTTP_429_TOO_MANY_REQUESTS
    )
    response["Retry-After"] = str(settings.LOGIN_LOCKOUT_SECONDS)
    return response


@extend_schema(summary="Sign in with username and password: access and refresh tokens")
class TokenObtainView(TokenObtainPairView):
    throttle_classes = [LoginThrottle]
    throttle_scope = "login"

    def post(self, request, *args, **kwargs):
        # Failures are counted (and cleared on success) by the authentication backend, the same counter as the
        # dashboard and admin logins; here only the answer while locked is an API one.
        if lockout.is_locked(_username(request), lockout.client_ip(request)):
            return _locked_response(request)
        return super().post(request, *args, **kwargs)


@extend_schema(summary="Exchange a refresh token for a new access token (the refresh token rotates)")
class TokenRefreshThrottledView(TokenRefreshView):
    throttle_classes = [LoginThrottle]
    throttle_scope = "login"
