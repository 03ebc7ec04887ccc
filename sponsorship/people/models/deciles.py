"""Welfare decile rounds (DTSEN re-rankings) and each worker's decile over time."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from sponsorship.regions.models import Region

from .people import Worker


class DecileRound(models.Model):
    """One ranking of a regency's households from the social office (DTSEN), by its ranking date.

    Keyed by (regency, ranking date): importing the same round again lands in the same round, so a file
    applied twice changes nothing the second time."""

    class Source(models.TextChoices):
        DTSEN = "dtsen", "DTSEN"

    regency = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="decile_rounds", limit_choices_to={"level": Region.Level.REGENCY}
    )
    ranked_on = models.DateField(help_text="Ranking date given by the social office")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.DTSEN)
    file_name = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("decile round")
        verbose_name_plural = _("decile rounds")
        ordering = ["-ranked_on"]
        constraints = [models.UniqueConstraint(fields=["regency", "ranked_on"], name="decileround_one_per_date")]

    def __str__(self):
        return f"DTSEN {self.ranked_on:%Y-%m-%d} ({self.regency_id})"


class WorkerDecile(models.Model):
    """A worker's decile as one round ranked it; the worker row keeps only the latest (Worker.welfare_decile)."""

    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="decile_history")
    round = models.ForeignKey(DecileRound, on_delete=models.PROTECT, related_name="worker_deciles")
    decile = models.PositiveSmallIntegerField()
    previous_decile = models.PositiveSmallIntegerField(null=True, blank=True)
    above_cutoff = models.BooleanField(default=False)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("worker decile")
        verbose_name_plural = _("worker deciles")
        ordering = ["worker_id", "-round__ranked_on"]
        constraints = [
            models.UniqueConstraint(fields=["worker", "round"], name="workerdecile_one_per_round"),
            models.CheckConstraint(condition=Q(decile__gte=1, decile__lte=10), name="workerdecile_1_10"),
        ]

    def __str__(self):
        return f"worker {self.worker_id}: {self.decile} ({self.round_id})"
