"""One sign-in lockout for every way in: the JWT endpoint, the dashboard login and the Django admin login.

All three authenticate through `django.contrib.auth.authenticate`, so the rule lives in the authentication
backend (`LockoutModelBackend`): after LOGIN_LOCKOUT_ATTEMPTS failures for one username from one client address
within LOGIN_LOCKOUT_SECONDS, that pair is refused, whatever door it knocks on, until the window ends; the right
password does not get in while locked. A success clears the counter. The counter is keyed per username and
address, so nobody can lock a real user out from another address.
"""

import hashlib
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext

from sponsorship.people.identifiers import IdentifierError, ascii_digits

logger = logging.getLogger(__name__)


def client_ip(request) -> str:
    """The address a request comes from. The one place sign-in reads it (a trusted-proxy rule belongs here)."""
    if request is None:
        return ""
    return str(request.META.get("REMOTE_ADDR") or "")


def _key(username, ip: str) -> str:
    name = str(username or "").strip().lower()
    return "login-fail:" + hashlib.sha256(f"{name}|{ip}".encode()).hexdigest()


def failures(username, ip: str) -> int:
    try:
        return int(cache.get(_key(username, ip)) or 0)
    except (TypeError, ValueError):
        return 0


def is_locked(username, ip: str) -> bool:
    return failures(username, ip) >= settings.LOGIN_LOCKOUT_ATTEMPTS


def record_failure(username, ip: str) -> int:
    count = failures(username, ip) + 1
    cache.set(_key(username, ip), count, settings.LOGIN_LOCKOUT_SECONDS)
    if count == settings.LOGIN_LOCKOUT_ATTEMPTS:
        from sponsorship.core.audit import AuditAction, audit_record

        audit_record(
            actor=None,
            action=AuditAction.AUTH_LOGIN_LOCKED,
            object_type="user",
            object_id=str(username or "")[:40],
            ip=ip or None,
        )
        logger.warning("login locked after %s failures from %s", count, ip)
    return count


def clear(username, ip: str) -> None:
    cache.delete(_key(username, ip))


def locked_message() -> str:
    minutes = max(settings.LOGIN_LOCKOUT_SECONDS // 60, 1)
    return gettext(
        "Too many failed sign-in attempts. This account is locked for now; try again in %(minutes)s "
        "minutes or contact your agency admin."
    ) % {"minutes": minutes}


NIP_LENGTH = 18  # NIP (PNS) and NI PPPK alike


def account_name(username) -> str:
    """The username a sign-in names. The app's ASN screen also takes the 18-digit NIP / NI PPPK (spaces or dots
    allowed): it names its sponsor's account, so the NIP and the username share one lockout counter. Anything else
    (a username made of digits too) is taken as it is."""
    text = str(username)
    try:
        nip = ascii_digits(text, "NIP")
    except IdentifierError:
        return text
    if len(nip) == NIP_LENGTH:
        from sponsorship.people.models import Sponsor

        sponsor = Sponsor.objects.filter(nip=nip, user__isnull=False).select_related("user").first()
        if sponsor is not None and sponsor.user is not None:
            return sponsor.user.get_username()
    return text


class LockoutModelBackend(ModelBackend):
    """Django's username/password backend behind the lockout. While locked, the password is not even checked."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        username = account_name(username)
        ip = client_ip(request)
        if is_locked(username, ip):
            raise PermissionDenied  # authenticate() stops here: no other backend is asked
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            record_failure(username, ip)
        else:
            clear(username, ip)
        return user
