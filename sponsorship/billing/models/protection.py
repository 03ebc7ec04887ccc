"""What was done about a worker whose protection is at risk: the one log every safety-net step writes.

The at-risk dashboard reads it ("what has been done"); reminders, the bridge fund, the self-pay hand-over,
cohort offers and re-matching each add a row through `sponsorship.billing.services.protection_log`.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from sponsorship.people.models import Worker


class ProtectionAction(models.Model):
    class Kind(models.TextChoices):
        REMINDED_SPONSOR = "reminded_sponsor", _("Sponsor reminded")
        REMINDED_WORKER = "reminded_worker", _("Worker reminded")
        BRIDGED = "bridged", _("Paid by a bridge fund")
        BRIDGE_ENDED = "bridge_ended", _("Bridge fund stopped paying")
        HANDED_OVER = "handed_over", _("Self-pay link sent")
        SELF_PAID = "self_paid", _("Paid by the worker")
        OFFERED = "offered", _("Offered to new sponsors")
        REMATCHED = "rematched", _("New sponsor found")
        BENEFIT_NOTIFIED = "benefit_notified", _("Sponsor told about a benefit")

    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="protection_actions")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    at = models.DateTimeField(db_index=True)
    # Why and with what: days left at the time, the pool, the link's expiry... Never NIK, phone or location.
    detail = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("protection action")
        verbose_name_plural = _("protection actions")
        db_table = "sponsorship_protectionaction"
        ordering = ["-at"]
        indexes = [models.Index(fields=["worker", "-at"], name="protaction_worker_at")]

    def __str__(self):
        return f"{self.worker_id} {self.kind} {self.at:%Y-%m-%d}"
