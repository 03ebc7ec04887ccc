"""A sponsorship: one ASN pays for one worker, from a start until it ends."""
from django.conf import settings
from django.db import models
from django.db.models import Q

from .people import Sponsor, Worker


class Sponsorship(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Aktif"
        ENDED = "ended", "Berakhir"

    # The one table of allowed transitions; services move state with a conditional UPDATE.
    TRANSITIONS = {Status.ACTIVE: {Status.ENDED}, Status.ENDED: set()}

    class Source(models.TextChoices):
        PROPOSAL = "proposal", "Usulan sistem"
        NOMINATION = "nomination", "Nominasi ASN"
        MATCHING_RUN = "matching_run", "Pencocokan kabupaten"
        ADMIN = "admin", "Admin"
        IMPORT = "import", "Impor"

    class EndReason(models.TextChoices):
        SPONSOR_LEFT = "sponsor_left", "ASN keluar"
        SPONSOR_RETIRED = "sponsor_retired", "ASN pensiun"
        NOT_PAID = "not_paid", "Tidak dibayar melewati batas"
        WORKER_REQUEST = "worker_request", "Permintaan pekerja"
        SPONSOR_REQUEST = "sponsor_request", "Permintaan ASN"
        OTHER = "other", "Lainnya"

    sponsor = models.ForeignKey(Sponsor, on_delete=models.PROTECT, related_name="sponsorships")
    worker = models.ForeignKey(Worker, on_delete=models.PROTECT, related_name="sponsorships")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    source = models.CharField(max_length=16, choices=Source.choices)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=20, choices=EndReason.choices, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        db_table = "sponsorship_sponsorship"
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(fields=["worker"], condition=Q(status="active"),
                                    name="sponsorship_one_active_sponsor_per_worker"),
            models.CheckConstraint(condition=Q(status="active", ended_at__isnull=True) | Q(status="ended", ended_at__isnull=False),
                                   name="sponsorship_ended_has_end"),
        ]
        indexes = [models.Index(fields=["sponsor", "status"])]

    def __str__(self):
        return f"{self.sponsor} → {self.worker} ({self.status})"
