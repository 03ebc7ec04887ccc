from .accounts import Profile, Role
from .audit import AuditLog
from .people import Agency, Occupation, Sex, Sponsor, Worker, WorkerConsent
from .regions import Region, RegencyConfig
from .sponsorships import Sponsorship

__all__ = [
    "Agency", "AuditLog", "Occupation", "Profile", "RegencyConfig", "Region", "Role", "Sex",
    "Sponsor", "Sponsorship", "Worker", "WorkerConsent",
]
from .dashboard import ImportBatch, VillageTarget, WorkerSignInChallenge  # noqa: E402,F401
