"""Reads of the people app that several apps share: the personal-data access log for its officer."""

from sponsorship.people.models import PersonalDataAccess, Role
from sponsorship.people.scoping import profile_of, role_of


def is_data_protection_officer(user) -> bool:
    """A superuser, or a regency admin holding `people.view_personaldataaccess` (given in the Django admin)."""
    role = role_of(user)
    if role == "superuser":
        return True
    return role == Role.REGENCY_ADMIN and user.has_perm("people.view_personaldataaccess")


def accesses_for(user):
    """The access-log rows a data-protection officer may read: their regency's (a superuser: all)."""
    qs = PersonalDataAccess.objects.select_related("actor")
    if getattr(user, "is_superuser", False):
        return qs
    profile = profile_of(user)
    if profile is None or not is_data_protection_officer(user):
        return qs.none()
    return qs.filter(regency_id=profile.regency_id)
