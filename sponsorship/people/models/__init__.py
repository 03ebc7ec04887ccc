from .access_log import PersonalDataAccess
from .accounts import Profile, Role
from .cohorts import BenefitReceived, Cohort, CohortMember
from .collective import CollectiveGroup
from .deciles import DecileRound, WorkerDecile
from .life_events import LifeEvent
from .match_priority import MatchPriority
from .people import Agency, DecileReview, Occupation, Sex, Sponsor, Worker, WorkerConsent
from .signin import WorkerSignInChallenge
from .sponsorships import Sponsorship

__all__ = [
    "Agency",
    "BenefitReceived",
    "Cohort",
    "CohortMember",
    "CollectiveGroup",
    "DecileReview",
    "DecileRound",
    "LifeEvent",
    "MatchPriority",
    "Occupation",
    "PersonalDataAccess",
    "Profile",
    "Role",
    "Sex",
    "Sponsor",
    "Sponsorship",
    "Worker",
    "WorkerConsent",
    "WorkerDecile",
    "WorkerSignInChallenge",
]
