from .accounts import Profile, Role
from .audit import AuditLog
from .people import Agency, Occupation, Sex, Sponsor, Worker, WorkerConsent
from .regions import Region, RegencyConfig
from .sponsorships import Sponsorship

__all__ = [
    "Agency", "AuditLog", "Occupation", "Profile", "RegencyConfig", "Region", "Role", "Sex",
    "Sponsor", "Sponsorship", "Worker", "WorkerConsent",
]
from .billing import FundingSource, Holiday, Invoice, InvoiceLine, PremiumRate, Sector  # noqa: E402,F401  money
from .payments import PaymentAttempt, PaymentNotification  # noqa: E402,F401  money
from .coverage import CoverageMonth, CreditEntry, RefundCase, RemittanceBatch  # noqa: E402,F401  money
from .dashboard import ImportBatch, VillageTarget, WorkerSignInChallenge  # noqa: E402,F401
from .matching import MatchingRun, Nomination, Proposal  # noqa: E402,F401
