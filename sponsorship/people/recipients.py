"""What notifications needs to know about a recipient, told from people's tables (registered in apps.py).

Zone: a sponsor's regency is their agency's; a worker's is their village's; an admin's is their profile's.
Language: the profile's choice. Contact: the role and the phone on file (for WhatsApp and SMS), and which users a
phone number belongs to (an inbound WhatsApp message, a STOP reply).
"""

from notifications.routing import Contact
from notifications.services import ids_in

from .crypto import keyed_hash
from .identifiers import IdentifierError, normalize_phone
from .models import Profile, Sponsor, Worker


def recipient_zones(user_ids: set[int]) -> dict[int, str | None]:
    names: dict[int, str | None] = {}
    for uid, name in Profile.objects.filter(user_id__in=ids_in(user_ids)).values_list(
        "user_id", "regency__config__timezone"
    ):
        names[uid] = name
    for uid, name in Worker.objects.filter(user_id__in=ids_in(user_ids)).values_list(
        "user_id", "village__parent__parent__config__timezone"
    ):
        names[uid] = name or names.get(uid)
    for uid, name in Sponsor.objects.filter(user_id__in=ids_in(user_ids)).values_list(
        "user_id", "agency__regency__config__timezone"
    ):
        names[uid] = name or names.get(uid)
    return names


def recipient_languages(user_ids: set[int]) -> dict[int, str]:
    return dict(Profile.objects.filter(user_id__in=ids_in(user_ids)).values_list("user_id", "language"))


def recipient_contacts(user_ids: set[int]) -> dict[int, Contact]:
    """Role and phone on file (E.164, decrypted here only to hand to the sending worker)."""
    roles = dict(Profile.objects.filter(user_id__in=ids_in(user_ids)).values_list("user_id", "role"))
    phones: dict[int, str] = {}
    for model in (Sponsor, Worker):
        for uid, phone in (
            model.objects.filter(user_id__in=ids_in(user_ids)).exclude(phone_hash="").values_list("user_id", "phone")
        ):
            phones[uid] = phone
    return {uid: Contact(role=roles.get(uid, ""), phone=phones.get(uid)) for uid in user_ids}


def users_by_phone(phone: str) -> list[int]:
    """The users whose phone on file is `phone`: a keyed-hash lookup, never a scan of clear numbers."""
    try:
        digest = keyed_hash(normalize_phone(phone))
    except IdentifierError:
        return []
    users: list[int] = []
    for model in (Worker, Sponsor):
        users += [
            uid
            for uid in model.objects.filter(phone_hash=digest, user__isnull=False).values_list("user_id", flat=True)
            if uid not in users
        ]
    return users
