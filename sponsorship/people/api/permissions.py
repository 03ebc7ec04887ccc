from rest_framework.permissions import BasePermission

from sponsorship.people.models import Role
from sponsorship.people.scoping import role_of


class HasRole(BasePermission):
    """`HasRole.of("sponsor")` → a permission class allowing only those roles (superusers always)."""

    roles: tuple[str, ...] = ()

    @classmethod
    def of(cls, *roles):
        return type(f"HasRole_{'_'.join(roles)}", (cls,), {"roles": roles})

    def has_permission(self, request, view):
        role = role_of(request.user)
        return role == "superuser" or role in self.roles


IsSponsor = HasRole.of(Role.SPONSOR)
IsWorker = HasRole.of(Role.WORKER)
IsAdmin = HasRole.of(Role.AGENCY_ADMIN, Role.REGENCY_ADMIN)
IsRegencyAdmin = HasRole.of(Role.REGENCY_ADMIN)
# Province and national admins read aggregated figures only (sponsorship/dashboard/selectors/areas.py).
IsAreaAdmin = HasRole.of(Role.PROVINCE_ADMIN, Role.NATIONAL_ADMIN)
