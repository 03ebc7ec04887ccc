"""Life events: what happens to a worker or a sponsor that ends sponsorships (people/services/life_events.py)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .people import Sponsor, Worker


class LifeEvent(models.Model):
    """One declared event: who it happened to, what, when, who declared it and on what evidence. Append-only."""

    class Kind(models.TextChoices):
        # about a worker
        WORKER_DIED = "worker_died", _("Worker died")
        WORKER_FORMAL_JOB = "worker_formal_job", _("Worker got a formal job (wage-earner member)")
        WORKER_OTHER_PAYER = "worker_other_payer", _("Worker has another payer (APBD/DBHCHT, self)")
        WORKER_AGED_OUT = "worker_aged_out", _("Worker reached the age limit")
        WORKER_MOVED_AWAY = "worker_moved_away", _("Worker moved away")
        # about a sponsor
        SPONSOR_RETIRED = "sponsor_retired", _("Sponsor retired")
        SPONSOR_DIED = "sponsor_died", _("Sponsor died")
        SPONSOR_MOVED = "sponsor_moved", _("Sponsor moved to another regency")
        SPONSOR_LEFT_SERVICE = "sponsor_left_service", _("Sponsor left the civil service")

    WORKER_KINDS = (
        Kind.WORKER_DIED,
        Kind.WORKER_FORMAL_JOB,
        Kind.WORKER_OTHER_PAYER,
        Kind.WORKER_AGED_OUT,
        Kind.WORKER_MOVED_AWAY,
    )
    SPONSOR_KINDS = (Kind.SPONSOR_RETIRED, Kind.SPONSOR_DIED, Kind.SPONSOR_MOVED, Kind.SPONSOR_LEFT_SERVICE)

    kind = models.CharField(max_length=24, choices=Kind.choices, db_index=True)
    worker = models.ForeignKey(Worker, null=True, blank=True, on_delete=models.PROTECT, related_name="life_events")
    sponsor = models.ForeignKey(Sponsor, null=True, blank=True, on_delete=models.PROTECT, related_name="life_events")
    occurred_on = models.DateField()
    other_payer = models.CharField(
        max_length=16, choices=Worker.Payer.choices, blank=True, help_text="For 'another payer': who pays now"
    )
    evidence_note = models.TextField(blank=True, help_text="What proves it (e.g. the death certificate number)")
    sponsor_may_be_told = models.BooleanField(
        default=False, help_text="The worker's family agreed that the sponsor is told why (a death)"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    ended_sponsorships = models.JSONField(default=list, blank=True, help_text="Ids of the sponsorships it ended")

    class Meta:
        verbose_name = _("life event")
        verbose_name_plural = _("life events")
        db_table = "sponsorship_lifeevent"
        ordering = ["-recorded_at"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(worker__isnull=False, sponsor__isnull=True) & Q(kind__startswith="worker_"))
                | (Q(worker__isnull=True, sponsor__isnull=False) & Q(kind__startswith="sponsor_")),
                name="lifeevent_one_subject_of_its_kind",
            ),
            models.CheckConstraint(
                condition=~Q(kind="worker_other_payer") | Q(other_payer__in=["self", "regency_budget"]),
                name="lifeevent_other_payer_named",
            ),
        ]

    def __str__(self):  # ids only: no personal data in admin logs
        subject = f"worker {self.worker_id}" if self.worker_id else f"sponsor {self.sponsor_id}"
        return f"{self.kind} of {subject} on {self.occurred_on}"
