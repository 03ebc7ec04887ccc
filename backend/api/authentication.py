"""Bearer JWT authentication with the user's profile in the same query.

simplejwt loads the user by id, then every permission (IsSponsor, IsAdmin, ...) and every scoped read asks
for `user.profile` (role, agency, regency): a second query on each authenticated request. Here the user comes
with `select_related("profile")`; the checks are simplejwt's own (user exists, is active, the password has not
changed when CHECK_REVOKE_TOKEN), with the same messages and codes.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.utils import get_md5_hash_password


class JWTAuthentication(authentication.JWTAuthentication):
    def get_user(self, validated_token):
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as e:
            raise InvalidToken(_("Token contained no recognizable user identification")) from e
        try:
            user = self.user_model._default_manager.select_related("profile").get(
                **{api_settings.USER_ID_FIELD: user_id}
            )
        except self.user_model.DoesNotExist as e:
            raise AuthenticationFailed(_("User not found"), code="user_not_found") from e
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
        if api_settings.CHECK_REVOKE_TOKEN and validated_token.get(
            api_settings.REVOKE_TOKEN_CLAIM
        ) != get_md5_hash_password(user.password):
            raise AuthenticationFailed(_("The user's password has been changed."), code="password_changed")
        return user


class JWTScheme(SimpleJWTScheme):
    """The same bearer JWT security scheme in the OpenAPI schema as simplejwt's class had."""

    target_class = "backend.api.authentication.JWTAuthentication"
    name = "jwtAuth"
