"""What notifications needs to know about a recipient, told from people's tables (registered in apps.py).

Zone: a sponsor's regency is their agency's; a worker's is their village's; an admin's is their profile's.
Language: the profile's choice.
"""

from notifications.services import ids_in

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
