"""Self-pay links: a worker no sponsor or pool takes gets a link to pay their own premium.

The link carries a random token (32 bytes, URL-safe); only its SHA-256 is stored, so a database reader cannot
rebuild a link. It opens without an account, shows the worker's first name, the month and the amount, and expires.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from sponsorship.people.models import Worker


class SelfPayLink(models.Model):
    worker = models.ForeignKey(Worker, on_delete=models.PROTECT, related_name="self_pay_links")
    invoice = models.OneToOneField("billing.Invoice", on_delete=models.PROTECT, related_name="self_pay_link")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    opened_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("self-pay link")
        verbose_name_plural = _("self-pay links")
        db_table = "sponsorship_selfpaylink"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(expires_at__gt=models.F("created_at")), name="selfpay_expiry")
        ]

    def __str__(self):
        return f"{self.worker_id} {self.invoice_id}"
