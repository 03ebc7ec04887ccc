"""The coverage ledger (one row per paid worker-month), sponsor credits, refund cases, remittance batches."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from sponsorship.people.models import Sponsor, Worker

from .billing import Invoice, InvoiceLine
from .payments import PaymentAttempt


class RemittanceBatch(models.Model):
    """One monthly export of paid worker-months for the collective payment to BPJS."""

    period = models.DateField(help_text="Coverage month exported (1st of month)")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rows = models.PositiveIntegerField(default=0)
    total_idr = models.PositiveBigIntegerField(default=0)
    # Worker-months remitted earlier whose payment was taken back, reclaimed in this file as negative lines.
    clawback_rows = models.PositiveIntegerField(default=0)
    clawback_idr = models.PositiveBigIntegerField(default=0, help_text="Reclaimed (shown negative in the file)")
    file_name = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("remittance batch")
        verbose_name_plural = _("remittance batches")
        db_table = "sponsorship_remittancebatch"
        ordering = ["-created_at"]

    def __str__(self):
        return f"Remitansi {self.period:%Y-%m} ({self.rows} baris)"


class CoverageMonth(models.Model):
    """A worker is protected for `month` because this invoice paid it. Never two rows per worker-month."""

    worker = models.ForeignKey(Worker, on_delete=models.PROTECT, related_name="coverage_months")
    month = models.DateField()
    sponsor = models.ForeignKey(Sponsor, null=True, on_delete=models.PROTECT, related_name="coverage_months")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="coverage_months")
    line = models.OneToOneField(InvoiceLine, null=True, on_delete=models.PROTECT, related_name="coverage")
    attempt = models.ForeignKey(PaymentAttempt, null=True, on_delete=models.PROTECT, related_name="coverage_months")
    jkk_idr = models.PositiveIntegerField()
    jkm_idr = models.PositiveIntegerField()
    jht_idr = models.PositiveIntegerField(default=0)
    amount_idr = models.PositiveIntegerField()
    paid_at = models.DateTimeField()
    remittance = models.ForeignKey(
        RemittanceBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="coverage_months"
    )
    remitted_at = models.DateTimeField(null=True, blank=True)
    registration_status = models.CharField(max_length=40, blank=True)

    class Meta:
        verbose_name = _("coverage month")
        verbose_name_plural = _("coverage months")
        db_table = "sponsorship_coveragemonth"
        ordering = ["worker_id", "month"]
        constraints = [
            models.UniqueConstraint(fields=["worker", "month"], name="coveragemonth_one_per_worker_month"),
        ]
        indexes = [models.Index(fields=["month", "remittance"])]

    def __str__(self):
        return f"{self.worker_id} {self.month:%Y-%m}"


class RemittanceClawback(models.Model):
    """A worker-month remitted to BPJS whose payment was then taken back (bank reversal, refund, chargeback).

    The coverage row is gone; this row keeps what was paid to BPJS so the next remittance file reclaims it as a
    negative line with its reason (`claimed_in`). One per remitted coverage row removed.
    """

    worker = models.ForeignKey(Worker, on_delete=models.PROTECT, related_name="remittance_clawbacks")
    month = models.DateField()
    sponsor = models.ForeignKey(Sponsor, null=True, on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="remittance_clawbacks")
    attempt = models.ForeignKey(PaymentAttempt, null=True, on_delete=models.PROTECT, related_name="+")
    jkk_idr = models.PositiveIntegerField()
    jkm_idr = models.PositiveIntegerField()
    jht_idr = models.PositiveIntegerField(default=0)
    amount_idr = models.PositiveIntegerField(help_text="What was remitted and is reclaimed")
    reason = models.CharField(max_length=200)
    remitted_in = models.ForeignKey(RemittanceBatch, on_delete=models.PROTECT, related_name="+")
    claimed_in = models.ForeignKey(
        RemittanceBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="clawbacks"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("remittance clawback")
        verbose_name_plural = _("remittance clawbacks")
        db_table = "sponsorship_remittanceclawback"
        ordering = ["created_at"]
        indexes = [models.Index(fields=["claimed_in"], name="clawback_unclaimed")]

    def __str__(self):
        return f"-{self.amount_idr} {self.worker_id} {self.month:%Y-%m}"


class CreditEntry(models.Model):
    """Sponsor credit ledger: +surplus from a double payment, −applied on a later invoice."""

    class Kind(models.TextChoices):
        SURPLUS = "surplus", _("Overpayment")
        APPLIED = "applied", _("Applied to a bill")
        RESTORED = "restored", _("Restored from a cancelled bill")
        REFUNDED = "refunded", _("Refunded to the sponsor")
        REVERSED = "reversed", _("Reversed: payment reversed or refunded")

    sponsor = models.ForeignKey(Sponsor, on_delete=models.PROTECT, related_name="credit_entries")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    amount_idr = models.IntegerField(help_text="Positive adds credit, negative uses it")
    invoice = models.ForeignKey(Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="credit_entries")
    attempt = models.ForeignKey(PaymentAttempt, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("credit entry")
        verbose_name_plural = _("credit entries")
        db_table = "sponsorship_creditentry"
        ordering = ["-created_at"]
        constraints = [
            # One surplus booking per attempt: replaying a settlement can never credit twice.
            models.UniqueConstraint(
                fields=["attempt", "kind"], condition=Q(kind="surplus"), name="creditentry_one_surplus_per_attempt"
            ),
            models.UniqueConstraint(
                fields=["invoice", "kind"], condition=Q(kind="applied"), name="creditentry_one_applied_per_invoice"
            ),
        ]

    def __str__(self):
        return f"{self.kind} {self.amount_idr:+} (sponsor {self.sponsor_id})"


class RefundCase(models.Model):
    """Money we hold that does not buy coverage (amount mismatch, paid after the sponsorship ended)."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        REFUNDED = "refunded", _("Refunded through Midtrans")
        MANUAL_TRANSFER = "manual_transfer", _("Manual bank transfer needed")
        RESOLVED = "resolved", _("Resolved")

    # Refunded through Midtrans, or paid back by hand and resolved by an admin; a case never reopens.
    TRANSITIONS = {
        Status.OPEN: {Status.REFUNDED, Status.MANUAL_TRANSFER, Status.RESOLVED},
        Status.MANUAL_TRANSFER: {Status.REFUNDED, Status.RESOLVED},
        Status.REFUNDED: set(),
        Status.RESOLVED: set(),
    }

    class Reason(models.TextChoices):
        AMOUNT_MISMATCH = "amount_mismatch", _("Amount differs from the bill")
        DOUBLE_PAYMENT = "double_payment", _("Double payment")
        VOID_INVOICE_PAID = "void_invoice_paid", _("Cancelled bill was paid")
        PAYROLL_EXCESS = "payroll_excess", _("Salary deduction above the bill")

    # NULL when the money came from a worker paying their own premium (self-pay): it can only go back to them.
    sponsor = models.ForeignKey(Sponsor, null=True, blank=True, on_delete=models.PROTECT, related_name="refund_cases")
    attempt = models.ForeignKey(PaymentAttempt, on_delete=models.PROTECT, related_name="refund_cases")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    amount_idr = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True)
    note = models.TextField(blank=True)
    # Refund through the gateway (POST /v2/{order_id}/refund): refund_key is the idempotency key.
    refund_key = models.CharField(max_length=64, blank=True)
    refunded_amount_idr = models.PositiveIntegerField(default=0)
    refunded_at = models.DateTimeField(null=True, blank=True)
    gateway_refund_id = models.CharField(max_length=32, blank=True)
    bank_confirmed_at = models.CharField(max_length=32, blank=True, help_text="From the refund notification")
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("refund case")
        verbose_name_plural = _("refund cases")
        db_table = "sponsorship_refundcase"
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["attempt", "reason"], name="refundcase_one_per_attempt_reason")]

    def __str__(self):
        return f"{self.reason} Rp {self.amount_idr} ({self.status})"
