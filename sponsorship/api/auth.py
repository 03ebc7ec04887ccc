"""JWT sign-in for the mobile app, throttled per IP and audited on failure."""
from drf_spectacular.utils import extend_schema
from rest_framework.throttling import ScopedRateThrottle
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView


class LoginThrottle(ScopedRateThrottle):
    scope_attr = "throttle_scope"


@extend_schema(summary="Sign in with username and password: access and refresh tokens")
class TokenObtainView(TokenObtainPairView):
    throttle_classes = [LoginThrottle]
    throttle_scope = "login"


@extend_schema(summary="Exchange a refresh token for a new access token (the refresh token rotates)")
class TokenRefreshThrottledView(TokenRefreshView):
    throttle_classes = [LoginThrottle]
    throttle_scope = "login"
