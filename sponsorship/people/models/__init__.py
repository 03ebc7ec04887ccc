from .access_log import PersonalDataAccess
from .accounts import Profile, Role
from .people import Agency, Occupation, Sex, Sponsor, Worker, WorkerConsent
from .signin import WorkerSignInChallenge
from .sponsorships import Sponsorship

__all__ = [
    "Agency",
    "Occupation",
    "PersonalDataAccess",
    "Profile",
    "Role",
    "Sex",
    "Sponsor",
    "Sponsorship",
    "Worker",
    "WorkerConsent",
    "WorkerSignInChallenge",
]
