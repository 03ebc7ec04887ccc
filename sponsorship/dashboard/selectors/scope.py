"""Who may see which slice of the dashboard: a regency admin the regency, an agency admin one agency."""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied

from sponsorship.people.models import Agency, Role, Sponsor, Sponsorship
from sponsorship.people.scoping import profile_of
from sponsorship.regions.models import RegencyConfig, Region


@dataclass(frozen=True)
class AdminScope:
    """The slice of data an HR admin works on: a regency, and for an agency admin one agency in it."""

    regency: Region
    agency: Agency | None
    user: object = None

    @property
    def label(self) -> str:
        return f"{self.agency.name} — {self.regency.name}" if self.agency else self.regency.name

    def sponsors(self):
        qs = Sponsor.objects.filter(agency__regency=self.regency)
        return qs.filter(agency=self.agency) if self.agency else qs

    def agencies(self):
        qs = Agency.objects.filter(regency=self.regency)
        return qs.filter(pk=self.agency.pk) if self.agency else qs

    def active_sponsorships(self):
        qs = Sponsorship.objects.filter(status=Sponsorship.Status.ACTIVE, sponsor__agency__regency=self.regency)
        return qs.filter(sponsor__agency=self.agency) if self.agency else qs


def admin_scope(user, *, regency_code: str | None = None) -> AdminScope:
    """Regency admins get their regency, agency admins their agency; superusers any regency (query param).
    Everyone else: PermissionDenied (403)."""
    if not getattr(user, "is_authenticated", False):
        raise PermissionDenied
    if user.is_superuser:
        qs = Region.objects.filter(level=Region.Level.REGENCY)
        regency = (
            (qs.filter(code=regency_code).first() if regency_code else None)
            or qs.filter(agencies__isnull=False).distinct().order_by("code").first()
            or qs.order_by("code").first()
        )
        if regency is None:
            raise PermissionDenied
        return AdminScope(regency=regency, agency=None, user=user)
    profile = profile_of(user)
    if profile is None:
        raise PermissionDenied
    if profile.role == Role.REGENCY_ADMIN and profile.regency_id:
        assert profile.regency is not None  # regency_id is set
        return AdminScope(regency=profile.regency, agency=None, user=user)
    if profile.role == Role.AGENCY_ADMIN and profile.agency_id:
        agency = Agency.objects.select_related("regency").get(pk=profile.agency_id)
        return AdminScope(regency=agency.regency, agency=agency, user=user)
    raise PermissionDenied


def default_village_target(regency: Region) -> int:
    config = RegencyConfig.objects.filter(regency=regency).only("village_target").first()
    return config.village_target if config else 100
