"""Matching: proposals offered to sponsors, nominations by sponsors, regency-wide matching runs.

A declined proposal doubles as the decline record: the cooldown is "a declined proposal for this
(sponsor, worker) decided less than RegencyConfig.decline_cooldown_days ago".
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from sponsorship.people.crypto import EncryptedTextField
from sponsorship.people.models import Occupation, Sponsor, Sponsorship, Worker
from sponsorship.regions.models import Region


class MatchingRun(models.Model):
    """One regency-wide optimisation: previewed first, applied at most once (status moves only forward)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SOLVING = "solving", _("Solving")
        PREVIEW = "preview", _("Preview")
        APPLYING = "applying", _("Being applied")
        APPLIED = "applied", _("Applied")
        FAILED = "failed", _("Failed")

    # A large run is solved and applied by Celery tasks (services/runs.py, docs/long-work.md): QUEUED → SOLVING →
    # PREVIEW → APPLYING → APPLIED. A solve whose worker died (stale heartbeat) goes back to QUEUED (the sweep);
    # after MAX_ATTEMPTS it is FAILED. An apply is one transaction: a dead worker leaves it APPLYING, queued again.
    TRANSITIONS = {
        Status.QUEUED: {Status.SOLVING, Status.FAILED},
        Status.SOLVING: {Status.PREVIEW, Status.QUEUED, Status.FAILED},
        Status.PREVIEW: {Status.APPLYING, Status.APPLIED},
        Status.APPLYING: {Status.APPLIED, Status.PREVIEW},
        Status.APPLIED: set(),
        Status.FAILED: set(),
    }
    MAX_ATTEMPTS = 3

    class Distance(models.TextChoices):
        # exact: the total distance minimised over every pair within the radius, proven by a dual certificate
        # to within settings.MATCHING_DISTANCE_GAP_TOLERANCE; fast: only the restricted polish (~10% above the
        # optimum at regency size). The covered weight is the optimum's either way.
        EXACT = "exact", _("Optimal distance (proven within 0.5%)")
        FAST = "fast", _("Fast")

    regency = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="+", limit_choices_to={"level": Region.Level.REGENCY}
    )
    radius_m = models.PositiveIntegerField()
    policy = models.CharField(max_length=40)
    distance = models.CharField(max_length=5, choices=Distance.choices, default=Distance.FAST)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PREVIEW, db_index=True)
    # sha256 of everything the solver saw (sponsors, free slots, workers, priorities, radius, policy, distance mode):
    # re-running on unchanged input returns the same run instead of a new one.
    fingerprint = models.CharField(max_length=64, db_index=True)
    preview = models.JSONField(default=dict)
    # The solver's pairs as little-endian int64 triples (sponsor_id, worker_id, distance_m): compact for 20k+ pairs.
    pairs = models.BinaryField(default=b"")
    proposals_created = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    applied_at = models.DateTimeField(null=True, blank=True)
    # Task bookkeeping: {done, total, stage} of the solve or apply; the last sign of life of the task that holds
    # the run (the sweep queues a run again when it is stale); solve attempts; why it failed (no personal data).
    progress = models.JSONField(default=dict, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("matching run")
        verbose_name_plural = _("matching runs")
        db_table = "sponsorship_matchingrun"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["queued", "solving", "preview", "applying", "failed"], applied_at__isnull=True)
                | Q(status="applied", applied_at__isnull=False),
                name="matchingrun_applied_has_time",
            ),
        ]

    def __str__(self):
        return f"Run #{self.pk} {self.regency_id} r={self.radius_m} {self.policy} {self.distance} ({self.status})"


