"""Budget cohorts and benefits received: the two facts about a worker's protection that come from outside the ledger.

A cohort is a group of workers the regency budget (APBD) or the tobacco excise share (DBHCHT) protects for a fixed
period (e.g. March to December). The regency pays BPJS for them directly, so no coverage month is written here; the
protection clock of a member runs to the cohort's funding end date (billing/selectors/protection_clock.py), and
before it the members are offered to ASN sponsors (billing/protection_reminders.py).

A benefit received (JKK after a work accident, JKM after a death) is recorded by an admin so the dashboard can count
them; the sponsor is told only when the family agreed.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from sponsorship.regions.models import Region

from .people import Worker


class Cohort(models.Model):
    class Funder(models.TextChoices):
        APBD = "apbd", _("Regency budget (APBD)")
        DBHCHT = "dbhcht", _("Tobacco excise share (DBHCHT)")

    regency = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="cohorts", limit_choices_to={"level": Region.Level.REGENCY}
    )
    name = models.CharField(max_length=200)
    funder = models.CharField(max_length=8, choices=Funder.choices)
    starts_on = models.DateField()
    funded_until = models.DateField(help_text="Last day the budget pays for")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("budget cohort")
        verbose_name_plural = _("budget cohorts")
        db_table = "sponsorship_cohort"
        ordering = ["-funded_until", "name"]
        constraints = [
            models.UniqueConstraint(fields=["regency", "name"], name="cohort_unique_name_per_regency"),
            models.CheckConstraint(condition=Q(funded_until__gte=F("starts_on")), name="cohort_ends_after_start"),
        ]

    def __str__(self):
        return f"{self.name} ({self.funder}, {self.starts_on}–{self.funded_until})"


class CohortMember(models.Model):
    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="members")
    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="cohort_memberships")
    # When the members were offered to ASN sponsors (flag_for_matching "cohort_ending"); set once.
    offered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("cohort member")
        verbose_name_plural = _("cohort members")
        db_table = "sponsorship_cohortmember"
        constraints = [models.UniqueConstraint(fields=["cohort", "worker"], name="cohortmember_once")]

    def __str__(self):  # ids only
        return f"worker {self.worker_id} in cohort {self.cohort_id}"


class BenefitReceived(models.Model):
    """A JKK or JKM benefit paid by BPJS Ketenagakerjaan to a worker or their family. Append-only."""

    class Kind(models.TextChoices):
        JKK = "jkk", _("Work accident benefit (JKK)")
        JKM = "jkm", _("Death benefit (JKM)")

    worker = models.ForeignKey(Worker, on_delete=models.PROTECT, related_name="benefits_received")
    kind = models.CharField(max_length=3, choices=Kind.choices)
    received_on = models.DateField()
    amount_idr = models.PositiveBigIntegerField(null=True, blank=True)
    sponsor_may_be_told = models.BooleanField(
        default=False, help_text="The worker or the family agreed that the sponsor is told"
    )
    # The sponsor who was told (the active sponsor when it was recorded), or none.
    sponsor_told = models.ForeignKey(
        "people.Sponsor", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("benefit received")
        verbose_name_plural = _("benefits received")
        db_table = "sponsorship_benefitreceived"
        ordering = ["-received_on"]
        constraints = [
            models.UniqueConstraint(fields=["worker", "kind", "received_on"], name="benefit_once_per_day"),
        ]

    def __str__(self):  # ids only
        return f"{self.kind} of worker {self.worker_id} on {self.received_on}"
