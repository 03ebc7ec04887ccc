from .accounts import Profile, Role
from .life_events import LifeEvent
from .people import Agency, Occupation, Sex, Sponsor, Worker, WorkerConsent
from .signin import WorkerSignInChallenge
from .sponsorships import Sponsorship

__all__ = [
    "Agency",
    "LifeEvent",
    "Occupation",
    "Profile",
    "Role",
    "Sex",
    "Sponsor",
    "Sponsorship",
    "Worker",
    "WorkerConsent",
    "WorkerSignInChallenge",
]
