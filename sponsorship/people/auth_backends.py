"""Sign-in with the NIP / NI PPPK as well as the username (the app's ASN sign-in screen takes either)."""

import re

from django.contrib.auth.backends import ModelBackend

from sponsorship.people.models import Sponsor

_NIP = re.compile(r"\d{18}")


class NipBackend(ModelBackend):
    """An 18-digit NIP (spaces or dots allowed) names the sponsor's user; the password check is Django's own.

    Anything that is not a valid NIP is left to the next backend, so a username made of digits still works."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not username or not password:
            return None
        nip = re.sub(r"[\s.]", "", str(username))
        if not _NIP.fullmatch(nip):
            return None
        sponsor = Sponsor.objects.filter(nip=nip, user__isnull=False).select_related("user").first()
        if sponsor is None:
            return None
        return super().authenticate(request, username=sponsor.user.get_username(), password=password, **kwargs)
