"""A sponsorship: one ASN pays for one worker, from a start until it ends."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .people import Sponsor, Worker


class Sponsorship(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        ENDED = "ended", _("Ended")

    # The one table of allowed transitions; services move state with a conditional UPDATE.
    TRANSITIONS = {Status.ACTIVE: {Status.ENDED}, Status.ENDED: set()}

    class Source(models.TextChoices):
        PROPOSAL = "proposal", _("System proposal")
        NOMINATION = "nomination", _("Sponsor's nomination")
        MATCHING_RUN = "matching_run", _("Regency matching run")
        ADMIN = "admin", _("Admin")
        IMPORT = "import", _("Import")

    class EndReason(models.TextChoices):
        SPONSOR_LEFT = "sponsor_left", _("Sponsor left")
        SPONSOR_RETIRED = "sponsor_retired", _("Sponsor retired")
        NOT_PAID = "not_paid", _("Unpaid past the limit")
        WORKER_REQUEST = "worker_request", _("Worker's request")
        SPONSOR_REQUEST = "sponsor_request", _("Sponsor's request")
        OTHER = "other", _("Other")
        # life events (people/services/life_events.py)
        WORKER_DIED = "worker_died", _("Worker died")
        WORKER_FORMAL_JOB = "worker_formal_job", _("Worker got a formal job")
        WORKER_OTHER_PAYER = "worker_other_payer", _("Worker has another payer")
        WORKER_AGED_OUT = "worker_aged_out", _("Worker reached the age limit")
        WORKER_MOVED_AWAY = "worker_moved_away", _("Worker moved away")
        SPONSOR_DIED = "sponsor_died", _("Sponsor died")
        SPONSOR_MOVED = "sponsor_moved", _("Sponsor moved to another regency")

    sponsor = models.ForeignKey(Sponsor, on_delete=models.PROTECT, related_name="sponsorships")
    worker = models.ForeignKey(Worker, on_delete=models.PROTECT, related_name="sponsorships")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    source = models.CharField(max_length=16, choices=Source.choices)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=20, choices=EndReason.choices, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("sponsorship")
        verbose_name_plural = _("sponsorships")
        db_table = "sponsorship_sponsorship"
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["worker"], condition=Q(status="active"), name="sponsorship_one_active_sponsor_per_worker"
            ),
            models.CheckConstraint(
                condition=Q(status="active", ended_at__isnull=True) | Q(status="ended", ended_at__isnull=False),
                name="sponsorship_ended_has_end",
            ),
        ]
        indexes = [models.Index(fields=["sponsor", "status"])]

    def __str__(self):
        return f"{self.sponsor} → {self.worker} ({self.status})"
