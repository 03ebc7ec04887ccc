"""Premium rates (as data), holidays, invoices and their lines.

Money is integer rupiah. An invoice line snapshots the amounts it was issued with, so a later
rate change never alters an issued invoice.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from sponsorship.people.models import Sponsor, Worker


class Sector(models.TextChoices):
    ANY = "any", _("All sectors")
    TRANSPORT = "transport", _("Transport")
    NON_TRANSPORT = "non_transport", _("Non-transport")


class FundingSource(models.TextChoices):
    ANY = "any", _("All sources")
    SPONSOR = "sponsor", _("Sponsor (ASN)")
    REGENCY_BUDGET = "regency_budget", _("Regency budget (APBD)")
    SELF = "self", _("Self-paid")


class PremiumRate(models.Model):
    """One row of the BPU rate table. The most specific, highest-priority row valid on a month wins.

    JKK = income × jkk_rate_bp / 10 000 (1% = 100 bp), JKM flat, optional JHT = income × jht_rate_bp.
    `discount_pct` halves JKK + JKM under PP 50/2025 (never JHT).
    """

    name = models.CharField(max_length=120)
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True, help_text="Inclusive; empty = open-ended")
    sector = models.CharField(max_length=16, choices=Sector.choices, default=Sector.ANY)
    funding_source = models.CharField(max_length=16, choices=FundingSource.choices, default=FundingSource.ANY)
    declared_income_idr = models.PositiveIntegerField(default=1_000_000)
    jkk_rate_bp = models.PositiveIntegerField(default=100)
    jkm_idr = models.PositiveIntegerField(default=6_800)
    jht_rate_bp = models.PositiveIntegerField(default=200, help_text="Used only when the worker opted into JHT")
    discount_pct = models.PositiveSmallIntegerField(default=0)
    priority = models.SmallIntegerField(default=0, help_text="Higher wins among matching rows")
    # Empty: a national row (every regency). A regency's own row wins over national rows valid on the same month.
    regency = models.ForeignKey(
        "regions.Region",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"level": 2},
        help_text="Empty: national rate; set: this regency's own rate",
    )
    legal_basis = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("premium rate")
        verbose_name_plural = _("premium rates")
        db_table = "sponsorship_premiumrate"
        ordering = ["-priority", "-valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="premiumrate_range_ordered",
            ),
            models.CheckConstraint(condition=Q(discount_pct__lte=100), name="premiumrate_discount_le_100"),
        ]

    def __str__(self):
        return f"{self.name} ({self.valid_from}–{self.valid_to or '…'})"


class Holiday(models.Model):
    date = models.DateField(unique=True)
    name = models.CharField(max_length=120)

    class Meta:
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        db_table = "sponsorship_holiday"
        ordering = ["date"]

    def __str__(self):
        return f"{self.date} {self.name}"


class Invoice(models.Model):
    class Kind(models.TextChoices):
        MONTHLY = "monthly", _("Monthly")
        PREPAY = "prepay", _("Prepayment")
        ARREARS = "arrears", _("Arrears")

    class Status(models.TextChoices):
        ISSUED = "issued", _("Issued")
        PAID = "paid", _("Paid")
        VOID = "void", _("Cancelled")
        REFUNDED = "refunded", _("Returned (refund/chargeback)")

    # PAID → ISSUED only when the bank reverses the settlement (payable again); PAID → REFUNDED when the
    # money went back (refund / chargeback). Both remove the coverage that payment bought.
    TRANSITIONS = {
        Status.ISSUED: {Status.PAID, Status.VOID},
        Status.PAID: {Status.ISSUED, Status.REFUNDED},
        Status.VOID: set(),
        Status.REFUNDED: set(),
    }

    class Payer(models.TextChoices):
        SPONSOR = "sponsor", _("ASN sponsor")
        POOL = "pool", _("Bridge fund")
        WORKER = "worker", _("The worker")

    # Who pays: exactly one of sponsor / pool / payer_worker, named by payer_kind (CHECK below). Sponsor
    # invoices are everything the dashboard's agency figures count; pool and self-pay invoices have no sponsor.
    # db_default: the billing run's set-based INSERT (services/billing.py) writes sponsor invoices without naming it.
    payer_kind = models.CharField(max_length=8, choices=Payer.choices, default=Payer.SPONSOR, db_default=Payer.SPONSOR)
    sponsor = models.ForeignKey(Sponsor, null=True, blank=True, on_delete=models.PROTECT, related_name="invoices")
    pool = models.ForeignKey(
        "billing.BridgePool", null=True, blank=True, on_delete=models.PROTECT, related_name="invoices"
    )
    payer_worker = models.ForeignKey(
        Worker, null=True, blank=True, on_delete=models.PROTECT, related_name="self_paid_invoices"
    )
    number = models.CharField(max_length=40, unique=True)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.MONTHLY)
    period = models.DateField(help_text="First covered month (1st of month)")
    months = models.PositiveSmallIntegerField(default=1)
    sequence = models.PositiveSmallIntegerField(
        default=1, help_text="Monthly invoices: 1 = the run's invoice, 2.. = supplementary ones (late additions)"
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ISSUED, db_index=True)
    issued_at = models.DateTimeField()
    due_date = models.DateField(db_index=True)
    subtotal_idr = models.PositiveIntegerField()
    credit_applied_idr = models.PositiveIntegerField(default=0)
    amount_idr = models.PositiveIntegerField(help_text="What the sponsor pays = subtotal - credit")
    paid_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.CharField(max_length=255, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    batch = models.CharField(max_length=36, blank=True, db_index=True, help_text="Billing run that issued it")
    # Hand-over (docs/money-rules.md): an unpaid invoice that lost lines when a sponsorship ended is voided and
    # reissued with the lines that remain; the reissue points back at it. A late payment of the voided one pays
    # its live reissue and the rest is surplus.
    replaces = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replaced_by", editable=False
    )

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        db_table = "sponsorship_invoice"
        ordering = ["-period", "-issued_at"]
        constraints = [
            # Two runs in parallel compute the same next sequence from the same rows: the second waits on the
            # first's insert and skips it (ON CONFLICT DO NOTHING), so a worker-month is never billed twice.
            models.UniqueConstraint(
                fields=["sponsor", "period", "sequence"],
                condition=Q(kind="monthly"),
                name="invoice_monthly_sponsor_period_seq",
            ),
            models.CheckConstraint(
                condition=Q(amount_idr=models.F("subtotal_idr") - models.F("credit_applied_idr")),
                name="invoice_amount_is_subtotal_minus_credit",
            ),
            models.CheckConstraint(condition=Q(months__gte=1, months__lte=12), name="invoice_months_1_12"),
            models.CheckConstraint(
                condition=~Q(status="paid") | Q(paid_at__isnull=False), name="invoice_paid_has_time"
            ),
            models.CheckConstraint(condition=~Q(status="void") | ~Q(void_reason=""), name="invoice_void_has_reason"),
            models.CheckConstraint(
                condition=(
                    Q(payer_kind="sponsor", sponsor__isnull=False, pool__isnull=True, payer_worker__isnull=True)
                    | Q(payer_kind="pool", sponsor__isnull=True, pool__isnull=False, payer_worker__isnull=True)
                    | Q(payer_kind="worker", sponsor__isnull=True, pool__isnull=True, payer_worker__isnull=False)
                ),
                name="invoice_exactly_one_payer",
            ),
        ]
        indexes = [models.Index(fields=["sponsor", "status"])]

    def __str__(self):
        return self.number


class InvoiceLine(models.Model):
    """One worker-month. The rate parts are snapshots taken at issue time."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    worker = models.ForeignKey(Worker, on_delete=models.PROTECT, related_name="invoice_lines")
    month = models.DateField()
    rate = models.ForeignKey(PremiumRate, null=True, on_delete=models.SET_NULL, related_name="+")
    jkk_idr = models.PositiveIntegerField()
    jkm_idr = models.PositiveIntegerField()
    jht_idr = models.PositiveIntegerField(default=0)
    amount_idr = models.PositiveIntegerField()

    class Meta:
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")
        db_table = "sponsorship_invoiceline"
        ordering = ["month", "worker_id"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "worker", "month"], name="invoiceline_unique_worker_month"),
            models.CheckConstraint(
                condition=Q(amount_idr=models.F("jkk_idr") + models.F("jkm_idr") + models.F("jht_idr")),
                name="invoiceline_amount_is_sum",
            ),
        ]
        indexes = [models.Index(fields=["worker", "month"])]

    def __str__(self):
        return f"{self.invoice_id} {self.worker_id} {self.month:%Y-%m} {self.amount_idr}"
