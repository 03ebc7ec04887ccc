"""A worker to be offered to new sponsors first: bridged by a fund, a budget cohort ending, a sponsor gone.

Matching reads it (`sponsorship.matching.selectors`): a flagged worker is eligible even while a bridge fund or the
regency budget still pays, and gets the lapse boost until the flag is cleared or its date passes.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .people import Worker


class MatchPriority(models.Model):
    class Reason(models.TextChoices):
        BRIDGED = "bridged", _("Paid by a bridge fund for now")
        COHORT_ENDING = "cohort_ending", _("Budget-funded period is ending")
        SPONSOR_LEFT = "sponsor_left", _("Sponsor stopped")

    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="match_priorities")
    reason = models.CharField(max_length=16, choices=Reason.choices)
    until = models.DateField(help_text="Last day the flag applies")
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("matching priority")
        verbose_name_plural = _("matching priorities")
        db_table = "sponsorship_matchpriority"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["worker", "reason"], condition=Q(cleared_at__isnull=True), name="matchpriority_one_open"
            ),
        ]

    def __str__(self):
        return f"{self.worker_id} {self.reason} ≤{self.until}"
