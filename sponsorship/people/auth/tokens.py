"""A changed password ends every session of the account, refresh tokens included.

Django already ends the other browser sessions (the session hash follows the password); the mobile app's refresh
tokens did not notice, so a stolen phone or a leaked token kept working for days after the owner changed the
password. Every refresh token simplejwt issues (sign-in and each rotation) is listed as outstanding, so
blacklisting the outstanding ones ends them all; an access token lives out its short lifetime (15 minutes).
"""

from django.contrib.auth import get_user_model
from django.db.models.signals import post_save


def tokens_revoke_all(*, user) -> int:
    """Blacklist every refresh token of `user` not yet blacklisted; returns how many."""
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

    live = list(OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True))
    BlacklistedToken.objects.bulk_create([BlacklistedToken(token=t) for t in live], ignore_conflicts=True)
    return len(live)


def _password_changed(sender, instance, created, **kwargs):
    # set_password() keeps the raw password in `_password` until AbstractBaseUser.save() has run: that marks a
    # change of password (admin form, `changepassword`, a reset), whichever way it came.
    if not created and getattr(instance, "_password", None) is not None:
        tokens_revoke_all(user=instance)


def connect() -> None:
    post_save.connect(_password_changed, sender=get_user_model(), dispatch_uid="people.tokens.password_changed")