class Proposal(models.Model):
    class Status(models.TextChoices):
        OFFERED = "offered", _("Offered")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        EXPIRED = "expired", _("Expired")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    TRANSITIONS = {
        Status.OFFERED: {Status.ACCEPTED, Status.DECLINED, Status.EXPIRED, Status.WITHDRAWN},
        Status.ACCEPTED: set(),
        Status.DECLINED: set(),
        Status.EXPIRED: set(),
        Status.WITHDRAWN: set(),
    }

    class Source(models.TextChoices):
        ON_DEMAND = "on_demand", _("Sponsor's request")
        MATCHING_RUN = "matching_run", _("Regency matching run")
        REMATCH = "rematch", _("Re-matching")

    # Few indexes on purpose: a run inserts ~20,000 rows at once. The composite indexes below cover
    # the foreign keys' lookups.
    sponsor = models.ForeignKey(Sponsor, on_delete=models.CASCADE, related_name="proposals", db_index=False)
    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="proposals", db_index=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OFFERED)
    source = models.CharField(max_length=12, choices=Source.choices)
    run = models.ForeignKey(MatchingRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="proposals")
    distance_m = models.PositiveIntegerField()
    same_village = models.BooleanField(default=False)
    priority = models.PositiveIntegerField(default=0, help_text="Higher first (decile weight + lapse boost)")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decline_reason = models.CharField(max_length=300, blank=True)
    sponsorship = models.ForeignKey(
        Sponsorship, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )

    class Meta:
        verbose_name = _("proposal")
        verbose_name_plural = _("proposals")
        db_table = "sponsorship_proposal"
        ordering = ["-priority", "distance_m"]
        constraints = [
            # The database keeps one open offer per (sponsor, worker): applying a run twice creates nothing.
            models.UniqueConstraint(
                fields=["sponsor", "worker"], condition=Q(status="offered"), name="proposal_one_open_per_sponsor_worker"
            ),
        ]
        indexes = [
            models.Index(fields=["sponsor", "status"]),
            models.Index(fields=["worker", "status"]),
            models.Index(fields=["status", "expires_at"]),
        ]

    def __str__(self):
        return f"{self.sponsor_id} ← {self.worker_id} ({self.status}, {self.source})"


class Nomination(models.Model):
    """A sponsor proposes a worker they know; an admin verifies (→ worker + sponsorship) or rejects."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        VERIFIED = "verified", _("Verified")
        REJECTED = "rejected", _("Rejected")

    TRANSITIONS = {Status.SUBMITTED: {Status.VERIFIED, Status.REJECTED}, Status.VERIFIED: set(), Status.REJECTED: set()}

    class Relationship(models.TextChoices):
        HOUSEHOLD_HELPER = "household_helper", _("Household helper")
        NEIGHBOUR = "neighbour", _("Neighbour")
        RELATIVE = "relative", _("Relative")
        ACQUAINTANCE = "acquaintance", _("Acquaintance")
        OTHER = "other", _("Other")

    sponsor = models.ForeignKey(Sponsor, on_delete=models.PROTECT, related_name="nominations")
    nik = EncryptedTextField("NIK")
    nik_hash = models.CharField(max_length=64, db_index=True)
    full_name = models.CharField(max_length=150)
    phone = EncryptedTextField(blank=True)
    phone_hash = models.CharField(max_length=64, blank=True)
    occupation = models.ForeignKey(Occupation, on_delete=models.PROTECT, related_name="+")
    village = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="+", limit_choices_to={"level": Region.Level.VILLAGE}
    )
    relationship = models.CharField(max_length=20, choices=Relationship.choices)
    consent_channel = models.CharField(max_length=10)
    consent_text_version = models.CharField(max_length=20)
    consent_collected_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SUBMITTED, db_index=True)
    checks = models.JSONField(default=dict, blank=True)
    conflict_of_interest = models.BooleanField(default=False)
    flags = models.JSONField(default=list, blank=True)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reject_reason = models.CharField(max_length=300, blank=True)
    worker = models.ForeignKey(Worker, null=True, blank=True, on_delete=models.SET_NULL, related_name="nominations")
    sponsorship = models.ForeignKey(Sponsorship, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("nomination")
        verbose_name_plural = _("nominations")
        db_table = "sponsorship_nomination"
        ordering = ["-created_at"]
        constraints = [
            # One pending nomination per person per sponsor (double taps, resubmits).
            models.UniqueConstraint(
                fields=["sponsor", "nik_hash"],
                condition=Q(status="submitted"),
                name="nomination_one_pending_per_sponsor_nik",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self):
        return f"Nominasi #{self.pk} oleh {self.sponsor_id} ({self.status})"
